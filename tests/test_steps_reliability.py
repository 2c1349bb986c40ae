"""The reliability and heatmaps steps: the table in the NWB file (replaced on re-run, valid), the pickle, figures."""
from __future__ import annotations

import pickle

import matplotlib.image as mpimg
import numpy as np
import pytest
from pynwb import NWBHDF5IO

from nwb_it.cli import main
from nwb_it.core.params import HeatmapParams, ReliabilityParams
from nwb_it.core.provenance import read_provenance
from nwb_it.nwb.results import read_reliability_table
from nwb_it.nwb.validate import validate_nwb
from nwb_it.steps.heatmaps import run_heatmaps
from nwb_it.steps.reliability import run_reliability

from .helpers import copy_to


def test_reliability_table_replaced_and_valid(small_nwb, tmp_path, capsys):
    path = copy_to(small_nwb, tmp_path)
    pkl = tmp_path / "responsive.pkl"
    assert main(["reliability", str(path), "--n-perm", "40", "--export-pickle", str(pkl)]) == 0
    assert "responsive" in capsys.readouterr().out
    assert main(["reliability", str(path), "--n-perm", "30", "--cutoff", "2.5"]) == 0
    with NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        tables = list(nwb.processing["ecephys"].data_interfaces)
        res = read_reliability_table(nwb)
        assert tables == ["reliability"] and res.r2_true.shape == (6, 30)
        stored = nwb.processing["ecephys"]["reliability"]["spearman_brown_mean_r"].data[:]
        np.testing.assert_allclose(res.spearman_brown_mean_r, stored, equal_nan=True)
        r_bar = np.nanmean(res.r_true, 1)
        np.testing.assert_allclose(stored, 2 * r_bar / (1 + r_bar), equal_nan=True)
        q = nwb.processing["ecephys"]["reliability"]["q_value"].data[:]
        assert np.all((q >= res.p_value) | np.isnan(q)), "BH never lowers a p-value"
        assert res.params == ReliabilityParams(n_perm=30, cutoff=2.5), "parameters read back from the JSON"
        prov = read_provenance(nwb.processing["ecephys"]["reliability"].description)
        assert prov["step"] == "reliability" and prov["version"] and prov["parameters"]["window"] == [-0.05, 0.3]
        assert len(nwb.units) == 6 and len(nwb.trials) > 0
        table = nwb.processing["ecephys"]["reliability"]
        assert table["unit"][0].index[0] == 0   # region into the units table
    assert not [f for f in validate_nwb(path) if f.blocking]
    data = pickle.loads(pkl.read_bytes())
    with NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        key = next(iter(data))
        u = int(key.split("_")[1])
        spikes = nwb.units["spike_times"][u]
    assert sum(len(r) for clip in data[key] for r in clip) == len(spikes)


def test_figures(small_nwb, tmp_path):
    path = copy_to(small_nwb, tmp_path)
    run_reliability(path, ReliabilityParams(n_perm=20))
    with NWBHDF5IO(str(path), "r") as io:
        n_resp = int(read_reliability_table(io.read()).responsive.sum())
    paths = run_heatmaps(path, HeatmapParams(units="all"), out_dir=tmp_path / "figs")
    assert len(paths) == 1 + 6 + 2
    paths = run_heatmaps(path, HeatmapParams(), out_dir=tmp_path / "figs2")
    assert len(paths) == 1 + n_resp + 2
    for p in paths:
        image = mpimg.imread(p)
        assert image[..., :3].std() > 0.05, f"{p.name} looks blank"


def test_lab_compat_records_the_window_bins_and_null_it_used(small_nwb, tmp_path):
    """--lab-compat runs the notebook's single deal: that is what the table and the binned counts record."""
    import shutil

    from pynwb import NWBHDF5IO

    from nwb_it.core.errors import InvalidParameter
    from nwb_it.core.params import ReliabilityParams
    from nwb_it.core.provenance import read_provenance
    from nwb_it.steps import run_reliability

    nwb = shutil.copy(small_nwb, tmp_path / "s.nwb")
    res = run_reliability(nwb, ReliabilityParams(n_perm=20, lab_compat=True), store_binned=True)
    assert res.params.null == "once"
    with NWBHDF5IO(str(nwb), "r") as io:
        tables = io.read().processing["ecephys"].data_interfaces
        recorded = read_provenance(tables["reliability"].description)
    assert recorded["parameters"]["null"] == "once" and recorded["parameters"]["lab_compat"] is True
    with pytest.raises(InvalidParameter, match="notebook's window"):
        ReliabilityParams(lab_compat=True, bin_size=0.025)
