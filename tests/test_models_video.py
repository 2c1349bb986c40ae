"""Clips as video files: decoded with PyAV, frame-exact with the same frames as PNG files, the container's clock."""
from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from nwb_it.core.errors import NwbItError
from nwb_it.core.params import ExtractionParams
from nwb_it.models.frames import discover_clips
from nwb_it.models.windows import extract

av = pytest.importorskip("av")


def _frames(n_clips: int = 2, n_frames: int = 6, size: int = 32, seed: int = 0) -> np.ndarray:
    rng = np.random.default_rng(seed)
    return rng.integers(0, 256, (n_clips, n_frames, size, size, 3), dtype=np.uint8)


def write_video(path: Path, frames: np.ndarray, fps: int = 24) -> None:
    """A lossless video (PNG frames in a QuickTime container): decoding gives back exactly ``frames``."""
    with av.open(str(path), "w") as out:
        stream = out.add_stream("png", rate=fps)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "rgb24"
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def write_pngs(folder: Path, key: str, frames: np.ndarray) -> None:
    from PIL import Image

    for i, f in enumerate(frames):
        Image.fromarray(f).save(folder / f"{key}_{i + 1}.png")


def test_video_folder_and_its_png_frames_give_identical_activations(tmp_path, tiny_videomae):
    frames = _frames()
    videos, pngs = tmp_path / "videos", tmp_path / "pngs"
    videos.mkdir()
    pngs.mkdir()
    for c, key in enumerate(["1_dog", "2_cat"]):
        write_video(videos / f"{key}.mov", frames[c], fps=24)
        write_pngs(pngs, key, frames[c])
    from_video, from_png = discover_clips(videos), discover_clips(pngs)
    assert [c.key for c in from_video] == [c.key for c in from_png] == ["1_dog", "2_cat"]
    assert [len(c.frames) for c in from_video] == [6, 6] and from_video[0].fps == 24.0
    params = ExtractionParams(model=str(tiny_videomae), pad=2, fps=30.0)
    a, b = extract(from_video, params), extract(from_png, params)
    np.testing.assert_array_equal(a.layers["last"], b.layers["last"])
    assert a.fps == 24.0 and b.fps == 30.0, "a video's own rate is the clock; frame files use the setting"
    assert a.provenance["fps_from"] == "video container"


def test_videos_with_different_rates_are_refused(tmp_path, tiny_videomae):
    frames = _frames()
    write_video(tmp_path / "1_a.mov", frames[0], fps=24)
    write_video(tmp_path / "2_b.mov", frames[1], fps=30)
    with pytest.raises(NwbItError, match="different frame rates"):
        extract(discover_clips(tmp_path), ExtractionParams(model=str(tiny_videomae), pad=1))


def test_a_damaged_video_is_one_line(tmp_path):
    (tmp_path / "1_a.mp4").write_bytes(b"\x00" * 1000)
    with pytest.raises(NwbItError, match="1_a.mp4"):
        discover_clips(tmp_path)


def test_convert_stores_the_clips_as_templates_and_extraction_finds_them(tmp_path, small_mat, tiny_videomae):
    """convert --stimuli: an ImageSeries per clip with relative external files, a template per trial, nwbinspector
    clean; extract-activations without a frames folder then reads the clips from the file."""
    from pynwb import NWBHDF5IO

    from nwb_it.examples import write_example_frames
    from nwb_it.nwb.stimuli import TEMPLATE_COLUMN, read_stimulus_templates
    from nwb_it.nwb.validate import validate_nwb
    from nwb_it.steps import run_convert, run_extract

    from .helpers import META

    with NWBHDF5IO(str(_converted(small_mat, tmp_path / "plain")), "r") as io:
        names = sorted(set(io.read().trials["stimulus_name"][:]))
    frames = write_example_frames(tmp_path / "stimuli", names, n_frames=5, size=16)
    nwb = run_convert(small_mat, META, out_dir=tmp_path / "out", stimuli=frames, stimuli_fps=25.0)
    with NWBHDF5IO(str(nwb), "r") as io:
        f = io.read()
        templates = read_stimulus_templates(f)
        assert sorted(templates) == sorted(c.key for c in discover_clips(frames))
        first = templates[sorted(templates)[0]]
        assert not Path(first.files[0]).is_absolute() and first.starting_frame == list(range(5)) and first.rate == 25
        linked = set(f.trials[TEMPLATE_COLUMN][:])
        assert linked == set(templates), "every trial names its clip's template"
    assert not [x for x in validate_nwb(nwb) if x.blocking]
    direct = extract(discover_clips(frames), ExtractionParams(model=str(tiny_videomae), pad=1, fps=25.0))
    with pytest.raises(NwbItError, match="leads out of the file's folder; pass `stimuli_root=DIR`"):
        run_extract(None, ExtractionParams(model=str(tiny_videomae), pad=1), nwb_paths=[nwb])
    from_file = run_extract(None, ExtractionParams(model=str(tiny_videomae), pad=1, stimuli_root=str(tmp_path)),
                            nwb_paths=[nwb])
    assert from_file.fps == 25.0, "the file's template rate is the clock"
    np.testing.assert_array_equal(direct.layers["last"], from_file.layers["last"])


