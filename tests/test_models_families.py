"""Every model family: tiny checkpoints extract into one file; "now" tokens; frame-wise clock; per-layer compare."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
import torch
from pynwb import NWBHDF5IO

from nwb_it import run_convert
from nwb_it.cli import main
from nwb_it.examples import write_example_frames
from nwb_it.examples.random_model import save_random_model, save_random_videomae
from nwb_it.examples.readout import write_example_with_frames
from nwb_it.models.registry import FAMILIES, load_extractor
from nwb_it.nwb.activations import activation_tables, read_activations
from nwb_it.nwb.validate import validate_nwb
from nwb_it.steps.compare import run_compare
from nwb_it.steps.reliability import run_reliability

from .helpers import META, SMALL, copy_to

VIDEO = ("videomae", "timesformer", "vivit", "vjepa2")


@pytest.fixture(scope="module")
def checkpoints(tmp_path_factory):
    root = tmp_path_factory.mktemp("families")
    return {family: save_random_model(root / family, family) for family in FAMILIES}


def test_every_family_extracts_into_one_file(checkpoints, small_nwb, tmp_path):
    nwb = copy_to(small_nwb, tmp_path)
    frames = write_example_frames(tmp_path / "frames", [f"{k + 1}_clip{k + 1:03d}" for k in range(SMALL["n_clips"])],
                                  n_frames=5)
    for folder in checkpoints.values():
        assert main(["extract-activations", str(frames), "--model", str(folder), "--nwb", str(nwb),
                     "--layers", "all", "--pad", "2"]) == 0
    with NWBHDF5IO(str(nwb), "r") as io:
        f = io.read()
        names = activation_tables(f)
        acts = {name: read_activations(f, name) for name in names}
    assert sorted(names) == sorted(f"{family}_activations" for family in FAMILIES)
    for name, a in acts.items():
        prov = a.provenance
        assert prov["family"] == name.removesuffix("_activations") and len(prov["config_sha256_16"]) == 16
        assert prov["tokens"] and prov["pool"] == "mean" and prov["layers"][-1] == "last"
        assert prov["model"] == str(checkpoints[prov["family"]])
        assert list(a.layers) == [f"layer{i}" for i in range(prov["n_layers"] + 1)] + ["last"]
    assert not [x for x in validate_nwb(nwb) if x.blocking]


@pytest.mark.parametrize("family", VIDEO)
def test_now_tokens_are_the_last_frames(checkpoints, family):
    """Perturbing only the last frame changes exactly the embedding tokens the extractor pools as "now"."""
    ext = load_extractor(checkpoints[family], "cpu")
    torch.manual_seed(0)
    x = torch.randn(1, ext.num_frames, 3, ext.image_size, ext.image_size)
    y = x.clone()
    y[:, -1] += 1.0
    with torch.inference_mode():
        a, b = (ext.run(v, True).hidden_states[0] for v in (x, y))
    changed = set(((a - b).abs().sum(-1)[0] > 1e-6).nonzero().ravel().tolist())
    n_tokens = a.shape[1]
    marker = torch.eye(n_tokens)[None]                      # token i -> unit vector i
    chosen = set((ext.now(marker, "mean")[0] > 0).nonzero().ravel().tolist())
    assert chosen == changed, (family, sorted(chosen), sorted(changed))


def test_frame_wise_windows_are_frames_on_the_same_clock(checkpoints, tmp_path):
    from nwb_it.core.params import ExtractionParams
    from nwb_it.models.frames import discover_clips
    from nwb_it.models.windows import extract

    frames = write_example_frames(tmp_path / "f", ["1_clip001", "2_clip002"], n_frames=6)
    clips = discover_clips(frames)
    image = extract(clips, ExtractionParams(model=str(checkpoints["dinov2"]), pad=3))
    video = extract(clips, ExtractionParams(model=str(checkpoints["videomae"]), pad=3))
    first = image.clip_of_window == 0
    np.testing.assert_array_equal(image.last_frame[first], np.arange(-3, 6 + 3))   # one window per frame
    assert set(image.last_frame) >= set(video.last_frame), "the same clock: window time = last frame / fps"
    np.testing.assert_allclose(image.time, image.last_frame / 30.0)
    assert image.n_forward_windows == 2 * 6 + 1, "grey frames computed once"


@pytest.mark.slow
def test_per_layer_compare_ranks_the_deepest_layers_first(tmp_path):
    d = tmp_path
    # a strongly nonlinear tiny model (large initial weights), so its layers really differ
    model = save_random_videomae(d / "model", num_hidden_layers=4, initializer_range=1.0)
    write_example_with_frames(d / "t_fixshortvid1_coco.mat", d / "frames", model, n_units=16, n_clips=30,
                              n_repeats=6, seed=2, n_readout=6)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nwb = run_convert(d / "t_fixshortvid1_coco.mat", META, out_dir=d)
    run_reliability(nwb)
    assert main(["extract-activations", str(d / "frames"), "--model", str(model), "--nwb", str(nwb),
                 "--layers", "all", "--name", "tiny_videomae"]) == 0
    from nwb_it.core.params import CompareParams

    # 4 PCs, as the read-out used: then only a layer whose leading components are the last layer's can explain it
    results = run_compare(nwb, CompareParams(layer="all", units="all", n_pcs=4), out_dir=d / "figs",
                          activations="tiny_videomae")
    readout = np.arange(16) < 6
    medians = {k: np.nanmedian(enc.normalized[readout]) for k, (enc, _) in results.items()}
    ranked = sorted(medians, key=medians.get, reverse=True)
    assert set(ranked[:2]) == {"last", "layer4"}, medians
    assert ranked[-1] == "layer0" and medians["last"] > medians["layer0"] + 0.3, medians
    assert sorted(p.name for p in (d / "figs").iterdir()) == [
        ".nwb_it-compare-figures.json", "best_layer_by_time.png", "encoding_time_by_layer.png", "layers_by_depth.png",
        "models_by_layer.png"], "the figures and their manifest"
    with NWBHDF5IO(str(nwb), "r") as io:
        table = io.read().processing["ecephys"]["encoding_tiny_videomae"]
        assert set(table["layer"][:]) == set(medians) and len(table) == 16 * len(medians)
