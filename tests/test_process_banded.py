"""Variance partitioning over layers (banded ridge): equal to himalaya's solver, and right on a known truth."""
from __future__ import annotations

import dataclasses

import numpy as np

from nwb_it.core.params import CompareParams
from nwb_it.process.banded import band_weights, banded_ridge_cv_predict, variance_partition
from nwb_it.process.ridge import ALPHAS, group_splits, himalaya_backend

from .synthetic import BIN, activations_from_features, aligned_from_rates

N_CLIPS, N_BINS, DIM = 60, 8, 5
PARAMS = CompareParams(window=(0.0, N_BINS * BIN), lags=(0.0,), n_pcs=DIM, units="all", banded_iter=20)


def test_banded_ridge_equals_himalayas_random_search():
    from himalaya.ridge import solve_banded_ridge_random_search

    rng = np.random.default_rng(0)
    a, b = rng.normal(size=(400, 8)), rng.normal(size=(400, 6))
    targets = np.arange(30) % 3                                    # read A, read B, noise only
    y = (a @ rng.normal(size=(8, 30)) * (targets == 0) + b @ rng.normal(size=(6, 30)) * (targets == 1)
         + 2 * rng.normal(size=(400, 30)))
    groups, train = np.repeat(np.arange(80), 5), np.repeat(np.arange(80), 5) < 64
    gammas = band_weights(15, 2, seed=0)
    split, intercept, gamma, alpha = banded_ridge_cv_predict([a[train], b[train]], y[train], [a[~train], b[~train]],
                                                             groups[train], gammas)
    with himalaya_backend("numpy"):
        deltas, weights, _, icpt = solve_banded_ridge_random_search(
            [a[train], b[train]], y[train], n_iter=gammas, alphas=ALPHAS, fit_intercept=True,
            cv=group_splits(groups[train]), return_weights=True, progress_bar=False)
    expected = np.hstack([a[~train], b[~train]]) @ np.asarray(weights) + np.asarray(icpt)
    np.testing.assert_allclose(split.sum(0) + intercept, expected, atol=1e-8)
    np.testing.assert_allclose(np.log(gamma / alpha[:, None]).T, np.asarray(deltas), atol=1e-8)


