"""Activations once for many sessions, the content-addressed cache, streamed frames."""
from __future__ import annotations

import shutil
import warnings

import numpy as np
import pytest
import torch
from PIL import Image

from nwb_it.cli import main
from nwb_it.core.errors import NwbItError
from nwb_it.core.params import ExtractionParams
from nwb_it.examples import write_example_frames
from nwb_it.models.cache import CacheWarning, activations_key, arrays_digest, entry_path, load_cached
from nwb_it.models.frames import discover_clips
from nwb_it.models.stream import ClipStream
from nwb_it.models.videomae import VideoMAEExtractor
from nwb_it.models.windows import extract
from nwb_it.nwb.activations import read_activations
from nwb_it.nwb.io import reading
from nwb_it.steps.extract import run_extract, run_extract_batch

from .helpers import SMALL, copy_to

warnings.filterwarnings("ignore", message=".*torchvision.*")
NAMES = [f"{k + 1}_clip{k + 1:03d}" for k in range(SMALL["n_clips"])]


class CountingExtractor(VideoMAEExtractor):
    """The real tiny VideoMAE, counting its forward passes (the model is called, never replaced)."""

    calls = 0

    def run(self, windows, want_hidden):
        type(self).calls += 1
        return super().run(windows, want_hidden)


@pytest.fixture()
def counting(tiny_videomae):
    CountingExtractor.calls = 0
    return CountingExtractor.load(str(tiny_videomae))


@pytest.fixture(scope="module")
def clip_frames(tmp_path_factory):
    return write_example_frames(tmp_path_factory.mktemp("frames") / "frames", NAMES, n_frames=6)


def _copy(path, folder):
    folder.mkdir(parents=True, exist_ok=True)
    return copy_to(path, folder)


def _table(path):
    with reading(path) as nwb:
        return read_activations(nwb)


def test_two_files_written_from_one_computation(small_nwb, clip_frames, counting, tmp_path, tiny_videomae):
    settings = ExtractionParams(model=str(tiny_videomae), pad=2)
    single = run_extract(clip_frames, settings, nwb_paths=[_copy(small_nwb, tmp_path / "one")], extractor=counting)
    calls_for_one = CountingExtractor.calls
    assert calls_for_one == single.n_model_calls > 0
    a, b = _copy(small_nwb, tmp_path / "a"), _copy(small_nwb, tmp_path / "b")
    CountingExtractor.calls = 0
    acts, outcomes = run_extract_batch(clip_frames, settings, nwb_paths=[a, b], extractor=counting)
    assert CountingExtractor.calls == calls_for_one, "two targets, one computation"
    assert [o.status for o in outcomes] == ["ok", "ok"]
    ta, tb = _table(a), _table(b)
    for name in acts.layers:
        np.testing.assert_array_equal(ta.layers[name], acts.layers[name])
        np.testing.assert_array_equal(tb.layers[name], single.layers[name])
    assert ta.stimulus_names == tb.stimulus_names == NAMES


def test_a_target_that_does_not_match_fails_alone(small_nwb, clip_frames, counting, tmp_path, tiny_videomae,
                                                   capsys):
    good = _copy(small_nwb, tmp_path / "good")
    junk = tmp_path / "junk.nwb"
    junk.write_bytes(b"not hdf5")
    code = main(["extract-activations", str(clip_frames), "--model", str(tiny_videomae), "--pad", "2",
                 "--nwb", str(junk), str(good)])
    out = capsys.readouterr()
    assert code == 2 and "1 of 2 sessions done, 1 failed" in out.out
    assert f"nwb-it: error: {junk}" in out.err and "Traceback" not in out.err
    assert _table(good).clip_keys == NAMES


