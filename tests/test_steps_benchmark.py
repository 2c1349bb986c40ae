"""`score` and `design` end to end on a real session: NWB files, a tiny VideoMAE run on real frame files, CSV tables,
figures; the score is the same from the NWB activations, from the clips + model, and from an exported benchmark."""
from __future__ import annotations

import csv
import warnings
from pathlib import Path

import numpy as np
import pytest

from nwb_it.cli import main
from tests.helpers import META


@pytest.fixture(scope="module")
def scored_session(tmp_path_factory, tiny_videomae) -> dict:
    from nwb_it import run_convert
    from nwb_it.examples.frames import write_example_frames
    from nwb_it.examples.readout import write_example_with_frames

    d = tmp_path_factory.mktemp("score")
    write_example_with_frames(d / "r_fixshortvid1_coco.mat", d / "frames", tiny_videomae, n_units=16, n_clips=24,
                              n_repeats=6, n_readout=8)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nwb = run_convert(d / "r_fixshortvid1_coco.mat", META, out_dir=d / "nwb")
    assert main(["extract-activations", str(d / "frames"), "--model", str(tiny_videomae), "--nwb", str(nwb),
                 "--layers", "all"]) == 0
    write_example_frames(d / "candidates", [f"{i}_cand{i:03d}" for i in range(1, 31)], n_frames=15, size=32, seed=9)
    return {"dir": d, "nwb": nwb, "model": tiny_videomae}


def _rows(path: Path) -> list[dict]:
    with open(path, newline="") as fh:
        return list(csv.DictReader(fh))


def test_score_prints_and_writes_raw_ceiled_bounded_the_same_from_every_source(scored_session, capsys):
    d, nwb, model = scored_session["dir"], scored_session["nwb"], scored_session["model"]
    recipe = ["--min-reliability", "none", "--layers", "last,layer1"]
    assert main(["score", str(nwb), "--activations-from", str(nwb), "-o", str(d / "a"), *recipe]) == 0
    out = capsys.readouterr().out
    assert "raw" in out and "ceiling" in out and "ceiled" in out and "bounded" in out
    assert main(["export-brainscore", str(nwb), "-o", str(d / "bench"), "--min-reliability", "none"]) == 0
    assert main(["score", str(d / "bench"), "--clips", str(d / "frames"), "--model", str(model), "-o",
                 str(d / "b"), "--layers", "last,layer1"]) == 0
    a, b = _rows(d / "a" / "scores.csv"), _rows(d / "b" / "scores.csv")
    assert [r["layer"] for r in a] == ["last", "layer1"] == [r["layer"] for r in b]
    for ra, rb in zip(a, b):
        for key in ("raw", "raw_error", "ceiling", "ceiling_error", "ceiled", "bounded"):
            assert float(ra[key]) == pytest.approx(float(rb[key]), rel=1e-9, abs=1e-12), key
        raw, ceiling = float(ra["raw"]), float(ra["ceiling"])
        assert float(ra["ceiled"]) == pytest.approx(raw ** 2 / ceiling)
        assert float(ra["bounded"]) == pytest.approx(min(max(raw ** 2 / ceiling, 0), 1))
        assert 0 < ceiling <= 1 and float(ra["ceiling_error"]) > 0
        assert ra["benchmark_digest"] == rb["benchmark_digest"] and len(ra["benchmark_digest"]) == 16
        assert ra["model_config"] == rb["model_config"] != ""
    by_time = _rows(d / "a" / "scores_by_time.csv")
    assert len(by_time) == 2 * 10 and by_time[0]["bin_start_ms"] == "70.0"
    mean_over_time = np.mean([float(r["raw"]) for r in by_time if r["layer"] == "last"])
    assert mean_over_time == pytest.approx(float(a[0]["raw"]))
    assert (d / "a" / "score_over_time.png").stat().st_size > 10_000


