"""The comparison's estimators measured against known truth (:mod:`nwb_it.examples.known_reliability`).

Each function runs replicate sessions and returns the figures the comparison guide quotes;
``scripts/check_estimators.py`` prints them at full size and the tests check them at a size
the suite affords.

* :func:`ceiling_accuracy`: the median estimated ceiling over the median true reliability,
  per bin (the peak bin) and pooled;
* :func:`perfect_scores`: what a perfect predictor (the true rates) scores — pooled, the median
  over units of r² / ceiling; per bin, the bin's score (median sign(r) r² / median ceiling);
* :func:`shuffled_null_rate`: with the activations shuffled across clips, the share of counted
  bins whose score interval excludes 0 (a calibrated 95 % interval: about 2.5 %);
* :func:`rsa_ceiling_coverage`: how often the RSA ceiling's interval holds the ceiling.

Examples
--------
>>> acc = ceiling_accuracy(0.37, n_units=10, replicates=1, n_boot=50)
>>> sorted(acc)
['by_bin', 'pooled']
"""
from __future__ import annotations

import warnings

import numpy as np

from ..core.numeric import nan_quiet
from ..core.params import CompareParams
from ..process.ceilings import clip_ceilings
from ..process.encoding import clip_folds, encoding_model
from ..process.rsa import neural_side
from ..process.scores import bin_scores, pooled_r
from .known_reliability import BIN, known_reliability_session


def ceiling_accuracy(reliability: float, n_units: int = 40, replicates: int = 10, n_boot: int = 200,
                     n_clips: int = 60, n_repeats: int = 8) -> dict[str, float]:
    """Median estimated ceiling / median true reliability, in the peak bin and pooled over cells."""
    est_bin, true_bin, est_pooled, true_pooled = [], [], [], []
    for rep in range(replicates):
        truth = known_reliability_session(np.full(n_units, reliability), n_clips, n_repeats, seed=rep)
        ceil, _ = clip_ceilings(truth.aligned, np.ones(n_clips, dtype=bool), seed=rep, n_boot=n_boot)
        est_bin.append(ceil.by_bin[:, truth.peak_bin])
        true_bin.append(truth.true_by_bin[:, truth.peak_bin])
        est_pooled.append(ceil.pooled)
        true_pooled.append(truth.true_pooled)
    with nan_quiet():
        return {"by_bin": float(np.nanmedian(np.concatenate(est_bin)) / np.median(np.concatenate(true_bin))),
                "pooled": float(np.nanmedian(np.concatenate(est_pooled)) / np.median(np.concatenate(true_pooled)))}


def perfect_scores(reliability: float, n_units: int = 40, replicates: int = 10, n_boot: int = 200,
                   n_clips: int = 60, n_repeats: int = 8) -> dict[str, float]:
    """A perfect predictor's scores, median over replicates: pooled and in the peak bin."""
    pooled, by_bin = [], []
    for rep in range(replicates):
        truth = known_reliability_session(np.full(n_units, reliability), n_clips, n_repeats, seed=rep)
        ceil, _ = clip_ceilings(truth.aligned, np.ones(n_clips, dtype=bool), seed=rep, n_boot=n_boot)
        measured = truth.aligned.mean_rates()
        fold = clip_folds(n_clips, 10, rep)              # scored as compare scores: its ten outer folds
        r = pooled_r(truth.rates, measured, fold)
        with nan_quiet():
            pooled.append(np.nanmedian(np.where(ceil.pooled > 0, r ** 2 / ceil.pooled, np.nan)))
        units = np.ones(n_units, dtype=bool)
        by_bin.append(bin_scores(pooled_r(truth.rates, measured, fold, by_bin=True), ceil.by_bin, units)
                      [truth.peak_bin])
    return {"pooled": float(np.nanmedian(pooled)), "by_bin": float(np.nanmedian(by_bin))}


def shuffled_null_rate(replicates: int = 6, n_units: int = 30, n_boot: int = 500, n_bins: int = 8,
                       n_clips: int = 60) -> tuple[float, int]:
    """(share of counted bins whose score interval excludes 0, bins counted) with the activations' clips shuffled."""
    params = CompareParams(window=(0.0, n_bins * BIN), lags=(0.0, BIN), n_pcs=6, units="all", n_boot=n_boot,
                           n_perm_rsa=10, folds=10)
    excluded, counted = 0, 0
    for rep in range(replicates):
        truth = known_reliability_session(np.random.default_rng(rep).uniform(0.3, 0.7, n_units), n_clips,
                                          n_bins=n_bins, seed=100 + rep)
        acts = truth.activations
        order = np.random.default_rng([rep, 1]).permutation(n_clips)
        per_clip = acts.layers["last"].reshape(n_clips, n_bins, -1)[order].reshape(n_clips * n_bins, -1)
        shuffled = type(acts)(**{**acts.__dict__, "layers": {"last": per_clip}})
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            t = encoding_model(truth.aligned, shuffled, params).time
        ok = t.included.any(0)
        excluded += int(((t.median_ci[:, 0] > 0) | (t.median_ci[:, 1] < 0))[ok].sum())
        counted += int(ok.sum())
    return (excluded / counted if counted else float("nan")), counted


def rsa_ceiling_coverage(replicates: int = 10, n_units: int = 40, n_repeats: int = 8, n_boot: int = 200
                         ) -> dict[str, float]:
    """How often the RSA ceiling's 95 % interval holds the session's own ceiling and the replicates' mean one,
    over the replicates that have a ceiling (``with_ceiling``: their share; the others' halves did not agree
    reliably, and say so)."""
    params = CompareParams(window=(0.0, 8 * BIN), lags=(0.0,), units="all", n_boot=n_boot, n_perm_rsa=10,
                           response_window=(0.05, 0.3))
    ceilings, intervals = [], []
    for rep in range(replicates):
        truth = known_reliability_session(np.random.default_rng(rep).uniform(0.3, 0.7, n_units),
                                          n_repeats=n_repeats, seed=200 + rep)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            side = neural_side(truth.aligned, truth.activations, params)
        ceilings.append(side.ceiling)
        intervals.append(side.ceiling_ci)
    c, ci = np.asarray(ceilings), np.asarray(intervals)
    has = np.isfinite(c)
    mean = float(np.nanmean(c))
    return {"own": float(np.mean(((ci[:, 0] <= c) & (c <= ci[:, 1]))[has])),
            "mean": float(np.mean(((ci[:, 0] <= mean) & (mean <= ci[:, 1]))[has])), "ceiling": mean,
            "with_ceiling": float(has.mean())}