def test_cache_hit_runs_no_model_and_equals_a_fresh_run(small_nwb, clip_frames, counting, tmp_path,
                                                       tiny_videomae):
    settings = ExtractionParams(model=str(tiny_videomae), pad=2, layers="all")
    cache = tmp_path / "cache"
    fresh = run_extract(clip_frames, settings, extractor=counting, npy_path=tmp_path / "fresh.npy")
    first = run_extract(clip_frames, settings, nwb_paths=[_copy(small_nwb, tmp_path / "a")], extractor=counting,
                        cache_dir=cache)
    assert not first.cached and len(list(cache.rglob("*.npz"))) == 1
    CountingExtractor.calls = 0
    target = _copy(small_nwb, tmp_path / "b")
    hit = run_extract(clip_frames, settings, nwb_paths=[target], cache_dir=cache)       # no extractor: none is loaded
    assert hit.cached and CountingExtractor.calls == 0
    stored = _table(target)
    for name in fresh.layers:
        np.testing.assert_array_equal(hit.layers[name], fresh.layers[name])
        np.testing.assert_array_equal(stored.layers[name], fresh.layers[name])
    assert hit.provenance == fresh.provenance and hit.clip_keys == fresh.clip_keys
    np.testing.assert_array_equal(hit.last_frame, fresh.last_frame)


def test_cache_key_follows_content_not_names_of_folders(clip_frames, tiny_videomae, tmp_path):
    settings = ExtractionParams(model=str(tiny_videomae), pad=2)
    clips = discover_clips(clip_frames)
    key = activations_key(tiny_videomae, clips, settings, "videomae", "cpu")
    moved = shutil.copytree(clip_frames, tmp_path / "elsewhere")
    model_copy = shutil.copytree(tiny_videomae, tmp_path / "model_copy")
    assert activations_key(model_copy, discover_clips(moved), settings, "videomae", "cpu") == key
    one = discover_clips(moved)[0].frames[2]
    Image.fromarray(np.zeros((8, 8, 3), np.uint8)).save(one)             # one frame's pixels change
    assert activations_key(tiny_videomae, discover_clips(moved), settings, "videomae", "cpu") != key
    for changed in (ExtractionParams(model=str(tiny_videomae), pad=3),
                    ExtractionParams(model=str(tiny_videomae), pad=2, pool="max"),
                    ExtractionParams(model=str(tiny_videomae), pad=2, grey=0)):
        assert activations_key(tiny_videomae, clips, changed, "videomae", "cpu") != key
    same = ExtractionParams(model=str(tiny_videomae), pad=2, batch_size=7, workers=1)
    assert activations_key(tiny_videomae, clips, same, "videomae", "cpu") == key
    (model_copy / "model.safetensors").write_bytes((model_copy / "model.safetensors").read_bytes()[:-1] + b"\0")
    assert activations_key(model_copy, clips, settings, "videomae", "cpu") != key, "weights are content"


def test_a_damaged_cache_entry_is_recomputed(clip_frames, tiny_videomae, tmp_path, counting):
    settings = ExtractionParams(model=str(tiny_videomae), pad=2)
    cache = tmp_path / "cache"
    run_extract(clip_frames, settings, npy_path=tmp_path / "a.npy", extractor=counting, cache_dir=cache)
    entry = next(cache.rglob("*.npz"))
    entry.write_bytes(entry.read_bytes()[:100])
    key = entry.stem
    with pytest.warns(CacheWarning, match="cache entry not used: unreadable"):
        assert load_cached(cache, key) is None
    with pytest.warns(CacheWarning, match="cache entry not used: unreadable"):
        again = run_extract(clip_frames, settings, npy_path=tmp_path / "b.npy", extractor=counting, cache_dir=cache)
    assert not again.cached and load_cached(cache, key) is not None and entry == entry_path(cache, key)