def test_templates_of_someone_elses_file_are_read_only_inside_its_folder(tmp_path, small_mat, tiny_videomae):
    """Absolute and ``..`` entries are refused (before any image is read) unless a root allows them, and a link
    to a folder elsewhere is stored as given (relative, not its target)."""
    import os

    import h5py

    from nwb_it.examples import write_example_frames
    from nwb_it.nwb.io import reading
    from nwb_it.nwb.stimuli import read_stimulus_templates
    from nwb_it.steps import run_convert, run_extract

    from .helpers import META

    with reading(_converted(small_mat, tmp_path / "plain")) as f:
        names = sorted(set(f.trials["stimulus_name"][:]))
    private = write_example_frames(tmp_path / "private" / "deep" / "frames", names, n_frames=4, size=16)
    (tmp_path / "out").mkdir()
    os.symlink(private, tmp_path / "out" / "stimuli")            # the dataset's stimuli/: a link to a private place
    nwb = run_convert(small_mat, META, out_dir=tmp_path / "out", stimuli=tmp_path / "out" / "stimuli")
    with reading(nwb) as f:
        files = [x for t in read_stimulus_templates(f).values() for x in t.files]
    assert all(x.startswith("../stimuli/") for x in files), "stored as given, not the link's target"
    params = ExtractionParams(model=str(tiny_videomae), pad=1, stimuli_root=str(tmp_path / "out"))
    with pytest.raises(NwbItError, match="leads out of the file's folder"):       # the link leaves the root
        run_extract(None, params, nwb_paths=[nwb])
    ok = ExtractionParams(model=str(tiny_videomae), pad=1, stimuli_root=str(tmp_path))
    assert run_extract(None, ok, nwb_paths=[nwb]).layers["last"].shape[0] > 0
    secret = tmp_path / "secret.png"
    secret.write_bytes((private / os.listdir(private)[0]).read_bytes())
    for entry in (str(secret), "../../secret.png", "/etc/passwd"):
        with h5py.File(nwb, "r+") as h5:
            name = sorted(h5["stimulus/templates"])[0]
            external = h5[f"stimulus/templates/{name}/external_file"]
            external[0] = entry
        with pytest.raises(NwbItError, match="absolute location|leads out of the file's folder"):
            run_extract(None, ExtractionParams(model=str(tiny_videomae), pad=1), nwb_paths=[nwb])


def _converted(mat: Path, out: Path) -> Path:
    from nwb_it.steps import run_convert

    from .helpers import META

    return run_convert(mat, META, out_dir=out)


def write_timed_video(path: Path, frames: np.ndarray, pts_ms: list[int], rate: int = 30) -> None:
    """A lossless video whose frames carry the given presentation times (ms): a variable frame rate."""
    from fractions import Fraction

    with av.open(str(path), "w") as out:
        stream = out.add_stream("png", rate=rate)
        stream.width, stream.height, stream.pix_fmt = frames.shape[2], frames.shape[1], "rgb24"
        stream.time_base = Fraction(1, 1000)
        for f, t in zip(frames, pts_ms):
            frame = av.VideoFrame.from_ndarray(f, format="rgb24")
            frame.pts, frame.time_base = t, Fraction(1, 1000)
            for packet in stream.encode(frame):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)


