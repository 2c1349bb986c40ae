"""export-brainscore: the assembly's every count equals the NWB file's spikes; xarray and the template load it."""
from __future__ import annotations

import importlib.util
import shutil

import numpy as np
import xarray as xr
from pynwb import NWBHDF5IO

from nwb_it.cli import main
from nwb_it.core.params import BrainScoreExportParams, ReliabilityParams
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
            rel = st - t.stimulus_onset
            counts, _ = np.histogram(rel[(rel >= edges[0]) & (rel <= edges[-1])], edges)
            out[(name, str(t.stimulus_name), rep)] = counts
    return out


def test_assembly_matches_the_nwb_spikes_and_loads(small_nwb, tmp_path):
    nwb = shutil.copy(small_nwb, tmp_path / "s.nwb")
    run_reliability(nwb, ReliabilityParams(n_perm=20))
    out = tmp_path / "bs"
    params = BrainScoreExportParams(window=(0.0, 0.2), bin_size=0.02, units="all")
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


def test_two_sessions_side_by_side_and_responsive_units_by_default(small_nwb, tmp_path, capsys):
    a, b = (shutil.copy(small_nwb, tmp_path / f"{x}.nwb") for x in "ab")
    _other_session(b, "other-monkey", "another-identifier")
    for f in (a, b):
        run_reliability(f, ReliabilityParams(n_perm=20))
    assert main(["export-brainscore", str(a), str(b), "-o", str(tmp_path / "bs")]) == 0
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
    params = BrainScoreExportParams(units="all")
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
                      stimuli=frames, overwrite=True)
    out = tmp_path / "exports" / "bs"
    run_export_brainscore([nwb], BrainScoreExportParams(units="all"), out_dir=out)
    with open(out / "stimulus_set.csv") as fh:
        rows = list(csv.DictReader(fh))
    files = [f for r in rows for f in r["files"].split(";") if f]
    assert files and all(not f.startswith("/") and (out / f).is_file() for f in files)