def _tamper(entry, how: str, keep_digest: bool) -> None:
    """Change a stored entry as a bug or a hand edit could: its manifest's digest kept, or recomputed to match."""
    import json

    with np.load(entry, allow_pickle=False) as z:
        arrays = {k: z[k] for k in z.files}
    manifest = json.loads(str(arrays["manifest"]))
    layer = next(k for k in arrays if k.startswith("layer:"))
    if how == "rows":                             # half the windows, columns consistent with each other
        n = arrays["window"].shape[0] // 2
        for k in ("clip_of_window", "window", "last_frame", layer):
            arrays[k] = arrays[k][:n]
        manifest["layers"][layer.removeprefix("layer:")][0] = n
    elif how == "width":
        arrays[layer] = np.ascontiguousarray(arrays[layer][:, : arrays[layer].shape[1] // 2])
        manifest["layers"][layer.removeprefix("layer:")][1] = arrays[layer].shape[1]
    elif how == "keys":
        arrays["clip_keys"] = np.array([f"x{k}" for k in arrays["clip_keys"]])
        manifest["clip_keys"] = arrays["clip_keys"].tolist()
    elif how == "value":
        arrays[layer] = arrays[layer].copy()
        arrays[layer][3, 1] += 1.0
    if not keep_digest:
        manifest["digest"] = arrays_digest({k: v for k, v in arrays.items() if k not in ("manifest", "provenance")})
    arrays["manifest"] = np.array(json.dumps(manifest))
    with open(entry, "wb") as fh:
        np.savez(fh, **arrays)


@pytest.mark.parametrize("how", ["rows", "width", "keys", "value"])
def test_a_tampered_cache_entry_is_never_written(small_nwb, clip_frames, tiny_videomae, tmp_path, counting, how):
    settings = ExtractionParams(model=str(tiny_videomae), pad=2)
    cache = tmp_path / "cache"
    fresh = run_extract(clip_frames, settings, npy_path=tmp_path / "a.npy", extractor=counting, cache_dir=cache)
    entry = next(cache.rglob("*.npz"))
    for keep_digest in ((True, False) if how != "value" else (True,)):   # a value change with a matching digest
        _tamper(entry, how, keep_digest)                                 # is new content, not damage
        target = _copy(small_nwb, tmp_path / f"{how}{keep_digest}")
        with pytest.warns(CacheWarning, match="cache entry not used"):
            again = run_extract(clip_frames, settings, nwb_paths=[target], cache_dir=cache)
        assert not again.cached
        stored = _table(target)
        assert stored.clip_keys == NAMES
        np.testing.assert_array_equal(stored.layers["last"], fresh.layers["last"])


def test_an_unusable_cache_folder_fails_before_the_model_and_a_failed_store_still_writes(
        small_nwb, clip_frames, tiny_videomae, tmp_path, counting):
    settings = ExtractionParams(model=str(tiny_videomae), pad=2)
    not_a_folder = tmp_path / "cache.txt"
    not_a_folder.write_text("x")
    for bad in (not_a_folder, not_a_folder / "sub"):
        CountingExtractor.calls = 0
        with pytest.raises(NwbItError, match="activations cache"):
            run_extract(clip_frames, settings, nwb_paths=[_copy(small_nwb, tmp_path / "t")], extractor=counting,
                        cache_dir=bad)
        assert CountingExtractor.calls == 0, "refused before the model ran"
    cache = tmp_path / "cache"
    key = activations_key(tiny_videomae, discover_clips(clip_frames), settings, "videomae", "cpu")
    cache.mkdir()
    (cache / key[:2]).write_text("a file where the entry's folder goes")
    target = _copy(small_nwb, tmp_path / "written")
    with pytest.warns(CacheWarning, match="could not be stored"):
        run_extract(clip_frames, settings, nwb_paths=[target], extractor=counting, cache_dir=cache)
    assert _table(target).clip_keys == NAMES, "the NWB file is written all the same"


def test_a_cache_hit_names_this_runs_model(clip_frames, tiny_videomae, tmp_path, counting):
    cache = tmp_path / "cache"
    run_extract(clip_frames, ExtractionParams(model=str(tiny_videomae), pad=2), npy_path=tmp_path / "a.npy",
                extractor=counting, cache_dir=cache)
    moved = shutil.copytree(tiny_videomae, tmp_path / "same_model_elsewhere")
    hit = run_extract(clip_frames, ExtractionParams(model=str(moved), pad=2), npy_path=tmp_path / "b.npy",
                      cache_dir=cache)
    assert hit.cached and hit.provenance["model"] == str(moved)


def test_stream_decodes_each_frame_once_and_holds_a_few_chunks(clip_frames, counting):
    from nwb_it.models.stream import CHUNK

    clips = discover_clips(clip_frames) * 4                 # 28 clips
    grey = torch.zeros(3, counting.image_size, counting.image_size)
    held = []
    with ClipStream(clips, counting.preprocess, grey, pad=2, size=counting.image_size, workers=3, ahead=2) as s:
        for c in range(len(clips)):
            n_windows = len(clips[c].frames) + 4 - 3 + 1
            for w in range(n_windows):
                window = s.window(c, w, 3)
                assert window.shape[0] == 3
                s.release_before(c, w + 1)
                held.append(s.held())
    assert s.frames_decoded == sum(len(c.frames) for c in clips), "each frame once"
    assert max(held) <= 1 + 1 + 2 and CHUNK >= 3, "the chunk in use, the next one, and those decoded ahead"


def test_a_long_video_clip_is_held_a_window_at_a_time(tmp_path, counting):
    """A 3000-frame video: the frames held never grow with its length; every frame decoded once, in order."""
    av = pytest.importorskip("av")
    from nwb_it.models.stream import CHUNK

    path = tmp_path / "1_long.mov"
    rng = np.random.default_rng(0)
    with av.open(str(path), "w") as out:
        stream = out.add_stream("png", rate=30)
        stream.width = stream.height = 16
        stream.pix_fmt = "rgb24"
        for _ in range(3000):
            for packet in stream.encode(av.VideoFrame.from_ndarray(rng.integers(0, 256, (16, 16, 3), np.uint8),
                                                                   format="rgb24")):
                out.mux(packet)
        for packet in stream.encode():
            out.mux(packet)
    (clip,) = discover_clips(tmp_path)
    assert len(clip.frames) == 3000
    grey = torch.zeros(3, counting.image_size, counting.image_size)
    most = 0
    with ClipStream([clip], counting.preprocess, grey, pad=2, size=counting.image_size, workers=2, ahead=2) as s:
        for w in range(0, 3000 + 4 - 3 + 1, 7):
            s.window(0, w, 3)
            s.release_before(0, w + 1)
            most = max(most, s.held())
    assert s.frames_decoded == 3000
    assert most * CHUNK <= 4 * CHUNK < 3000 / 40, f"{most} chunks held"


def test_streamed_extraction_does_not_depend_on_workers_or_clip_count(clip_frames, counting, tiny_videomae):
    settings = ExtractionParams(model=str(tiny_videomae), pad=2, batch_size=3)
    one = extract(discover_clips(clip_frames), ExtractionParams(**{**settings.__dict__, "workers": 1}), counting)
    many = extract(discover_clips(clip_frames) * 3, ExtractionParams(**{**settings.__dict__, "workers": 4}),
                   counting)
    n = len(one.window)
    for k in range(3):
        np.testing.assert_array_equal(many.layers["last"][k * n:(k + 1) * n], one.layers["last"])


def test_a_damaged_frame_is_one_error_from_a_decode_thread(tmp_path, counting, tiny_videomae):
    folder = write_example_frames(tmp_path / "frames", NAMES[:2], n_frames=6)
    broken = discover_clips(folder)[1].frames[3]
    broken.write_bytes(b"\x89PNG\r\n\x1a\n broken")
    with pytest.raises(NwbItError, match="cannot read frame") as err:
        extract(discover_clips(folder), ExtractionParams(model=str(tiny_videomae), pad=2), counting)
    assert str(broken) in str(err.value)


def test_gpu_batch_size_follows_free_memory():
    from nwb_it.models.stream import auto_batch_size

    base = dict(tokens=1568, hidden=768, n_layers=12, heads=12, bytes_per_value=2)   # videomae-base, bf16
    assert auto_batch_size("cpu", 80 * 2**30, **base) == 4
    sizes = [auto_batch_size("cuda", gib * 2**30, **base) for gib in (0.05, 1, 2, 8, 80)]
    assert sizes == sorted(sizes) and sizes[0] == 1 and sizes[-1] == 64
    assert all(s & (s - 1) == 0 for s in sizes), "powers of two"
    assert auto_batch_size("cuda", 2 * 2**30, **{**base, "bytes_per_value": 4}) == sizes[2] // 2
