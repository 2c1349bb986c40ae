"""The comparison's statistics on synthetic sessions with a known truth (issue: the temporal comparison)."""
from __future__ import annotations

import numpy as np
import pytest

from nwb_it.core.params import CompareParams
from nwb_it.process.encoding import encoding_model
from nwb_it.process.rsa import rsa

from .synthetic import BIN, activations_from_features, aligned_from_rates

N_CLIPS, N_BINS, DIM = 60, 8, 6
PARAMS = CompareParams(window=(0.0, N_BINS * BIN), lags=(0.0,), n_pcs=DIM, units="all", n_boot=200, n_perm_rsa=200)


@pytest.fixture(scope="module")
def features():
    return np.random.default_rng(1).normal(size=(N_CLIPS, N_BINS, DIM))


def _drive(features: np.ndarray, seed: int) -> np.ndarray:
    """A unit's model-driven rate (clips, bins): a read-out of the features, 5..45 spikes/s."""
    w = np.random.default_rng(seed).normal(size=DIM)
    x = features @ w
    return 25 + 20 * x / np.abs(x).max()


def test_units_following_the_model_late_score_late_and_early_ones_early(features):
    late, early = np.arange(N_BINS) >= N_BINS // 2, np.arange(N_BINS) < N_BINS // 2
    rates = []
    for u in range(24):
        drive = _drive(features, u)
        phase = late if u < 12 else early
        rates.append(np.where(phase[None, :], drive, 25.0))            # flat and clip-blind outside its phase
    aligned = aligned_from_rates(np.stack(rates), np.full(N_CLIPS, 8), seed=2)
    enc = encoding_model(aligned, activations_from_features(features), PARAMS)
    t = enc.time
    late_units, early_units = np.arange(24) < 12, np.arange(24) >= 12
    assert np.nanmedian(t.r[late_units][:, late]) > 0.4 and np.nanmedian(t.r[early_units][:, early]) > 0.4
    from nwb_it.process.scores import bin_scores

    late_score, early_score = (bin_scores(t.r, t.ceiling, u) for u in (late_units, early_units))
    assert np.all(late_score[late] > 0.7) and np.all(early_score[early] > 0.7), (late_score, early_score)
    assert abs(np.nanmedian(t.r[late_units][:, early])) < 0.15 and abs(np.nanmedian(t.r[early_units][:, late])) < 0.15
    assert np.nanmedian(t.ceiling[late_units][:, early]) < 0.1, "no explainable variance outside a unit's phase"
    assert t.included.any(0).mean() >= 0.5, "bins with explainable variance in half the units mostly count"
    medians = t.medians()["median"]
    counted = t.included.any(0)
    assert np.all(np.isfinite(medians[counted])) and np.all(np.isnan(medians[~counted]))


def test_pure_time_course_units_onset_only_near_one_and_clip_selective_flat_units_near_zero(features):
    t = (np.arange(N_BINS) + 0.5) * BIN
    course = 5 + 60 * np.exp(-((t - 0.12) / 0.05) ** 2)
    time_only = np.broadcast_to(course, (12, N_CLIPS, N_BINS))
    clip_rates = np.random.default_rng(3).gamma(3.0, 8.0, (12, N_CLIPS))
    flat = np.broadcast_to(clip_rates[:, :, None], (12, N_CLIPS, N_BINS))
    aligned = aligned_from_rates(np.concatenate([time_only, flat]), np.full(N_CLIPS, 8), seed=4)
    enc = encoding_model(aligned, activations_from_features(features), PARAMS)
    onset = enc.normalized_onset_only
    assert 0.85 <= np.nanmedian(onset[:12]) <= 1.15, onset[:12]
    assert np.nanmedian(onset[12:]) <= 0.02 and np.nanmax(onset[12:]) <= 0.1, onset[12:]


def test_scores_do_not_depend_on_the_activations_scale(features):
    rates = np.stack([_drive(features, u) for u in range(8)])
    aligned = aligned_from_rates(rates, np.full(N_CLIPS, 6), seed=5)
    base = encoding_model(aligned, activations_from_features(features), PARAMS)
    for scale in (1000.0, 0.001):
        other = encoding_model(aligned, activations_from_features(features * scale), PARAMS)
        np.testing.assert_allclose(other.r, base.r, atol=1e-6)
        np.testing.assert_allclose(other.time.r, base.time.r, atol=1e-6)


def test_scores_do_not_depend_on_the_scale_of_a_rank_deficient_layer(features):
    """A 40-wide layer of rank 3 with 20 PCs asked for: the surplus components are rounding and are dropped (as
    full-weight regressors they moved per-bin r by up to 0.63 when the layer was scaled)."""
    wide = features[..., :3] @ np.random.default_rng(21).normal(size=(3, 40))              # rank 3
    rates = np.stack([_drive(features, u) for u in range(8)])
    aligned = aligned_from_rates(rates, np.full(N_CLIPS, 6), seed=5)
    params = CompareParams(**{**PARAMS.__dict__, "n_pcs": 20})
    base = encoding_model(aligned, activations_from_features(wide.astype(np.float32)), params)
    for scale in (1000.0, 0.001):
        other = encoding_model(aligned, activations_from_features((wide * scale).astype(np.float32)), params)
        np.testing.assert_allclose(other.r, base.r, atol=1e-5)
        np.testing.assert_allclose(other.time.r, base.time.r, atol=1e-5)


