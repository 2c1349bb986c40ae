"""Binning, reliability statistics, the reliability table and the figures."""
from __future__ import annotations

import pickle
import warnings

import matplotlib.image as mpimg
import numpy as np
import pandas as pd
import pytest
import quantities as pq
from elephant.conversion import BinnedSpikeTrain
from pynwb import NWBHDF5IO

from nwb_it import convert_session, read_session
from nwb_it.cli import main
from nwb_it.io.matwrite import cell_array, write_mat73
from nwb_it.io.validate import validate_nwb
from nwb_it.process.aligned import bin_aligned, presentation_trains
from nwb_it.process.heatmaps import make_heatmaps
from nwb_it.process.reliability import (ReliabilityParams, null_deal, reliability, split_half_r,
                                        split_positions)
from nwb_it.process.responsive import read_reliability, run_reliability

from .conftest import META

EDGES = np.array([-0.05, 0.0, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30])


@pytest.fixture(scope="module")
def edge_session(tmp_path_factory):
    """Spikes exactly on every bin edge, ragged repeats, an empty clip and a silent unit."""
    on_edges = np.r_[EDGES, EDGES[:3], -0.07, 0.31]
    spikes = [
        [[on_edges, np.array([0.0, 0.05, 0.3])], [np.array([0.1])], []],
        [[np.zeros(0), np.array([-0.05])], [np.array([0.25, 0.2999])], []],
        [[np.zeros(0), np.zeros(0)], [np.zeros(0)], []],
    ]
    struct = {"spikes": cell_array([cell_array([cell_array([s.reshape(-1, 1) for s in rep]) for rep in unit])
                                    for unit in spikes]),
              "itemnames": cell_array(["1_a", "2_b", "3_c"]), "neuron_id": cell_array(["u1", "u2", "u3"])}
    d = tmp_path_factory.mktemp("edge")
    mat = d / "e_fixshortvid1_coco.mat"
    write_mat73(mat, {"L2_str": struct})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mat, convert_session(mat, d, META)


def _histograms(session, aligned):
    out = np.zeros_like(aligned.counts)
    for u in range(session.n_units):
        for c, k in enumerate(aligned.clip_index):
            for r in range(session.n_repeats[k]):
                out[u, c, r] = np.histogram(session.spikes(u, k, r), bins=EDGES)[0]
    return out


def test_binning_equals_np_histogram_of_the_source(edge_session, small_mat, small_nwb):
    for mat, nwb_path in (edge_session, (small_mat, small_nwb)):
        session = read_session(mat)
        with NWBHDF5IO(str(nwb_path), "r") as io:
            aligned = bin_aligned(io.read())
        np.testing.assert_array_equal(aligned.counts, _histograms(session, aligned))
        assert aligned.mask.sum() == session.n_presentations


def test_edges_and_ragged_repeats(edge_session):
    with NWBHDF5IO(str(edge_session[1]), "r") as io:
        a = bin_aligned(io.read())
    assert a.counts.shape == (3, 2, 2, 7), "the never-shown clip has no row"
    np.testing.assert_array_equal(a.mask, [[True, True], [True, False]])
    np.testing.assert_array_equal(a.counts[0, 0, 0], [2, 2, 2, 1, 1, 1, 2])   # 0.30 in the last bin
    np.testing.assert_array_equal(a.counts[1, 1, 0], [0, 0, 0, 0, 0, 0, 2])   # 0.25 opens the last bin
    assert a.counts[2].sum() == 0 and a.counts[:, 1, 1].sum() == 0


def test_presentation_clock_equals_per_presentation_elephant(small_nwb):
    with NWBHDF5IO(str(small_nwb), "r") as io:
        nwb = io.read()
        fast = bin_aligned(nwb, (-0.05, 0.25), 0.05)
        trains = presentation_trains(nwb, (-0.05, 0.25))
    rows = fast.trial_rows
    for u, per_trial in enumerate(trains):
        slow = np.stack([BinnedSpikeTrain(t, bin_size=0.05 * pq.s).to_array()[0] for t in per_trial])
        np.testing.assert_array_equal(fast.counts[u][fast.mask], slow[rows[fast.mask]])


