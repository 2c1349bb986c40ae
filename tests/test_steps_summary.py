"""nwb-it summary: one CSV row per session (and per compared model layer), figures, the overwrite rule."""
from __future__ import annotations

import csv
import shutil

from nwb_it.cli import main


def test_summary_across_sessions(small_nwb, tmp_path, capsys):
    folder = tmp_path / "dandiset"
    for name in ("a", "b"):
        (folder / name).mkdir(parents=True)
        shutil.copy(small_nwb, folder / name / small_nwb.name)
    assert main(["reliability", str(folder / "a" / small_nwb.name), "--n-perm", "10"]) == 0
    (folder / "b" / f".{small_nwb.stem}.nwb_it-1-x.tmp.nwb").write_bytes(b"partial")    # skipped
    out = tmp_path / "summary"
    assert main(["summary", str(folder), "-o", str(out)]) == 0
    with open(out / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["file"].split("/")[-2] for r in rows] == ["a", "b"]
    assert rows[0]["units"] == "6" and rows[0]["responsive"] != "" and rows[1]["responsive"] == ""
    assert (out / "responsive_units.png").stat().st_size > 0 and (out / "scores_by_layer.png").is_file()
    capsys.readouterr()
    assert main(["summary", str(folder), "-o", str(out)]) == 2 and "--overwrite" in capsys.readouterr().err


def test_a_corrupt_file_is_named_and_the_good_sessions_are_written(small_nwb, tmp_path, capsys):
    folder = tmp_path / "dandiset"
    folder.mkdir()
    shutil.copy(small_nwb, folder / "good.nwb")
    (folder / "broken.nwb").write_bytes(b"\x89HDF\r\n\x1a\n" + b"\0" * 500)
    out = tmp_path / "summary"
    assert main(["summary", str(folder), "-o", str(out)]) == 2
    printed = capsys.readouterr()
    err = printed.err.strip().splitlines()
    assert len(err) == 1 and "broken.nwb" in err[0] and "1 of 2 files" in err[0]
    with open(out / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["file"].rsplit("/", 1)[-1] for r in rows] == ["good.nwb"] and "summary.csv" in printed.out


def test_a_source_and_its_derivative_are_one_session(small_nwb, tmp_path):
    folder = tmp_path / "dandiset"
    folder.mkdir()
    source = shutil.copy(small_nwb, folder / "source.nwb")
    assert main(["reliability", str(source), "--n-perm", "10", "--derivative-dir", str(folder / "derivatives")]) == 0
    assert main(["summary", str(folder), "-o", str(tmp_path / "s")]) == 0
    with open(tmp_path / "s" / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert len(rows) == 1 and "desc-nwbit" in rows[0]["file"] and rows[0]["responsive"] != ""


def test_a_timesformer_table_is_summarized_like_any_other(small_nwb, tmp_path, tiny_videomae):
    """Tables are found by what they record, not by name: encoding_timesformer_activations starts like
    encoding_time but is an encoding table."""
    from nwb_it.core.params import CompareParams, ExtractionParams, ReliabilityParams
    from nwb_it.examples import write_example_frames
    from nwb_it.nwb.io import reading
    from nwb_it.steps import run_compare, run_extract, run_reliability

    folder = tmp_path / "d"
    folder.mkdir()
    nwb = shutil.copy(small_nwb, folder / "s.nwb")
    with reading(nwb) as f:
        names = sorted(set(f.trials["stimulus_name"][:]))
    frames = write_example_frames(tmp_path / "frames", names, n_frames=4, size=16)
    run_reliability(nwb, ReliabilityParams(n_perm=10))
    run_extract(frames, ExtractionParams(model=str(tiny_videomae), pad=1), nwb_paths=[nwb],
                activations="timesformer_activations")
    run_compare(nwb, CompareParams(units="all", folds=2), activations="timesformer_activations")
    assert main(["summary", str(folder), "-o", str(tmp_path / "s")]) == 0
    with open(tmp_path / "s" / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["activations"] for r in rows] == ["timesformer_activations"] and rows[0]["median_score"] != ""


def test_summaries_are_tables_with_an_index_and_files_of_the_previous_layout_still_read(small_nwb, tmp_path,
                                                                                        tiny_videomae):
    """compare writes per-layer and per-bin summaries as tables and one index row per compared activations table
    (a second compare of the same table replaces its row); a file whose summaries are JSON in the encoding table's
    description (nwb_it 0.3) gives the same curves."""
    import json

    import h5py
    import numpy as np

    from nwb_it.core.params import CompareParams, ExtractionParams, ReliabilityParams
    from nwb_it.core.provenance import MARKER
    from nwb_it.examples import write_example_frames
    from nwb_it.nwb.compare_tables import layer_summaries
    from nwb_it.nwb.io import reading
    from nwb_it.steps import run_compare, run_extract, run_reliability

    nwb = shutil.copy(small_nwb, tmp_path / "s.nwb")
    with reading(nwb) as f:
        names = sorted(set(f.trials["stimulus_name"][:]))
    frames = write_example_frames(tmp_path / "frames", names, n_frames=4, size=16)
    run_reliability(nwb, ReliabilityParams(n_perm=10))
    results = {}
    for table in ("videomae_activations", "timesformer_activations", "videomae_activations"):
        run_extract(frames, ExtractionParams(model=str(tiny_videomae), pad=1, layers="all"), nwb_paths=[nwb],
                    activations=table)
        results[table] = run_compare(nwb, CompareParams(units="all", folds=2, layer="all"), activations=table)
    with reading(nwb) as f:
        index = f.processing["ecephys"]["comparisons"]
        assert list(index["activations"][:]) == ["timesformer_activations", "videomae_activations"]
        curves = layer_summaries(f)
    assert [c["activations"] for c in curves] == ["timesformer_activations", "videomae_activations"]
    for curve in curves:
        enc = {layer: pair[0] for layer, pair in results[curve["activations"]].items()}
        assert list(curve["summary"]) == list(enc)
        for layer, e in enc.items():
            want = e.summary()
            for key, value in curve["summary"][layer].items():
                assert value == want[key] or (np.isnan(value) and np.isnan(want[key])), (layer, key)
            np.testing.assert_allclose(curve["time"][layer]["median"], e.time.medians()["median"], equal_nan=True)

    # the previous layout: no summary tables, no index; the summaries in the descriptions' provenance JSON
    old = shutil.copy(nwb, tmp_path / "old.nwb")
    with h5py.File(old, "r+") as f:
        module = f["processing/ecephys"]
        for name in [n for n in module if n.startswith(("compare_layers", "compare_time", "comparisons"))]:
            del module[name]
        for curve in curves:
            suffix = "" if curve["activations"] == "videomae_activations" else f"_{curve['activations']}"
            for table, key, value in ((f"encoding{suffix}", "summary", curve["summary"]),
                                      (f"encoding_time{suffix}", "time_summary", curve["time"])):
                prose, record = module[table].attrs["description"].split(MARKER, 1)
                module[table].attrs["description"] = prose + MARKER + json.dumps({**json.loads(record), key: value})
    with reading(old) as f:
        again = layer_summaries(f)
    by_table = lambda cs: json.dumps({c["activations"]: c for c in cs}, sort_keys=True)  # noqa: E731
    assert by_table(again) == by_table(curves)
