"""Model vs brain: ground-truth read-out units, clip-split folds, alignment, and the demo end to end."""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pytest
from pynwb import NWBHDF5IO

from nwb_it import run_convert
from nwb_it.cli import main
from nwb_it.core.params import CompareParams, ExtractionParams
from nwb_it.core.provenance import read_provenance
from nwb_it.core.results import normalized_score
from nwb_it.examples.random_model import save_random_videomae
from nwb_it.examples.readout import write_example_with_frames
from nwb_it.nwb.activations import read_activations
from nwb_it.nwb.validate import validate_nwb
from nwb_it.process.encoding import clip_folds, encoding_model
from nwb_it.steps import read_aligned
from nwb_it.steps.compare import run_compare
from nwb_it.steps.extract import run_extract
from nwb_it.steps.reliability import run_reliability

from .helpers import META, copy_to

warnings.filterwarnings("ignore", message=".*torchvision.*")


@pytest.fixture(scope="module")
def truth_nwb(tmp_path_factory):
    d = tmp_path_factory.mktemp("truth")
    model = save_random_videomae(d / "model")
    truth = write_example_with_frames(d / "t_fixshortvid1_coco.mat", d / "frames", model, n_units=20, n_clips=36,
                                      n_repeats=6, seed=2, n_readout=5)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nwb = run_convert(d / "t_fixshortvid1_coco.mat", META, out_dir=d)
    run_reliability(nwb)
    run_extract(d / "frames", ExtractionParams(model=str(model)), nwb_paths=[nwb])
    return nwb, truth


def test_readout_units_score_high_unrelated_low(truth_nwb, tmp_path):
    nwb, truth = truth_nwb
    enc, res = run_compare(nwb, CompareParams(units="all"), out_dir=tmp_path / "figs")["last"]
    score = enc.normalized
    readout = truth.readout
    unrelated = truth.responsive & ~truth.readout
    # a ridge fitted on 36 clips recovers most, not all, of a read-out (the audit's fitted ridge: 0.72 on its truth)
    assert np.nanmin(score[readout]) >= 0.6 and np.nanmedian(score[readout]) >= 0.75, score[readout]
    assert np.nanmedian(score[unrelated]) < 0.5 and np.nanmedian(score[unrelated]) < np.nanmedian(score[readout]) - 0.4
    assert len(list((tmp_path / "figs").glob("*.png"))) == 5
    with NWBHDF5IO(str(nwb), "r") as io:
        f = io.read()
        assert set(f.processing["ecephys"].data_interfaces) == {"reliability", "encoding", "encoding_time", "rsa",
                                                                 "compare_layers", "compare_time", "comparisons"}
        assert len(f.processing["ecephys"]["encoding"]) == 20
        assert f.processing["ecephys"]["rsa"]["neural_rdm"].data.shape[1:] == (res.neural_rdm.shape)
    assert not [x for x in validate_nwb(nwb) if x.blocking]


def test_alignment_matters(truth_nwb):
    nwb, truth = truth_nwb
    one_lag = CompareParams(lags=(0.05,), units="all")
    aligned, _ = run_compare(nwb, one_lag)["last"]
    for shift in (1 / 30, -1 / 30):
        shifted, _ = run_compare(nwb, CompareParams(lags=(0.05,), time_offset=shift, units="all"))["last"]
        assert shifted.normalized[truth.readout].mean() < aligned.normalized[truth.readout].mean() - 0.05


def test_folds_never_split_a_clip(truth_nwb):
    nwb, _ = truth_nwb
    enc, _ = run_compare(nwb, CompareParams(folds=5, units="all"))["last"]
    assert enc.fold_of_clip.shape == (len(enc.clip_names),)
    assert set(enc.fold_of_clip) == set(range(5))
    folds = clip_folds(36, 10, 0)
    assert np.bincount(folds).min() >= 3
    # no leakage: a clip's prediction comes from a model that never saw that clip. Changing one clip's
    # responses leaves its own prediction exactly as it was, and moves the predictions of other folds.
    params = CompareParams(folds=5, units="all")
    with NWBHDF5IO(str(nwb), "r") as io:
        f = io.read()
        aligned, acts = read_aligned(f, params.window, params.bin_size), read_activations(f)
    before = encoding_model(aligned, acts, params)
    clip = 3
    changed = aligned.presentation_counts.copy()
    changed[:, aligned.clip_of == clip] = changed[:, aligned.clip_of == clip] * 3 + 2
    after = encoding_model(dataclasses.replace(aligned, presentation_counts=changed), acts, params)
    own = before.fold_of_clip == before.fold_of_clip[clip]
    np.testing.assert_allclose(after.predicted[:, own], before.predicted[:, own], rtol=1e-9, atol=1e-9)
    assert not np.allclose(after.predicted[:, ~own], before.predicted[:, ~own]), "the others were trained on it"


