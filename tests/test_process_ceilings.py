"""The comparison's estimators against known truth (nwb_it.examples.known_reliability): ceilings, a perfect
predictor, the shuffled null's intervals, the RSA ceiling's interval. Full-size figures: scripts/check_estimators.py
(and the comparison guide); here the sizes the suite affords, the slow marks for the full ones."""
from __future__ import annotations

import numpy as np
import pytest

from nwb_it.examples.calibration import ceiling_accuracy, perfect_scores, rsa_ceiling_coverage, shuffled_null_rate
from nwb_it.examples.known_reliability import known_reliability_session
from nwb_it.process.ceilings import clip_ceilings


@pytest.mark.parametrize("reliability", [0.15, 0.37, 0.6])
def test_ceilings_within_ten_percent_of_the_truth(reliability):
    acc = ceiling_accuracy(reliability, n_units=40, replicates=6, n_boot=100)
    assert 0.9 <= acc["pooled"] <= 1.1 and 0.9 <= acc["by_bin"] <= 1.1, acc


@pytest.mark.slow
def test_ceilings_within_ten_percent_of_the_truth_at_low_reliability():
    acc = ceiling_accuracy(0.08, n_units=40, replicates=25, n_boot=100)
    assert 0.9 <= acc["pooled"] <= 1.1 and 0.9 <= acc["by_bin"] <= 1.1, acc


@pytest.mark.parametrize("reliability, tolerance", [(0.08, 0.2), (0.15, 0.1), (0.37, 0.1), (0.6, 0.1)])
def test_a_perfect_predictor_scores_one(reliability, tolerance):
    """The true rates score 1 pooled and per bin (they scored 1.45 per bin with per-fold ceilings)."""
    got = perfect_scores(reliability, n_units=40, replicates=12, n_boot=100)
    assert abs(got["pooled"] - 1) <= tolerance and abs(got["by_bin"] - 1) <= tolerance, got


def test_the_ceiling_interval_covers_the_truth_and_the_old_average_was_biased():
    """The bootstrap interval of a unit's ceiling holds its true reliability about 95 % of the time; the per-fold
    average of Spearman-Brown values (the old estimate) was far below the truth at this reliability."""
    from nwb_it.process.splits import half_means
    from nwb_it.process.stats import spearman_brown

    covered, old, truth_all = [], [], []
    for rep in range(4):
        truth = known_reliability_session(np.full(40, 0.3), seed=rep)
        ceil, _ = clip_ceilings(truth.aligned, np.ones(60, dtype=bool), seed=rep, n_boot=200)
        k = truth.peak_bin
        lo, hi = ceil.by_bin_ci[:, k, 0], ceil.by_bin_ci[:, k, 1]
        covered.append((lo <= truth.true_by_bin[:, k]) & (truth.true_by_bin[:, k] <= hi))
        ma, mb = half_means(truth.aligned, np.ones(60, dtype=bool), np.random.default_rng(rep), 20)
        fold = np.arange(60) % 10
        per_fold = [[spearman_brown(np.corrcoef(ma[s, u, fold == f, k], mb[s, u, fold == f, k])[0, 1])
                     for f in range(10)] for s in range(20) for u in range(40)]
        old.append(np.nanmedian(np.nanmean(per_fold, 1)))
        truth_all.append(np.median(truth.true_by_bin[:, k]))
    assert 0.88 <= np.mean(covered) <= 0.99, np.mean(covered)
    assert np.median(old) < 0.7 * np.median(truth_all), (old, truth_all)


def test_shuffled_activations_give_intervals_that_exclude_zero_rarely():
    rate, counted = shuffled_null_rate(replicates=8, n_boot=300)
    assert counted >= 12 and rate <= 0.05, (rate, counted)


def test_the_rsa_ceiling_interval_covers_the_ceiling():
    got = rsa_ceiling_coverage(replicates=10, n_boot=200)
    assert got["own"] >= 0.9 and got["mean"] >= 0.8 and got["with_ceiling"] >= 0.8, got