def test_himalaya_numpy_and_torch_backends_agree(features):
    pytest.importorskip("torch")
    rates = np.stack([_drive(features, u) for u in range(6)])
    aligned = aligned_from_rates(rates, np.full(N_CLIPS, 6), seed=6)
    acts = activations_from_features(features)
    a = encoding_model(aligned, acts, PARAMS)
    b = encoding_model(aligned, acts, CompareParams(**{**PARAMS.__dict__, "backend": "torch"}))
    np.testing.assert_allclose(a.r, b.r, atol=1e-6)
    np.testing.assert_allclose(a.predicted, b.predicted, rtol=1e-6, atol=1e-6)


def test_himalaya_backend_is_restored():
    from himalaya.backend import get_backend, set_backend

    from nwb_it.process.ridge import himalaya_backend

    set_backend("numpy")
    with himalaya_backend("torch"):
        assert get_backend().name == "torch"
    assert get_backend().name == "numpy"


def _noise_only_unequal_repeats():
    repeats = np.where(np.arange(N_CLIPS) % 2 == 0, 4, 10)
    baseline = np.random.default_rng(10).gamma(3.0, 5.0, 40)             # units differ, clips do not
    rates = np.broadcast_to(baseline[:, None, None], (40, N_CLIPS, N_BINS)).copy()
    aligned = aligned_from_rates(rates, repeats, seed=7)
    # a model whose clips are the more distinct the fewer repeats they had (what noise does to repeat means)
    rng = np.random.default_rng(8)
    common, direction = rng.normal(size=(1, 1, DIM)), rng.normal(size=(N_CLIPS, 1, DIM))
    features = np.broadcast_to(common + 2 * direction / np.sqrt(repeats)[:, None, None], (N_CLIPS, N_BINS, DIM))
    return aligned, activations_from_features(np.ascontiguousarray(features))


def test_rsa_on_noise_with_unequal_repeats_finds_nothing():
    aligned, acts = _noise_only_unequal_repeats()
    old = rsa(aligned, acts, CompareParams(**{**PARAMS.__dict__, "rsa_distance": "correlation"}))
    assert old.rho > 0.1 and old.ceiling > 0.3, "the old 1 - Pearson RDM is biased by unequal repeats (replaced)"
    for distance in ("crossnobis", "poisson"):
        res = rsa(aligned, acts, CompareParams(**{**PARAMS.__dict__, "rsa_distance": distance}))
        assert abs(res.rho) < 0.1, (distance, res.rho)
        assert res.ceiling_ci[0] <= 0 <= res.ceiling_ci[1], (distance, res.ceiling_ci)
        assert res.p_value > 0.05


def test_rsa_of_a_true_model_has_a_small_p_and_an_interval_around_rho(features):
    rates = np.stack([_drive(features, u) for u in range(30)])
    aligned = aligned_from_rates(rates, np.full(N_CLIPS, 16), seed=9)
    res = rsa(aligned, activations_from_features(features), PARAMS)
    assert res.p_value < 0.01 and res.rho_ci[0] < res.rho < res.rho_ci[1]
    assert 0.8 <= res.normalized <= 1.2, (res.rho_halves, res.ceiling)


def test_split_selection_ceilings_match_an_independent_replicate():
    """Units chosen on half A and measured on half B have the ceilings an independent replicate gives them;
    chosen and measured on the same half, their ceilings are inflated (double dipping)."""
    from nwb_it.core.params import ReliabilityParams
    from nwb_it.process.ceilings import clip_ceilings
    from nwb_it.process.selection import split_selection

    rng = np.random.default_rng(11)
    strength = rng.uniform(0, 0.6, 200)                      # many units near the selection threshold
    rates = 12 + 8 * strength[:, None, None] * rng.normal(size=(200, N_CLIPS, 1))
    rates = np.clip(np.broadcast_to(rates, (200, N_CLIPS, N_BINS)), 0.5, None)
    session, replicate = (aligned_from_rates(rates, np.full(N_CLIPS, 8), seed=s) for s in (12, 13))
    params = ReliabilityParams(n_perm=20, window=(0.0, N_BINS * BIN))
    rows, scoring, _ = split_selection(session, session, params, seed=0)
    assert 10 < rows.size < 190, rows.size

    def ceilings(aligned):
        return clip_ceilings(aligned, np.ones(len(aligned.clip_names), dtype=bool), seed=0, n_boot=10)[0].pooled
    honest = ceilings(scoring)
    # the replicate, halved the same way, for the same units
    _, replicate_half, _ = split_selection(replicate.select_units(rows), replicate.select_units(rows), params, seed=0)
    independent = ceilings(replicate.select_units(rows).select_presentations(np.isin(
        replicate.rows, replicate_half.rows)))
    assert abs(np.nanmean(honest) - np.nanmean(independent)) < 0.05, (np.nanmean(honest), np.nanmean(independent))
    rank = scoring.rows                                       # the selection half, scored: what double dipping does
    dipped = ceilings(session.select_units(rows).select_presentations(~np.isin(session.rows, rank)))
    assert np.nanmean(dipped) > np.nanmean(independent) + 0.03, (np.nanmean(dipped), np.nanmean(independent))