def _seed_loop_r2(counts, mask, positions):
    """The lab's loop: per unit and split, halves' means, pandas' pairwise-complete Pearson."""
    n_k = mask.sum(1)
    out = np.full((counts.shape[0], positions.shape[0]), np.nan)
    for u in range(counts.shape[0]):
        for p in range(positions.shape[0]):
            xs, ys = [], []
            for k in range(mask.shape[0]):
                if n_k[k] == 0:
                    continue
                order = np.argsort(positions[p, k])[:n_k[k]]
                a, b = order[:n_k[k] // 2], order[n_k[k] // 2:]
                xs.append(counts[u, k, a].mean(0) if a.size else np.full(counts.shape[-1], np.nan))
                ys.append(counts[u, k, b].mean(0))
            out[u, p] = pd.Series(np.concatenate(xs)).corr(pd.Series(np.concatenate(ys))) ** 2
    return out


def test_vectorised_r2_equals_plain_loop(small_nwb):
    with NWBHDF5IO(str(small_nwb), "r") as io:
        a = bin_aligned(io.read())
    rng = np.random.default_rng(5)
    pos = split_positions(rng, a.mask, 20)
    np.testing.assert_allclose(split_half_r(a.counts, a.mask, pos) ** 2, _seed_loop_r2(a.counts, a.mask, pos),
                               atol=1e-12)
    dealt = null_deal(rng, a.counts[0], a.mask)
    assert sorted(map(tuple, dealt[a.mask])) == sorted(map(tuple, a.counts[0][a.mask]))


def test_precision_recall_on_known_units(tmp_path):
    from nwb_it.io.example import write_example_session

    mat = tmp_path / "pr_fixshortvid1_coco.mat"
    truth = write_example_session(mat, n_units=40, n_clips=30, n_repeats=6, seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nwb = convert_session(mat, tmp_path, META)
    res = run_reliability(nwb)
    found, made = res.responsive, truth.responsive
    precision = (found & made).sum() / max(found.sum(), 1)
    recall = (found & made).sum() / made.sum()
    assert precision >= 0.95 and recall >= 0.95, (precision, recall)


def test_seeded_and_nan_safe(small_nwb):
    with NWBHDF5IO(str(small_nwb), "r") as io:
        a = bin_aligned(io.read())
    one = reliability(a, ReliabilityParams(n_perm=30, seed=4)).to_dataframe()
    two = reliability(a, ReliabilityParams(n_perm=30, seed=4), chunk=2).to_dataframe()
    pd.testing.assert_frame_equal(one, two)
    assert not reliability(a, ReliabilityParams(n_perm=30, seed=5)).to_dataframe().equals(one)
    silent = one.iloc[-1]
    assert np.isnan(silent.dprime) and not silent.responsive
    single = a.mask.copy()
    single[:, 1:] = False                      # < 2 repeats everywhere
    res = reliability(type(a)(**{**a.__dict__, "mask": single}), ReliabilityParams(n_perm=10))
    assert np.isnan(res.dprime).all() and not res.responsive.any()


def test_reliability_table_replaced_and_valid(small_nwb, tmp_path, capsys):
    path = tmp_path / small_nwb.name
    path.write_bytes(small_nwb.read_bytes())
    pkl = tmp_path / "responsive.pkl"
    assert main(["reliability", str(path), "--n-perm", "40", "--export-pickle", str(pkl)]) == 0
    assert "responsive" in capsys.readouterr().out
    assert main(["reliability", str(path), "--n-perm", "30", "--cutoff", "2.5"]) == 0
    with NWBHDF5IO(str(path), "r") as io:
        nwb = io.read()
        tables = list(nwb.processing["ecephys"].data_interfaces)
        res = read_reliability(nwb)
        assert tables == ["reliability"] and res.r2_true.shape == (6, 30)
        stored = nwb.processing["ecephys"]["reliability"]["reliability"].data[:]
        np.testing.assert_allclose(res.reliability, stored, equal_nan=True)
        assert res.params.cutoff == 2.5 and res.params.n_perm == 30
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
    path = tmp_path / small_nwb.name
    path.write_bytes(small_nwb.read_bytes())
    run_reliability(path, ReliabilityParams(n_perm=20))
    with NWBHDF5IO(str(path), "r") as io:
        n_resp = int(read_reliability(io.read()).responsive.sum())
    paths = make_heatmaps(path, tmp_path / "figs", units="all")
    assert len(paths) == 1 + 6 + 2
    paths = make_heatmaps(path, tmp_path / "figs2")
    assert len(paths) == 1 + n_resp + 2
    for p in paths:
        image = mpimg.imread(p)
        assert image[..., :3].std() > 0.05, f"{p.name} looks blank"