def test_score_errors_are_one_line(scored_session, tmp_path, capsys):
    d, nwb = scored_session["dir"], scored_session["nwb"]
    assert main(["score", str(nwb), "-o", str(tmp_path / "x"), "--min-reliability", "none"]) == 2
    assert "--activations-from" in capsys.readouterr().err
    assert main(["score", str(nwb), "--clips", str(d / "candidates"), "--model", str(scored_session["model"]),
                 "-o", str(tmp_path / "x"), "--min-reliability", "none", "--layers", "last"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "0 of the benchmark's" in err[0] and "Traceback" not in err[0]
    assert main(["score", str(tmp_path), "--activations-from", str(nwb), "-o", str(tmp_path / "x")]) == 2
    assert "no assembly.nc" in capsys.readouterr().err
    assert not (tmp_path / "x").exists()


def test_score_refuses_to_overwrite(scored_session, capsys):
    d, nwb = scored_session["dir"], scored_session["nwb"]
    args = ["score", str(nwb), "--activations-from", str(nwb), "-o", str(d / "again"), "--min-reliability", "none",
            "--layers", "last"]
    assert main(args) == 0
    before = (d / "again" / "scores.csv").read_bytes()
    assert main(args) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert (d / "again" / "scores.csv").read_bytes() == before
    assert main([*args, "--overwrite"]) == 0


def test_design_ranks_candidates_and_writes_table_and_figure(scored_session, capsys):
    d, nwb, model = scored_session["dir"], scored_session["nwb"], scored_session["model"]
    assert main(["design", str(nwb), "--candidates", str(d / "candidates"), "--model",
                 f"videomae_activations:layer0={model}", "--model", f"videomae_activations:last={model}",
                 "-o", str(d / "design"), "-n", "4"]) == 0
    out = capsys.readouterr().out
    assert "chose 4 of 30 candidates" in out and "repeats per clip" in out
    rows = _rows(d / "design" / "design.csv")
    assert len(rows) == 30
    divergence = [float(r["divergence"]) for r in rows]
    assert divergence == sorted(divergence, reverse=True) and divergence[-1] >= 0
    assert [r["chosen_rank"] for r in rows[:5]] == ["1", "2", "3", "4", ""]
    assert (d / "design" / "design.png").stat().st_size > 10_000


def test_design_refuses_a_model_folder_that_did_not_make_the_table(scored_session, tmp_path, capsys):
    from nwb_it.examples.random_model import save_random_videomae

    other = save_random_videomae(tmp_path / "other", hidden_size=48, intermediate_size=96)
    d, nwb = scored_session["dir"], scored_session["nwb"]
    assert main(["design", str(nwb), "--candidates", str(d / "candidates"), "--model",
                 f"videomae_activations:layer0={other}", "--model", f"videomae_activations:last={other}",
                 "-o", str(tmp_path / "design")]) == 2
    err = capsys.readouterr().err
    assert "is not the model that made the table" in err and "Traceback" not in err
    assert not (tmp_path / "design" / "design.csv").exists()
    assert main(["design", str(nwb), "--candidates", str(d / "candidates"), "--model", "videomae_activations",
                 "--model", "x=y", "-o", str(tmp_path / "design")]) == 2
    assert "TABLE[:LAYER]=MODEL_FOLDER" in capsys.readouterr().err


def test_design_with_three_models_tells_every_pair_apart(scored_session, capsys):
    d, nwb, model = scored_session["dir"], scored_session["nwb"], scored_session["model"]
    models = [f"videomae_activations:{layer}={model}" for layer in ("layer0", "layer1", "last")]
    assert main(["design", str(nwb), "--candidates", str(d / "candidates"), *sum((["--model", m] for m in models), []),
                 "-o", str(d / "design3"), "-n", "3"]) == 0
    assert "layer0 vs videomae_activations:layer1 vs" in capsys.readouterr().out
    rows = _rows(d / "design3" / "design.csv")
    pairs = [k for k in rows[0] if k.startswith("divergence_")]
    assert len(pairs) == 3 and [r["chosen_rank"] for r in rows[:4]] == ["1", "2", "3", ""]
    for r in rows:
        assert float(r["divergence"]) == pytest.approx(min(float(r[p]) for p in pairs))


def test_the_report_index_shows_the_benchmark_scores(scored_session, tmp_path):
    """`report --scores-dir` puts score's table and figure into the dataset index; a folder without scores.csv is a
    one-line error before any page is written."""
    import html

    d, nwb = scored_session["dir"], scored_session["nwb"]
    scores = tmp_path / "scores"
    assert main(["score", str(nwb), "--activations-from", str(nwb), "-o", str(scores), "--min-reliability", "none",
                 "--layers", "last,layer1"]) == 0
    assert main(["report", str(nwb), "-o", str(tmp_path / "rep"), "--scores-dir", str(scores),
                 "--stimuli", str(d / "frames")]) == 0
    page = (tmp_path / "rep" / "index.html").read_text()
    rows = _rows(scores / "scores.csv")
    assert "Brain-Score benchmark" in page and page.count("<tr><td class='text'>videomae_activations</td>") == 2
    assert f"<td>{float(rows[0]['ceiled']):.3f}</td>" in page and html.escape("score_over_time") in page
    assert main(["report", str(nwb), "-o", str(tmp_path / "rep2"), "--scores-dir", str(tmp_path)]) == 2
    assert not (tmp_path / "rep2").exists()


@pytest.mark.parametrize("damage", ["ceiling", "bins", "neuroids"])
def test_a_benchmark_with_impossible_values_is_refused(scored_session, tmp_path, capsys, damage):
    """A ceiling outside (0, 1], overlapping time bins or a neuroid id twice (another tool's assembly, an edited
    file): one error line, exit 2, no score written."""
    import xarray as xr

    nwb = scored_session["nwb"]
    assert main(["export-brainscore", str(nwb), "-o", str(tmp_path / "ok"), "--min-reliability", "none"]) == 0
    assembly = xr.load_dataarray(tmp_path / "ok" / "assembly.nc")
    if damage == "ceiling":
        assembly.attrs["ceiling"] = 1.7
    elif damage == "bins":
        assembly = assembly.assign_coords(time_bin_end=("time_bin", assembly["time_bin_end"].values + 5.0))
    else:
        ids = assembly["neuroid_id"].values.copy()
        ids[1] = ids[0]
        assembly = assembly.assign_coords(neuroid_id=("neuroid", ids))
    (tmp_path / "bad").mkdir()
    assembly.to_netcdf(tmp_path / "bad" / "assembly.nc", engine="h5netcdf")
    capsys.readouterr()
    assert main(["score", str(tmp_path / "bad"), "--activations-from", str(nwb), "-o", str(tmp_path / "s"),
                 "--layers", "last"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "bad/assembly.nc" in err[0] and "Traceback" not in err[0]
    assert not (tmp_path / "s" / "scores.csv").exists()


def test_activations_with_nan_are_one_error_line_for_score_and_design(scored_session, tmp_path, capsys):
    import shutil

    import h5py

    d, model = scored_session["dir"], scored_session["model"]
    nwb = shutil.copy(scored_session["nwb"], tmp_path / "nan.nwb")
    with h5py.File(nwb, "r+") as f:
        f["processing/misc/videomae_activations/activations_last"][3, 0] = np.nan
    capsys.readouterr()
    assert main(["score", str(nwb), "--activations-from", str(nwb), "-o", str(tmp_path / "s"), "--min-reliability",
                 "none", "--layers", "last"]) == 2
    assert main(["design", str(nwb), "--candidates", str(d / "candidates"), "--model",
                 f"videomae_activations:layer0={model}", "--model", f"videomae_activations:last={model}",
                 "-o", str(tmp_path / "d")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 2 and all("NaN or infinite" in line and "layer 'last'" in line for line in err)
