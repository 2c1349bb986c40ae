"""export-brainscore: the assembly's every count equals the NWB file's spikes; xarray and the template load it."""
from __future__ import annotations

import importlib.util
import shutil

import numpy as np
import pytest
import xarray as xr
from pynwb import NWBHDF5IO

from nwb_it.cli import main
from nwb_it.core.benchmark_params import BrainScoreExportParams
from nwb_it.core.output import OutputPolicy
from nwb_it.core.params import ReliabilityParams
from nwb_it.steps import run_reliability
from nwb_it.steps.export import run_export_brainscore


def _counts_from_spikes(nwb_path, edges: np.ndarray) -> dict[tuple[str, str, int], np.ndarray]:
    """(unit name, stimulus, repetition) -> counts per bin, straight from the units' spike times (repetition: the
    file's repeat column, the source's repeat number)."""
    out = {}
    with NWBHDF5IO(str(nwb_path), "r") as io:
        f = io.read()
        trials = f.trials.to_dataframe().sort_values("stimulus_onset")
        names = [str(n) for n in f.units["unit_name"][:]]
        times = [np.asarray(f.units["spike_times"][u]) for u in range(len(f.units))]
    for _, t in trials.iterrows():
        rep = int(t["repeat"])
        for name, st in zip(names, times):
            # a spike on a bin edge (up to float noise) starts that bin; one on the window's end is in the last bin
            rel = st - t.stimulus_onset + 1e-9
            inside = rel[(rel >= edges[0]) & (rel <= edges[-1] + 2e-9)]
            counts, _ = np.histogram(np.minimum(inside, edges[-1]), edges)
            out[(name, str(t.stimulus_name), rep)] = counts
    return out