def test_compare_needs_the_earlier_steps(small_nwb, tmp_path, capsys):
    path = copy_to(small_nwb, tmp_path)
    assert main(["compare", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "run the reliability step first (nwb-it reliability)" in err and str(path) in err


@pytest.mark.slow
def test_demo_end_to_end(tmp_path, capsys):
    assert main(["demo", str(tmp_path / "demo"), "--units", "10", "--clips", "12", "--repeats", "4"]) == 0
    out = capsys.readouterr().out
    assert "nothing blocking" in out and "RSA rho" in out
    nwb = next((tmp_path / "demo" / "nwb").rglob("*.nwb"))
    assert not [x for x in validate_nwb(nwb) if x.blocking]
    assert (tmp_path / "demo" / "hidden_states.npy").is_file()


def test_baselines_signed_scores_and_interval(truth_nwb):
    nwb, truth = truth_nwb
    enc, _ = run_compare(nwb, CompareParams(units="all"))["last"]
    read = truth.readout
    assert 0.75 <= np.nanmedian(enc.normalized[read]) <= 1.15, "a model the units read out scores near its ceiling"
    assert np.all(enc.normalized_clip_shuffled[read] < enc.normalized[read] - 0.3), "another clip's features fail"
    assert np.nanmedian(enc.normalized_onset_only[read]) < 0.3
    s = enc.summary()
    assert s["ci_low"] <= s["median"] <= s["ci_high"] and s["ci_high"] - s["ci_low"] > 0
    negative = enc.r < 0
    assert negative.any(), "the session's noise units give some r < 0 (else the next check would be empty)"
    assert not np.any(enc.normalized[negative] > 0), "r < 0 gives a negative score (NaN without a ceiling)"
    signed = negative & (enc.ceiling > 0)
    assert np.all(enc.normalized[signed] < 0) and normalized_score(np.array([-0.5]), np.array([0.5]))[0] == -0.5
    with NWBHDF5IO(str(nwb), "r") as io:
        module = io.read().processing["ecephys"]
        table = module["encoding"]
        layers = module["compare_layers"]
        last = list(layers["layer"][:]).index("last")
        assert layers["median"][last] == pytest.approx(s["median"])
        assert int(layers["units_scored"][last]) == s["units_scored"]
        index = module["comparisons"]
        assert list(index["activations"][:]) == ["videomae_activations"]
        assert index["layers_table"][0] == "compare_layers" and index["encoding_table"][0] == "encoding"
        assert "summary" not in read_provenance(table.description), "numbers live in tables, not in descriptions"
        assert list(table["unit_name"][:5]) == enc.unit_names[:5]


def test_perfect_model_reaches_the_rsa_ceiling():
    """Poisson responses around known rates; a 'model' whose activations are those rates."""
    from nwb_it.core.recording import AlignedCounts
    from nwb_it.core.results import Activations
    from nwb_it.process.rsa import rsa

    rng = np.random.default_rng(0)
    n_units, n_clips, n_rep, n_bins = 40, 30, 6, 8
    rates = rng.gamma(2.0, 2.0, (n_units, n_clips))
    mask = np.ones((n_clips, n_rep), dtype=bool)
    counts = rng.poisson(np.broadcast_to(rates[:, :, None, None], (n_units, n_clips, n_rep, n_bins)))
    aligned = AlignedCounts.from_dense(counts, mask, np.linspace(0, 0.4, n_bins + 1), np.arange(n_units),
                                       [str(u) for u in range(n_units)], [str(c) for c in range(n_clips)],
                                       np.arange(n_clips))
    n_win = 12
    acts = Activations(clip_keys=[str(c) for c in range(n_clips)], clip_of_window=np.repeat(np.arange(n_clips), n_win),
                       window=np.tile(np.arange(n_win), n_clips), last_frame=np.tile(np.arange(n_win), n_clips),
                       layers={"last": np.repeat(rates.T, n_win, axis=0).astype(np.float32)},
                       provenance={"fps": 30.0}, stimulus_names=[str(c) for c in range(n_clips)],
                       stimulus_index=np.arange(n_clips))
    res = rsa(aligned, acts, CompareParams())
    assert 0.9 <= res.normalized <= 1.1, (res.rho, res.ceiling)
    assert res.ceiling_lower < res.rho <= res.ceiling_upper + 0.05


def test_banded_partition_over_layers_end_to_end(truth_nwb, tmp_path, capsys):
    """`compare --layers a,b --banded`: a variance_partition table (one row per unit and band, parts summing to the
    joint R², shares summing to 1), its figure and a line of medians; one layer is a clear error."""
    source, _ = truth_nwb
    root = next(p for p in source.parents if (p / "frames").is_dir())              # the fixture's folder
    nwb = copy_to(source, tmp_path)
    run_extract(root / "frames", ExtractionParams(model=str(root / "model"), layers="all"), nwb_paths=[nwb],
                activations="all_layers")
    args = ["compare", str(nwb), "--units", "all", "--activations", "all_layers", "--folds", "4", "--banded",
            "--banded-iter", "8"]
    assert main([*args, "--layers", "last"]) == 2
    assert "two or more" in capsys.readouterr().err
    assert main([*args, "--layers", "0,last", "-o", str(tmp_path / "figs")]) == 0
    assert "variance partition" in capsys.readouterr().out
    assert len(list((tmp_path / "figs").glob("*/compare/*/variance_partition.png"))) == 1
    with NWBHDF5IO(str(nwb), "r") as io:
        table = io.read().processing["ecephys"]["variance_partition_all_layers"].to_dataframe()
        prov = read_provenance(io.read().processing["ecephys"]["variance_partition_all_layers"].description)
    assert len(table) == 2 * table["unit_name"].nunique() and set(table["band"]) == {"layer0", "last"}
    assert prov["bands"] == ["layer0", "last"] and prov["parameters"]["banded_iter"] == 8
    _, truth = truth_nwb
    readout = {n for n, r in zip(table["unit_name"].unique(), truth.readout) if r}
    last = table[(table.band == "last") & table.included & table.unit_name.isin(readout)]
    assert len(last) >= 3 and last["share"].median() > 0.5, "units reading out the last layer: its band explains"


def test_write_and_draw_take_the_partition_and_depth_explicitly(truth_nwb, tmp_path):
    """A plain dict of the results (no .partition) loses nothing when the partition is passed; the depth axis
    places layers by the model's depth given to result_curves."""
    from nwb_it.steps.compare import compute_compare, draw_compare, read_compare_data, result_curves, write_compare
    from nwb_it.viz.layers import relative_depth

    source, _ = truth_nwb
    root = next(p for p in source.parents if (p / "frames").is_dir())
    nwb = copy_to(source, tmp_path)
    run_extract(root / "frames", ExtractionParams(model=str(root / "model"), layers="0,1"), nwb_paths=[nwb],
                activations="some_layers")
    params = CompareParams(units="all", folds=3, layer="all", banded=True, banded_iter=4)
    data = read_compare_data(nwb, params, activations="some_layers")
    results = compute_compare(data, params)
    plain = dict(results)
    write_compare(nwb, plain, activations="some_layers", partition=results.partition)
    with NWBHDF5IO(str(nwb), "r") as io:
        assert "variance_partition_some_layers" in io.read().processing["ecephys"].data_interfaces
    n_layers = data.activations.provenance["n_layers"]
    curves = result_curves(plain, "some_layers", "videomae", n_layers)
    paths = draw_compare(plain, tmp_path / "figs", curves=curves, partition=results.partition)
    assert "variance_partition.png" in {p.name for p in paths}
    assert relative_depth("layer1", curves[0]["n_layers"]) == pytest.approx(1 / n_layers) and n_layers > 1


def test_layers_all_with_one_stored_layer_says_so(truth_nwb, tmp_path):
    nwb = copy_to(truth_nwb[0], tmp_path)
    with pytest.warns(UserWarning, match=r"holds one layer \(last\).*--layers all"):
        results = run_compare(nwb, CompareParams(units="all", layer="all", folds=3))
    assert list(results) == ["last"]


def test_non_finite_activations_are_one_line_naming_table_layer_and_window(truth_nwb, tmp_path, capsys):
    import h5py

    nwb = copy_to(truth_nwb[0], tmp_path)
    with h5py.File(nwb, "r+") as h5:
        column = h5["processing/misc/videomae_activations/activations_last"]
        values = column[:]
        values[7, 3] = np.nan
        column[...] = values
    assert main(["compare", str(nwb), "--units", "all", "--folds", "3"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "'videomae_activations' layer 'last'" in err[0] and "(row 7)" in err[0], err
