"""VideoMAE extraction: equal to a plain one-window-per-forward loop, window counts, NWB round trip."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from PIL import Image
from pynwb import NWBHDF5IO

from nwb_it.cli import main
from nwb_it.core.errors import NwbItError
from nwb_it.core.params import ActivationPlotParams, ExtractionParams
from nwb_it.examples import write_example_frames
from nwb_it.models.frames import discover_clips
from nwb_it.models.videomae import VideoMAEExtractor
from nwb_it.models.windows import extract
from nwb_it.nwb.activations import read_activations
from nwb_it.nwb.validate import validate_nwb
from nwb_it.steps.extract import match_clips, run_extract
from nwb_it.steps.plot_activations import run_plot_activations

from .helpers import SMALL, copy_to

warnings.filterwarnings("ignore", message=".*torchvision.*")


@pytest.fixture(scope="module")
def tiny(tiny_videomae):
    return tiny_videomae


@pytest.fixture(scope="module")
def frames(tmp_path_factory):
    """Clips 10, 2 and 1 with 5, 3 and 7 frames of noise (numeric order must put 10 last)."""
    folder = tmp_path_factory.mktemp("frames")
    rng = np.random.default_rng(0)
    for clip, n in ((10, 5), (2, 3), (1, 7)):
        for f in range(1, n + 1):
            Image.fromarray(rng.integers(0, 256, (40, 48, 3), dtype=np.uint8)).save(
                folder / f"{clip}_clip{clip:03d}_{f}.png")
    return folder


def _seed_loop(clips, model_dir, pad):
    """The lab's script: every window through the processor and the model on its own."""
    ext = VideoMAEExtractor.load(model_dir)
    net, processor = ext.net, ext.processor
    cfg = net.config
    size, n_tok = cfg.image_size, (cfg.image_size // cfg.patch_size) ** 2
    grey = Image.new("RGB", (size, size), (128, 128, 128))
    out = []
    for clip in clips:
        frames = [Image.open(f).convert("RGB").resize((size, size)) for f in clip.frames]
        padded = [grey] * pad + frames + [grey] * pad
        for w in range(len(padded) - cfg.num_frames + 1):
            x = processor(padded[w:w + cfg.num_frames], return_tensors="pt")["pixel_values"]
            with torch.no_grad():
                hidden = net(pixel_values=x).last_hidden_state[0]
            per_tubelet = hidden.reshape(cfg.num_frames // cfg.tubelet_size, n_tok, -1)
            out.append(per_tubelet[-1].mean(0).numpy())
    return np.stack(out)


def test_equals_plain_loop(tiny, frames):
    clips = discover_clips(frames)
    assert [c.key for c in clips] == ["1_clip001", "2_clip002", "10_clip010"]
    assert [f.name for f in clips[0].frames][:3] == ["1_clip001_1.png", "1_clip001_2.png", "1_clip001_3.png"]
    for pad, batch in ((16, 4), (2, 3)):
        acts = extract(clips, ExtractionParams(model=str(tiny), pad=pad, batch_size=batch))
        ref = _seed_loop(clips, tiny, pad)
        assert acts.layers["last"].shape == ref.shape
        assert np.abs(acts.layers["last"] - ref).max() <= 1e-5


@pytest.mark.parametrize("pad", [1, 2, 16])
def test_window_counts_and_grey_computed_once(tiny, frames, pad):
    clips = discover_clips(frames)
    ext = VideoMAEExtractor.load(tiny)
    seen = []
    hook = ext.net.register_forward_hook(lambda m, args, kwargs_out: seen.append(1))
    acts = extract(clips, ExtractionParams(pad=pad, batch_size=1), extractor=ext)
    hook.remove()
    T = ext.num_frames
    per_clip = [len(c.frames) + 2 * pad - T + 1 for c in clips]
    assert len(acts.window) == sum(per_clip)
    n_grey = sum(sum(1 for w in range(n) if w + T <= pad or w >= pad + len(c.frames))
                 for c, n in zip(clips, per_clip))
    assert acts.n_forward_windows == sum(per_clip) - n_grey + (1 if n_grey else 0)
    assert len(seen) == acts.n_forward_windows, "one forward per computed window at batch size 1"
    np.testing.assert_array_equal(acts.last_frame[:per_clip[0]], np.arange(per_clip[0]) + T - 1 - pad)


def test_layers_and_pooling(tiny, frames):
    clips = discover_clips(frames)
    acts = extract(clips, ExtractionParams(model=str(tiny), layers="all", pool="max", pad=2))
    assert list(acts.layers) == ["layer0", "layer1", "layer2", "last"]
    assert not np.allclose(acts.layers["layer2"], acts.layers["last"]), "last = after the final LayerNorm"
    mean = extract(clips, ExtractionParams(model=str(tiny), pad=2)).layers["last"]
    assert (acts.layers["last"] >= mean - 1e-6).all()


def test_nwb_round_trip_and_rerun(tiny, small_nwb, tmp_path):
    nwb = copy_to(small_nwb, tmp_path)
    names = [f"{k + 1}_clip{k + 1:03d}" for k in range(SMALL["n_clips"])]
    folder = write_example_frames(tmp_path / "frames", names, n_frames=6)
    npy = tmp_path / "hidden_states.npy"
    acts = run_extract(folder, ExtractionParams(model=str(tiny), pad=3), nwb_paths=[nwb], npy_path=npy)
    run_extract(folder, ExtractionParams(model=str(tiny), pad=3, layers="1,2"), nwb_paths=[nwb])
    with NWBHDF5IO(str(nwb), "r") as io:
        f = io.read()
        table = read_activations(f)
        stored_time = f.processing["misc"]["videomae_activations"]["time"].data[:]
        assert list(f.processing["misc"].data_interfaces) == ["source_fields", "videomae_activations"]
        assert len(f.units) == 6 and len(f.trials) > 0
    assert list(table.layers) == ["layer1", "layer2"], "the re-run replaced the table"
    assert table.provenance["pad"] == 3 and len(table.provenance["config_sha256_16"]) == 16
    assert table.provenance["family"] == "videomae" and table.provenance["layers"] == ["layer1", "layer2"]
    n_win = 6 + 2 * 3 - 4 + 1
    np.testing.assert_array_equal(table.window_stimulus_index[::n_win], np.arange(len(names)))
    np.testing.assert_array_equal(table.window[:n_win], np.arange(n_win))
    np.testing.assert_allclose(stored_time[:n_win], (np.arange(n_win) + 4 - 1 - 3) / 30.0)
    np.testing.assert_allclose(table.time, stored_time)
    assert table.clip_keys == names and table.stimulus_names == names
    assert table.layers["layer1"].shape == (n_win * len(names), 32)
    np.testing.assert_array_equal(np.load(npy), acts.layers["last"])
    assert not [x for x in validate_nwb(nwb) if x.blocking]
    paths = run_plot_activations(nwb, ActivationPlotParams(layer="layer1"), out_dir=tmp_path / "figs")
    assert len(paths) == 1 + len(names)


def test_clip_matching():
    names = ["1_clip001", "Dog Run.avi", "cat-2"]
    assert match_clips(["1_clip001"], names) == ["1_clip001"]
    assert match_clips(["dog_run", "Cat_02"], names) == ["Dog Run.avi", "cat-2"]
    assert match_clips(["x"], names, {"x": "cat-2"}) == ["cat-2"]
    with pytest.raises(NwbItError, match="2 clip\\(s\\) match no trials stimulus_name: y, x -> nope"):
        match_clips(["y", "x"], names, {"x": "nope"})


def test_clip_map_and_errors(tiny, small_nwb, tmp_path, capsys):
    nwb = copy_to(small_nwb, tmp_path)
    folder = write_example_frames(tmp_path / "f", ["7_other"], n_frames=4)
    args = ["extract-videomae", str(folder), "--nwb", str(nwb), "--model", str(tiny)]
    assert main(args) == 2
    assert "7_other" in capsys.readouterr().err
    cmap = tmp_path / "map.csv"
    cmap.write_text("clip_key,stimulus_name\n7_other,1_clip001\n")
    assert main(args + ["--clip-map", str(cmap)]) == 0
    capsys.readouterr()
    assert main(["extract-videomae", str(folder), "--nwb", str(nwb), "--model", str(tmp_path / "nope"),
                 "--clip-map", str(cmap)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0] and "--model /path/to/folder" in err[0]
    (folder / "7_other_2.png").write_bytes(b"not a png")
    assert main(args + ["--clip-map", str(cmap)]) == 2
    assert "7_other_2.png" in capsys.readouterr().err


def test_subfolder_layout_and_grey_image(tiny, frames, tmp_path):
    """One sub-folder per clip reads like the flat folder; a uniform grey PNG equals --grey 128."""
    flat = discover_clips(frames)
    for clip in flat:
        sub = tmp_path / "clips" / clip.key
        sub.mkdir(parents=True)
        for f in clip.frames:
            (sub / f.name).write_bytes(f.read_bytes())
    nested = discover_clips(tmp_path / "clips")
    assert [c.key for c in nested] == [c.key for c in flat]
    assert [[f.name for f in c.frames] for c in nested] == [[f.name for f in c.frames] for c in flat]
    grey_png = tmp_path / "grey.png"
    Image.new("RGB", (50, 50), (128, 128, 128)).save(grey_png)
    base = extract(nested, ExtractionParams(model=str(tiny), pad=2))
    same = extract(nested, ExtractionParams(model=str(tiny), pad=2, grey=str(grey_png)))
    darker = extract(nested, ExtractionParams(model=str(tiny), pad=2, grey=40))
    np.testing.assert_array_equal(base.layers["last"], same.layers["last"])
    assert not np.allclose(base.layers["last"], darker.layers["last"])