def test_assembly_matches_the_nwb_spikes_and_loads(small_nwb, tmp_path):
    nwb = shutil.copy(small_nwb, tmp_path / "s.nwb")
    run_reliability(nwb, ReliabilityParams(n_perm=20))
    out = tmp_path / "bs"
    params = BrainScoreExportParams(window=(0.0, 0.2), bin_size=0.02, units="all", min_reliability=None)
    paths = run_export_brainscore([nwb], params, out_dir=out)
    assert [p.name for p in paths] == ["assembly.nc", "stimulus_set.csv", "benchmark.py"]
    assembly = xr.load_dataarray(out / "assembly.nc")
    assert assembly.dims == ("presentation", "neuroid", "time_bin")
    np.testing.assert_allclose(assembly["time_bin_start"].values, np.arange(0, 200, 20))
    truth = _counts_from_spikes(nwb, np.round(np.arange(11) * 0.02, 10))
    checked = 0
    for n, neuroid in enumerate(assembly["neuroid_id"].values):
        unit = str(neuroid).split(".", 2)[2]          # <subject>.<session>.<unit>
        for p in range(assembly.sizes["presentation"]):
            key = (unit, str(assembly["stimulus_id"].values[p]), int(assembly["repetition"].values[p]))
            np.testing.assert_array_equal(assembly.values[p, n], truth[key])
            checked += 1
    assert checked == assembly.sizes["presentation"] * assembly.sizes["neuroid"] and checked > 0
    spec = importlib.util.spec_from_file_location("benchmark", out / "benchmark.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    loaded = module.load_assembly()
    assert set(loaded.indexes["presentation"].names) == {"stimulus_id", "repetition"}
    mean = module.mean_response(loaded)
    assert mean.sizes["stimulus_id"] == len(set(assembly["stimulus_id"].values))
    assert set(module.load_stimulus_set()["stimulus_id"]) == set(assembly["stimulus_id"].values.astype(str))


def _other_session(path, subject: str, identifier: str):
    """The same recording as another subject's file (its own NWB identifier), as a second monkey's ``ses-1``."""
    import h5py

    with h5py.File(path, "r+") as h5:
        for name, value in (("general/subject/subject_id", subject), ("identifier", identifier)):
            del h5[name]
            h5.create_dataset(name, data=value, dtype=h5py.string_dtype())
    return path


def test_two_sessions_side_by_side_with_their_responsive_units(small_nwb, tmp_path, capsys):
    a, b = (shutil.copy(small_nwb, tmp_path / f"{x}.nwb") for x in "ab")
    _other_session(b, "other-monkey", "another-identifier")
    for f in (a, b):
        run_reliability(f, ReliabilityParams(n_perm=20))
    assert main(["export-brainscore", str(a), str(b), "-o", str(tmp_path / "bs"), "--units", "responsive",
                 "--min-reliability", "none"]) == 0
    assembly = xr.load_dataarray(tmp_path / "bs" / "assembly.nc")
    with NWBHDF5IO(str(a), "r") as io:
        responsive = int(io.read().processing["ecephys"]["reliability"]["responsive"][:].sum())
    assert assembly.sizes["neuroid"] == 2 * responsive
    assert "assembly.nc" in capsys.readouterr().out


def test_neuroids_are_unique_across_monkeys_and_a_file_named_twice_counts_once(small_nwb, tmp_path, monkeypatch):
    """Two monkeys' ``ses-1`` share no neuroid id; a file given by two paths, or a copy with its identifier, once;
    stimulus files relative to the export; no URL secret in the assembly."""
    import warnings

    a = shutil.copy(small_nwb, tmp_path / "a.nwb")
    b = _other_session(shutil.copy(small_nwb, tmp_path / "b.nwb"), "monkey-b", "b-identifier")
    copy_of_a = shutil.copy(a, tmp_path / "copy_of_a.nwb")
    monkeypatch.chdir(tmp_path)
    params = BrainScoreExportParams(units="all", min_reliability=None)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_export_brainscore([a, "a.nwb", b, copy_of_a], params, out_dir=tmp_path / "bs")
    said = " ".join(str(w.message) for w in caught)
    assert "given twice" in said and "same NWB file" in said
    assembly = xr.load_dataarray(tmp_path / "bs" / "assembly.nc")
    ids = assembly["neuroid_id"].values.astype(str)
    with NWBHDF5IO(str(a), "r") as io:
        n_units = len(io.read().units)
    assert len(ids) == len(set(ids)) == 2 * n_units
    assert {i.split(".")[0] for i in ids} == {"coco", "monkey-b"}
    assert assembly.attrs["files"].count("a.nwb") == 1


def test_stimulus_files_are_relative_to_the_export(small_mat, tmp_path):
    """Clips stored with the session (convert --stimuli) are found from the export's folder."""
    import csv

    from nwb_it import run_convert
    from nwb_it.examples import example_metadata_path, write_example_frames
    from nwb_it.nwb.metadata import load_metadata_yaml

    nwb = run_convert(small_mat, load_metadata_yaml(example_metadata_path()), out_dir=tmp_path / "nwb")
    with NWBHDF5IO(str(nwb), "r") as io:
        names = sorted(set(io.read().trials["stimulus_name"][:]))
    frames = write_example_frames(tmp_path / "frames", names, n_frames=3, size=8)
    nwb = run_convert(small_mat, load_metadata_yaml(example_metadata_path()), out_dir=tmp_path / "nwb",
                      stimuli=frames, output=OutputPolicy(overwrite=True))
    out = tmp_path / "exports" / "bs"
    run_export_brainscore([nwb], BrainScoreExportParams(units="all", min_reliability=None), out_dir=out)
    with open(out / "stimulus_set.csv") as fh:
        rows = list(csv.DictReader(fh))
    files = [f for r in rows for f in r["files"].split(";") if f]
    assert files and all(not f.startswith("/") and (out / f).is_file() for f in files)


def test_the_recipe_by_default_reliability_selection_and_ceiling_from_the_spikes(tmp_path):
    """Defaults = Brain-Score's recipe: 70-170 ms in 10 ms bins; each unit's split-half reliability of its window count,
    recomputed here from the NWB spike times; neuroids above 0.4 only; the ceiling their median, with its error."""
    import warnings

    from nwb_it import run_convert
    from nwb_it.examples.session import write_example_session
    from nwb_it.process.brainscore import reliability_ceiling, splithalf_reliability
    from nwb_it.steps.export import session_seed
    from tests.conftest import META

    write_example_session(tmp_path / "r_fixshortvid1_coco.mat", n_units=20, n_clips=30, n_repeats=6, seed=0)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nwb = run_convert(tmp_path / "r_fixshortvid1_coco.mat", META, out_dir=tmp_path / "nwb")
    assert main(["export-brainscore", str(nwb), "-o", str(tmp_path / "all"), "--min-reliability", "none"]) == 0
    assert main(["export-brainscore", str(nwb), "-o", str(tmp_path / "bs")]) == 0
    everyone = xr.load_dataarray(tmp_path / "all" / "assembly.nc")
    kept = xr.load_dataarray(tmp_path / "bs" / "assembly.nc")
    np.testing.assert_allclose(kept["time_bin_start"].values, np.arange(70, 170, 10))

    truth = _counts_from_spikes(nwb, np.round(0.07 + np.arange(11) * 0.01, 10))
    with NWBHDF5IO(str(nwb), "r") as io:
        f = io.read()
        identifier = f.identifier
        trials = f.trials.to_dataframe().sort_values("stimulus_onset")
    names = [str(n).split(".", 2)[2] for n in everyone["neuroid_id"].values]
    # images numbered in stimulus-index order (the recipe numbers them by its own image index)
    image = np.unique(trials["stimulus_index"].values, return_inverse=True)[1]
    window = np.array([[truth[(u, s, int(r))].sum() for s, r in zip(trials.stimulus_name, trials["repeat"])]
                       for u in names], dtype=float)
    # the export orders presentations its own way: the reliability depends on the order of the trials within an
    # image (the random halves), so compare with the trials in the export's order
    order = [list(zip(trials.stimulus_name, trials["repeat"].astype(int))).index((s, int(r)))
             for s, r in zip(everyone["stimulus_id"].values, everyone["repetition"].values)]
    want = splithalf_reliability(window[:, order], image[order], session_seed(0, identifier))
    np.testing.assert_allclose(everyone["reliability"].values, want, rtol=1e-10)

    assert 0 < kept.sizes["neuroid"] < everyone.sizes["neuroid"]
    assert (kept["reliability"].values > 0.4).all()
    np.testing.assert_array_equal(kept["neuroid_id"].values,
                                  everyone["neuroid_id"].values[everyone["reliability"].values > 0.4])
    ceiling = reliability_ceiling(kept["reliability"].values)
    assert kept.attrs["ceiling"] == pytest.approx(ceiling.value) and kept.attrs["ceiling_error"] > 0
    spec = importlib.util.spec_from_file_location("benchmark", tmp_path / "bs" / "benchmark.py")
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    assert module.METRIC == "spantime_pls" and module.RELIABILITY_THRESHOLD == 0.4
    assert module.TIME_WINDOW_MS == (70.0, 170.0) and module.BIN_MS == 10.0
    assert module.ceiling() == pytest.approx((ceiling.value, ceiling.error))


def test_no_reliable_unit_is_a_clear_error(small_nwb, tmp_path, capsys):
    assert main(["export-brainscore", str(small_nwb), "-o", str(tmp_path / "bs")]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert "split-half reliability above 0.4" in err[-1] and "--min-reliability" in err[-1]
    assert not (tmp_path / "bs" / "assembly.nc").exists()
