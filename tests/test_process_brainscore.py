"""Brain-Score's metric, reliability and ceiling, ported: Brain-Score's own test cases, the recipe, ground truth.

The first two tests port brain-score/vision's metrics/regression_correlation/test.py (inputs and expected numbers,
same tolerances). The recipe test checks the vectorised reliability against a per-unit transcription of
data/li2026/data_packaging/build_li2026_reliability_70_170ms.py written here as plain loops.
"""
from __future__ import annotations

import numpy as np
import pytest

from nwb_it.core.benchmark import bounded, ceiled
from nwb_it.process.brainscore import (
    cross_regressed_correlation,
    reliability_ceiling,
    splithalf_reliability,
    train_test_correlation,
)


@pytest.mark.parametrize("seed", range(3))
def test_pls_on_itself_scores_one_as_in_brainscore(seed):
    # TestCrossRegressedCorrelation.test_small: 30 x 25, arange + N(0, 1), 'pls' (stratified on object_name)
    rng = np.random.RandomState(seed)
    assembly = (np.arange(30 * 25) + rng.standard_normal(30 * 25)).reshape((30, 25))
    score = cross_regressed_correlation(assembly, assembly, labels=np.array(["a", "b", "c"] * 10))
    assert score.raw == pytest.approx(1, abs=0.00001)
    assert score.per_split.shape == (10, 1) and score.n_components == 25


@pytest.mark.parametrize("seed", range(3))
def test_pls_split_scores_one_as_in_brainscore(seed):
    # TestTrainTestSplitCorrelation.test_small['pls_split']: train 100 x 25, test 20 x 25
    rng = np.random.RandomState(seed)
    train = (np.arange(100 * 25) + rng.standard_normal(100 * 25)).reshape((100, 25))
    test = (np.arange(20 * 25) + rng.standard_normal(20 * 25)).reshape((20, 25))
    score, raw = train_test_correlation(train, train, test, test)
    assert len(raw) == 25
    assert score == pytest.approx(1, abs=0.001)


def _recipe_reliability(rate: np.ndarray, img_code: np.ndarray, n_img: int, seed: int, k: int = 20) -> float:
    """The recipe for one unit, loop by loop (its session_split_plan + unit_reliability)."""
    rng = np.random.RandomState(seed)
    per_img = [np.where(img_code == j)[0] for j in range(n_img)]
    rs = []
    for _ in range(k):
        h0 = np.zeros(img_code.size, bool)
        h1 = np.zeros(img_code.size, bool)
        for idx in per_img:
            if idx.size < 2:
                continue
            idx = idx.copy()
            rng.shuffle(idx)
            half = idx.size // 2
            h0[idx[:half]] = True
            h1[idx[half:2 * half]] = True
        s0 = np.bincount(img_code[h0], weights=rate[h0], minlength=n_img)
        c0 = np.bincount(img_code[h0], minlength=n_img)
        s1 = np.bincount(img_code[h1], weights=rate[h1], minlength=n_img)
        c1 = np.bincount(img_code[h1], minlength=n_img)
        m = (c0 > 0) & (c1 > 0)
        if m.sum() <= 10:
            continue
        a, b = s0[m] / c0[m], s1[m] / c1[m]
        if a.std() == 0 or b.std() == 0:
            continue
        r = np.corrcoef(a, b)[0, 1]
        if np.isfinite(r) and (1 + r) != 0:
            rs.append(2 * r / (1 + r))
    return float(np.nanmean(rs)) if rs else np.nan


def test_reliability_follows_the_recipe_unit_by_unit():
    rng = np.random.default_rng(3)
    n_img = 30
    image = np.concatenate([np.repeat(np.arange(n_img), 5), rng.integers(0, n_img, 17)])   # ragged repeats
    rng.shuffle(image)
    signal = rng.normal(size=(6, n_img))
    rates = rng.poisson(np.exp(signal[:, image] * 0.5 + 1)).astype(float)
    rates[4] = 3.0                                      # a constant unit: no split counts
    rates[5, image == 0] += 50                          # one outlying image
    got = splithalf_reliability(rates, image, seed=7)
    want = np.array([_recipe_reliability(r, image, n_img, seed=7) for r in rates])
    np.testing.assert_allclose(got, want, rtol=1e-12, atol=1e-12)
    assert np.isnan(got[4]) and np.isfinite(got[:4]).all()


def test_too_few_images_gives_nan_like_the_recipe():
    image = np.repeat(np.arange(10), 4)                 # 10 images: the recipe needs more than 10
    rates = np.random.default_rng(0).normal(size=(2, image.size))
    assert np.isnan(splithalf_reliability(rates, image, seed=0)).all()