def test_ridge_equals_himalayas_own_solver():
    """The per-target penalty search gives himalaya's solve_ridge_cv_svd predictions and penalties."""
    from nwb_it.process.ridge import himalaya_ridge_cv_predict, ridge_cv_predict

    rng = np.random.default_rng(14)
    x = rng.normal(size=(400, 30)) * rng.uniform(0.01, 100, 30)          # wildly different feature scales
    y = x @ rng.normal(size=(30, 12)) / 50 + rng.normal(size=(400, 12)) * rng.uniform(0.1, 10, 12)
    groups = np.repeat(np.arange(50), 8)
    ours, ours_alpha = ridge_cv_predict(x[:320], y[:320], x[320:], groups[:320])
    theirs, their_alpha = himalaya_ridge_cv_predict(x[:320], y[:320], x[320:], groups[:320])
    np.testing.assert_allclose(ours, theirs, rtol=1e-8, atol=1e-8)
    np.testing.assert_allclose(ours_alpha, their_alpha)
    assert np.unique(ours_alpha).size > 1, "penalties differ between targets"


def test_layer_independent_parts_computed_once_give_the_numbers_of_each_layer_alone(features):
    """compare computes the ceilings and the neural RDMs once for all layers: the same numbers as layer by layer."""
    import dataclasses

    from nwb_it.process.encoding import encoding_ceilings
    from nwb_it.process.rsa import neural_side

    rates = np.stack([_drive(features, u) for u in range(8)])
    aligned = aligned_from_rates(rates, np.full(N_CLIPS, 6), seed=5)
    acts = activations_from_features(features)
    acts = dataclasses.replace(acts, layers={"a": acts.layers["last"], "b": acts.layers["last"] ** 2})
    ceilings, neural = encoding_ceilings(aligned, acts, PARAMS), neural_side(aligned, acts, PARAMS)
    for layer in ("a", "b"):
        params = dataclasses.replace(PARAMS, layer=layer)
        alone, shared = encoding_model(aligned, acts, params), encoding_model(aligned, acts, params, ceilings)
        for name in ("r", "ceiling", "median_ci"):
            np.testing.assert_array_equal(getattr(alone, name), getattr(shared, name))
        alone, shared = rsa(aligned, acts, params), rsa(aligned, acts, params, neural)
        for name in ("rho", "ceiling", "rho_ci", "ceiling_ci", "p_value", "rho_halves", "ceiling_lower"):
            np.testing.assert_array_equal(getattr(alone, name), getattr(shared, name))


def test_no_unit_over_the_ceiling_rule_is_an_empty_result_with_a_warning(features):
    """A noisy session where no unit passes min_ceiling: NaN medians and a warning, not ZeroDivisionError."""
    baseline = np.random.default_rng(11).gamma(3.0, 5.0, 20)
    rates = np.broadcast_to(baseline[:, None, None], (20, N_CLIPS, N_BINS)).copy()
    aligned = aligned_from_rates(rates, np.full(N_CLIPS, 4), seed=12)
    params = CompareParams(**{**PARAMS.__dict__, "min_ceiling": 0.99})
    with pytest.warns(UserWarning, match="no unit passes"):
        enc = encoding_model(aligned, activations_from_features(features), params)
    assert not enc.included.any() and np.isnan(enc.median_ci).all()
    assert enc.r.shape == (20,) and np.all(np.isfinite(enc.r))


def test_an_rsa_without_a_statistic_has_no_p_value(features):
    """A neural RDM of silence (no spike in the response window): rho NaN, p NaN (was 1/(1+n), 'significant')."""
    rates = np.zeros((10, N_CLIPS, N_BINS))
    aligned = aligned_from_rates(rates, np.full(N_CLIPS, 4), seed=13)
    with pytest.warns(UserWarning, match="rho is NaN"):
        res = rsa(aligned, activations_from_features(features), PARAMS)
    assert np.isnan(res.rho) and np.isnan(res.p_value)


def test_a_response_window_outside_the_window_is_refused():
    from nwb_it.core.errors import InvalidParameter

    with pytest.raises(InvalidParameter, match="holds no bin"):
        CompareParams(window=(0.3, 0.6))
    with pytest.raises(InvalidParameter, match="start must be before end"):
        CompareParams(response_window=(0.2, 0.1))
