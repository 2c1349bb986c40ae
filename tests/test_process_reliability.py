"""The reliability statistic: vectorised r² equals the lab's loop, known units are found, seeded and NaN-safe."""
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from pynwb import NWBHDF5IO

from nwb_it import convert_session
from nwb_it.core.params import ReliabilityParams
from nwb_it.examples import write_example_session
from nwb_it.nwb.recording import read_aligned
from nwb_it.process.reliability import null_deal, reliability, split_half_r, split_positions
from nwb_it.steps.reliability import run_reliability

from .helpers import META


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
        a = read_aligned(io.read())
    rng = np.random.default_rng(5)
    pos = split_positions(rng, a.mask, 20)
    np.testing.assert_allclose(split_half_r(a.counts, a.mask, pos) ** 2, _seed_loop_r2(a.counts, a.mask, pos),
                               atol=1e-12)
    dealt = null_deal(rng, a.counts[0], a.mask)
    assert sorted(map(tuple, dealt[a.mask])) == sorted(map(tuple, a.counts[0][a.mask]))


@pytest.mark.slow
def test_precision_recall_on_known_units(tmp_path):

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
        a = read_aligned(io.read())
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
