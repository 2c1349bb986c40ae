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
        unit = str(neuroid).split(".", 1)[1]
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


def test_two_sessions_side_by_side_and_responsive_units_by_default(small_nwb, tmp_path, capsys):
    a, b = (shutil.copy(small_nwb, tmp_path / f"{x}.nwb") for x in "ab")
    for f in (a, b):
        run_reliability(f, ReliabilityParams(n_perm=20))
    assert main(["export-brainscore", str(a), str(b), "-o", str(tmp_path / "bs")]) == 0
    assembly = xr.load_dataarray(tmp_path / "bs" / "assembly.nc")
    with NWBHDF5IO(str(a), "r") as io:
        responsive = int(io.read().processing["ecephys"]["reliability"]["responsive"][:].sum())
    assert assembly.sizes["neuroid"] == 2 * responsive
    assert "assembly.nc" in capsys.readouterr().out