def _population(rng, n_units, n_images, n_repeats, reliability):
    """Responses whose mean over ``n_repeats`` has the given reliability (signal variance / total variance)."""
    noise_sd = np.sqrt(n_repeats * (1 - reliability) / reliability)      # signal variance 1
    signal = rng.normal(size=(n_units, n_images))
    image = np.repeat(np.arange(n_images), n_repeats)
    return signal, image, signal[:, image] + noise_sd * rng.normal(size=(n_units, image.size))


@pytest.mark.parametrize("truth", [0.2, 0.5, 0.8])
def test_reliability_recovers_the_known_reliability(truth):
    rng = np.random.default_rng(int(truth * 10))
    _, image, trials = _population(rng, 200, 120, 8, truth)
    rel = splithalf_reliability(trials, image, seed=0)
    assert np.median(rel) == pytest.approx(truth, abs=0.04)


def test_ceiling_error_matches_the_spread_of_medians():
    rng = np.random.default_rng(5)
    medians, errors = [], []
    for _ in range(60):
        rel = rng.beta(4, 6, size=150)
        c = reliability_ceiling(rel, n_bootstraps=300)
        medians.append(c.value)
        errors.append(c.error)
    assert np.mean(errors) == pytest.approx(np.std(medians), rel=0.3)


@pytest.mark.parametrize("truth", [0.3, 0.6])
def test_a_perfect_predictor_scores_one_ceiled_and_a_null_one_zero(truth):
    """The true signal predicts the noisy mean response with r**2 = reliability: ceiled = 1 (IT-like noise too)."""
    rng = np.random.default_rng(11)
    n_units, n_images, n_latent = 60, 400, 6
    latent = rng.normal(size=(n_images, n_latent))
    weights = rng.normal(size=(n_latent, n_units))
    signal = (latent @ weights).T
    signal /= signal.std(1, keepdims=True)
    noise_sd = np.sqrt(8 * (1 - truth) / truth)
    image = np.repeat(np.arange(n_images), 8)
    trials = signal[:, image] + noise_sd * rng.normal(size=(n_units, image.size))
    mean = np.stack([trials[:, image == j].mean(1) for j in range(n_images)], axis=1).T     # images x units
    ceiling = reliability_ceiling(splithalf_reliability(trials, image, seed=0))
    perfect = cross_regressed_correlation(latent, mean)
    assert ceiled(perfect.raw, ceiling.value) == pytest.approx(1.0, abs=0.1)
    null = cross_regressed_correlation(rng.normal(size=(n_images, n_latent)), mean)
    assert abs(ceiled(null.raw, ceiling.value)) < 0.05


def test_spantime_shares_weights_and_scores_each_bin():
    rng = np.random.default_rng(2)
    source = rng.normal(size=(80, 6, 4))
    weights = rng.normal(size=(6, 9))
    target = np.einsum("sft,fn->snt", source, weights)
    target[:, :, 3] = rng.normal(size=(80, 9))          # the last bin is noise the shared map cannot predict
    score = cross_regressed_correlation(source, target)
    assert score.per_bin.shape == (4,) and score.per_neuroid.shape == (9, 4)
    assert np.all(score.per_bin[:3] > 0.6) and abs(score.per_bin[3]) < 0.3


def test_ceiled_and_bounded():
    assert ceiled(0.5, 0.5) == pytest.approx(0.5)
    assert bounded(1.3) == 1.0 and bounded(-0.2) == 0.0 and np.isnan(bounded(float("nan")))
    assert np.isnan(reliability_ceiling(np.array([np.nan])).value)


def test_a_pls_that_stops_at_its_iteration_limit_is_counted_not_printed(recwarn):
    """Still-image features against unrelated counts: scikit-learn's NIPALS stops at its limit. The score is computed
    as Brain-Score computes it; the splits are counted (the command says so once, naming the layer) and no bare
    'Maximum number of iterations reached' escapes."""
    rng = np.random.default_rng(0)
    source = np.repeat(rng.normal(size=(13, 30))[:, :, None], 10, axis=2)
    score = cross_regressed_correlation(source, rng.poisson(2, size=(13, 8, 10)).astype(float))
    assert score.unconverged == 10 and np.isfinite(score.raw)
    assert not [w for w in recwarn if "iterations" in str(w.message)]
    x = rng.normal(size=(60, 8))
    assert cross_regressed_correlation(x, x @ rng.normal(size=(8, 5))).unconverged == 0