def test_units_driven_by_one_layer_give_that_band_the_explained_variance():
    """Two independent layers; units reading out layer A give band A ~all of their R², units reading out B band B,
    units reading out both split it; the joint R² is the sum of the parts."""
    rng = np.random.default_rng(1)
    fa, fb = rng.normal(size=(N_CLIPS, N_BINS, DIM)), rng.normal(size=(N_CLIPS, N_BINS, DIM))
    rates, true_share = [], []
    for u in range(18):
        wa, wb = rng.normal(size=DIM), rng.normal(size=DIM)
        drive = {0: fa @ wa, 1: fb @ wb, 2: fa @ wa + fb @ wb}[u // 6]
        rates.append(25 + 18 * drive / np.abs(drive).max())
        true_share.append((wa @ wa) / (wa @ wa + wb @ wb))            # independent unit-variance features
    aligned = aligned_from_rates(np.stack(rates), np.full(N_CLIPS, 8), seed=2)
    acts = activations_from_features(fa)
    acts = dataclasses.replace(acts, layers={"A": acts.layers["last"], "B": fb.reshape(N_CLIPS * N_BINS, -1)})
    res = variance_partition(aligned, acts, ["A", "B"], PARAMS)
    share = res.share
    assert np.nanmedian(share[0, :6]) > 0.85 and np.nanmedian(share[1, 6:12]) > 0.85, share
    np.testing.assert_allclose(share[0, 12:], true_share[12:], atol=0.12)         # both: split as the truth is
    assert np.nanmedian(res.normalized) > 0.8 and res.included.sum() >= 15, res.normalized
    summary = res.summary()
    truth_a = np.median(np.asarray(true_share)[res.included])
    assert set(summary) == {"A", "B"} and abs(summary["A"]["median_share"] - truth_a) < 0.15, (summary, truth_a)
    assert abs(summary["B"]["median_share"] - (1 - truth_a)) < 0.15


def test_banded_ridge_numpy_and_torch_backends_agree():
    rng = np.random.default_rng(3)
    a, b = rng.normal(size=(300, 8)), rng.normal(size=(300, 6))
    y = a @ rng.normal(size=(8, 10)) + rng.normal(size=(300, 10))
    groups = np.repeat(np.arange(60), 5)
    train = groups < 50
    gammas = band_weights(6, 2, seed=0)
    on = {backend: banded_ridge_cv_predict([a[train], b[train]], y[train], [a[~train], b[~train]], groups[train],
                                           gammas, backend=backend) for backend in ("numpy", "torch")}
    for x, z in zip(on["numpy"], on["torch"]):
        np.testing.assert_allclose(x, z, atol=1e-10)


def test_a_silent_unit_has_no_band_r2_rather_than_an_infinite_one():
    from nwb_it.process.banded import r2_split

    rng = np.random.default_rng(4)
    measured = rng.poisson(3, size=(3, 20, 4)).astype(float)
    measured[1] = 0.0
    r2 = r2_split(measured, rng.normal(size=(2, 3, 20, 4)), np.arange(20) % 4)
    assert np.all(np.isnan(r2[:, 1])) and np.all(np.isfinite(r2[:, [0, 2]]))


def test_band_parts_sum_to_the_held_out_r2_computed_by_hand():
    """The product measure's parts, summed, are 1 - SSE/SST of the joint (centred) prediction on each fold: checked
    against that formula written out here, on predictions that are not least-squares fits (parts may be < 0)."""
    from nwb_it.process.banded import r2_split

    rng = np.random.default_rng(5)
    measured = rng.poisson(4, size=(4, 24, 3)).astype(float)
    split = rng.normal(size=(3, 4, 24, 3)) + 0.3 * measured[None]
    fold = np.arange(24) % 3
    parts = r2_split(measured, split, fold)
    by_hand = []
    for f in range(3):
        y = measured[:, fold == f].reshape(4, -1)
        p = split[:, :, fold == f].reshape(3, 4, -1).sum(0)
        y, p = y - y.mean(1, keepdims=True), p - p.mean(1, keepdims=True)
        by_hand.append(1 - ((y - p) ** 2).sum(1) / (y ** 2).sum(1))
    np.testing.assert_allclose(parts.sum(0), np.mean(by_hand, 0), atol=1e-10)
    assert (parts < 0).any() and not np.allclose(parts[0], parts[1]), "a test that a constant split would fail"


def test_weighted_band_parts_equal_himalayas_split_on_all_clips():
    from nwb_it.process.banded import r2_parts_weighted, r2_split

    rng = np.random.default_rng(6)
    measured = rng.poisson(4, size=(3, 20, 4)).astype(float)
    split = rng.normal(size=(2, 3, 20, 4)) + 0.4 * measured[None]
    one = r2_parts_weighted(measured, split, np.ones((1, 20)))[0]
    np.testing.assert_allclose(one, r2_split(measured, split, np.zeros(20, dtype=np.int64)), atol=1e-10)
    row = np.random.default_rng(7).multinomial(20, np.full(20, 0.05))
    take = np.repeat(np.arange(20), row)
    np.testing.assert_allclose(r2_parts_weighted(measured, split, row[None].astype(float))[0],
                               r2_split(measured[:, take], split[:, :, take], np.zeros(take.size, dtype=np.int64)),
                               atol=1e-10)


def _two_layer_units(share_a: float, gain: float, seed: int, fa, fb, n_units: int = 20) -> np.ndarray:
    rng = np.random.default_rng(seed)
    rates = []
    for _ in range(n_units):
        wa, wb = rng.normal(size=DIM), rng.normal(size=DIM)
        wa, wb = wa / np.linalg.norm(wa) * np.sqrt(share_a), wb / np.linalg.norm(wb) * np.sqrt(1 - share_a)
        rates.append(20 + gain * (fa @ wa + fb @ wb))
    return np.stack(rates)


def test_shares_have_intervals_around_the_truth_and_are_not_reported_without_signal():
    """Five groups reading layer A's share 1, .75, .5, .25, 0: at a held-out R² near 0.13 each group's median share
    has an interval around its truth; near 0.02 the joint model is significant in too few units and no share is
    reported (it gave 1.18, 1.16, -0.28, 0.56 before, every included unit with a negative band)."""
    rng = np.random.default_rng(1)
    fa, fb = rng.normal(size=(N_CLIPS, N_BINS, DIM)), rng.normal(size=(N_CLIPS, N_BINS, DIM))
    acts = activations_from_features(fa)
    acts = dataclasses.replace(acts, layers={"A": acts.layers["last"], "B": fb.reshape(N_CLIPS * N_BINS, -1)})
    for share in (1.0, 0.75, 0.5, 0.25, 0.0):
        strong = variance_partition(aligned_from_rates(_two_layer_units(share, 3.0, 10, fa, fb), np.full(N_CLIPS, 8),
                                                       seed=2), acts, ["A", "B"], PARAMS)
        s = strong.summary()["A"]
        assert s["units"] >= 5 and s["share_ci_low"] - 0.05 <= share <= s["share_ci_high"] + 0.05, (share, s)
        weak = variance_partition(aligned_from_rates(_two_layer_units(share, 1.4, 10, fa, fb), np.full(N_CLIPS, 8),
                                                     seed=2), acts, ["A", "B"], PARAMS)
        w = weak.summary()["A"]
        assert np.isnan(w["median_share"]) or w["share_ci_low"] - 0.05 <= share <= w["share_ci_high"] + 0.05, w


def test_the_ridges_never_set_himalayas_global_backend(monkeypatch):
    """The backend is passed to the ridge code as a module: himalaya's process-wide backend is never set (another
    thread's himalaya call keeps its backend); a banded ridge sets it only around himalaya's own helpers."""
    import himalaya.backend

    from nwb_it.process.banded import banded_ridge_cv_predict
    from nwb_it.process.ridge import ridge_cv_predict

    calls = []
    real = himalaya.backend.set_backend
    monkeypatch.setattr(himalaya.backend, "set_backend", lambda *a, **k: calls.append(a) or real(*a, **k))
    rng = np.random.default_rng(0)
    x, y = rng.normal(size=(40, 3)), rng.normal(size=(40, 2))
    groups = np.repeat(np.arange(8), 5)
    ridge_cv_predict(x[:30], y[:30], x[30:], groups[:30])
    banded_ridge_cv_predict([x[:30, :2], x[:30, 2:]], y[:30], [x[30:, :2], x[30:, 2:]], groups[:30],
                            np.array([[0.5, 0.5], [0.9, 0.1]]))
    assert calls == []