def test_a_variable_frame_rate_video_is_refused_or_resampled_on_its_timestamps(tmp_path):
    from nwb_it.models.video import probe

    frames = _frames(1, 6)[0]
    pts = [0, 100, 200, 300, 1000, 1100]          # 10 fps with a 0.7 s hold before the fifth frame
    write_timed_video(tmp_path / "1_vfr.mov", frames, pts, rate=10)
    with pytest.raises(NwbItError, match="variable frame rate") as err:
        discover_clips(tmp_path)
    assert "1_vfr.mov" in str(err.value) and "\n" not in str(err.value)
    clock = probe(tmp_path / "1_vfr.mov", "resample")
    fps = clock.fps
    assert np.allclose(clock.times, np.array(pts) / 1000, atol=1e-3), "each frame's own presentation time"
    ticks = np.arange(len(clock.frames)) / fps
    shown = np.array(clock.times)[clock.frames]
    assert np.all(shown <= ticks + 1e-6) and np.all(np.diff(clock.frames) >= 0), "the frame on screen at each tick"
    # the frame shown at 1.0 s (the fifth) sits at 1.0 s on the clock, not at 4 / fps
    assert abs(ticks[clock.frames.index(4)] - 1.0) <= 1 / fps
    (clip,) = discover_clips(tmp_path, vfr="resample")
    assert len(clip.frames) == len(clock.frames) > len(pts)


def test_a_constant_rate_video_keeps_every_frame_on_its_clock(tmp_path):
    from nwb_it.models.video import probe

    write_timed_video(tmp_path / "1_cfr.mov", _frames(1, 5)[0], [0, 40, 80, 120, 160], rate=25)
    clock = probe(tmp_path / "1_cfr.mov")
    assert clock.frames == [0, 1, 2, 3, 4] and clock.fps == 25.0


def test_a_video_cut_short_is_refused(tmp_path):
    path = tmp_path / "1_cut.mp4"
    frames = _frames(1, 12, size=64)[0]
    with av.open(str(path), "w", options={"movflags": "faststart"}) as out:     # the index (moov) first
        stream = out.add_stream("png", rate=12)
        stream.width, stream.height, stream.pix_fmt = 64, 64, "rgb24"
        for f in frames:
            for packet in stream.encode(av.VideoFrame.from_ndarray(f, format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    data = path.read_bytes()
    path.write_bytes(data[:len(data) // 3])
    with pytest.raises(NwbItError, match=r"declares 12 frames but \d+ decode"):
        discover_clips(tmp_path)


def test_a_frame_over_the_image_pixel_limit_is_refused_before_decoding(tmp_path, monkeypatch):
    """The same limit as images (PIL's MAX_IMAGE_PIXELS): lowered here so a small file stands for a bomb."""
    from PIL import Image

    from nwb_it.models.frames import load_frame

    write_video(tmp_path / "1_big.mov", _frames(1, 2, size=64)[0])
    Image.fromarray(_frames(1, 1, size=64)[0, 0]).save(tmp_path.parent / "big.png")
    monkeypatch.setattr(Image, "MAX_IMAGE_PIXELS", 64 * 64 - 1)
    with pytest.raises(NwbItError, match="over the limit"):
        discover_clips(tmp_path)
    with pytest.raises(NwbItError, match="refused"):
        load_frame(tmp_path.parent / "big.png", 16)


def test_convert_stores_a_never_shown_clip_of_the_example_and_says_so(tmp_path, small_mat):
    """The package's own example: every clip of the set has frames, one clip was never shown. convert --stimuli
    keeps it (marked in its template, named in a warning) instead of failing."""
    import warnings

    from nwb_it.examples import example_clip_names, write_example_frames
    from nwb_it.nwb.io import reading
    from nwb_it.steps import run_convert

    from .helpers import META, SMALL

    frames = write_example_frames(tmp_path / "frames", example_clip_names(SMALL["n_clips"]), n_frames=3, size=8)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        nwb = run_convert(small_mat, META, out_dir=tmp_path / "out", stimuli=frames)
    said = [str(w.message) for w in caught if "never shown" in str(w.message)]
    with reading(nwb) as f:
        shown = set(f.trials["stimulus_name"][:])
        templates = f.stimulus_template
        never = [name for name in templates if "Never shown" in templates[name].description]
        assert len(templates) == SMALL["n_clips"] and never and not set(never) & shown
    assert len(said) == 1 and all(name in said[0] for name in never)
