"""Which clips to record next: where two models' predicted IT responses diverge most relative to the units' noise.

Each model is an encoding model fitted on the clips already recorded (its features' principal
components -> each unit's mean count, ridge with a penalty per unit, :func:`nwb_it.process.ridge
.ridge_cv_predict`), predicting every candidate clip. A candidate's **divergence** is
``sum_u ((a_u - b_u) / sd_u)**2``: the two predictions' difference in units of each unit's
single-presentation noise (its pooled within-clip standard deviation).

**The test the design serves.** With ``n`` presentations of every chosen clip, the lab asks which model
predicts the mean responses better (smaller summed squared error in noise units). If model A is
right and the noise Gaussian, the statistic ``S = sum((y - b)**2 - (y - a)**2) / (sd**2 / n)`` is
normal with mean ``n D`` and variance ``4 n D`` (``D`` the chosen clips' summed divergence), so A
wins with probability ``Phi(sqrt(n D) / 2)`` and a power ``p`` needs ``n >= (2 z_p)**2 / D`` repeats
of each clip (:func:`repeats_for_power`).

**The choice.** ``D`` adds over clips, so the ``N`` clips of largest divergence maximise it: the greedy
pick (:func:`choose_clips`) is exact for this criterion, and what a D-optimal design of the one
contrast between the models reduces to. It ignores the error of the fitted predictions themselves;
:func:`identification_power` measures the power reached by simulation, where the truth is known.
"""
from __future__ import annotations

import math

import numpy as np
from scipy.stats import norm

from ..core.benchmark import DesignResult
from ..core.numeric import nan_quiet
from .ridge import ridge_cv_predict
from .stats import group_sums, pca


def presentation_noise(counts: np.ndarray, clip_of: np.ndarray) -> np.ndarray:
    """Each unit's single-presentation noise sd: the pooled within-clip standard deviation of its counts.

    ``counts`` is (units, presentations); clips with one presentation add nothing.

    Examples
    --------
    >>> presentation_noise(np.array([[1.0, 3.0, 10.0, 12.0]]), np.array([0, 0, 1, 1]))
    array([1.41421356])
    """
    counts = np.asarray(counts, dtype=np.float64)
    _, clip = np.unique(clip_of, return_inverse=True)
    sums, size = group_sums(counts.T, clip, int(clip.max()) + 1)
    means = sums.T / np.maximum(size, 1)
    squares = ((counts - means[:, clip]) ** 2).sum(1)
    dof = (size - 1).clip(min=0).sum()
    with nan_quiet():
        return np.sqrt(squares / dof) if dof > 0 else np.full(counts.shape[0], np.nan)


def predicted_responses(shown: np.ndarray, responses: np.ndarray, candidates: np.ndarray, n_pcs: int = 20
                        ) -> np.ndarray:
    """A model's encoding model, fitted on the recorded clips, predicting every candidate: (candidates, units).

    ``shown`` (clips, features) and ``candidates`` (candidates, features) are one model's features; the
    principal components are fitted on the recorded clips only.
    """
    stacked = np.vstack([shown, candidates]).astype(np.float64)
    fit_rows = np.arange(shown.shape[0])
    scores, _ = pca(stacked, min(n_pcs, shown.shape[0] - 2, shown.shape[1]), fit_rows=fit_rows)
    predicted, _ = ridge_cv_predict(scores[fit_rows], np.asarray(responses, dtype=np.float64),
                                    scores[shown.shape[0]:], groups=fit_rows)
    return predicted


def divergence(a: np.ndarray, b: np.ndarray, noise_sd: np.ndarray) -> np.ndarray:
    """Per candidate: ``sum_u ((a - b) / sd_u)**2`` over units with a finite, positive noise sd."""
    ok = np.isfinite(noise_sd) & (noise_sd > 0)
    return (((a[:, ok] - b[:, ok]) / noise_sd[ok]) ** 2).sum(1)


def repeats_for_power(total_divergence: float, power: float) -> int:
    """Presentations of each chosen clip for the right model to win with probability ``power``.

    Examples
    --------
    >>> repeats_for_power(2.0, 0.8)      # (2 * 0.8416)**2 / 2 = 1.42 -> 2
    2
    """
    if not total_divergence > 0:
        raise ValueError("the models predict the same responses on these clips: no number of repeats tells them "
                         "apart")
    return max(1, math.ceil((2 * norm.ppf(power)) ** 2 / total_divergence))


def choose_clips(div: np.ndarray, n_clips: int) -> np.ndarray:
    """The clips to pick, in the order picked.

    ``div`` is one divergence per candidate (two models: the ``n_clips`` largest, exact for the summed
    divergence), or one row per pair of models (more models: greedy maximin, each step the candidate that
    most raises the smallest pair's summed divergence, ties to the larger total: every pair must be told
    apart, and the hardest pair sets the repeats).

    Examples
    --------
    >>> div = np.array([[5.0, 4.0, 0.0], [0.0, 0.1, 3.0]])    # 2 pairs x 3 candidates
    >>> choose_clips(div, 2)            # pairs' sums (4, 3.1); the two largest totals, 0 and 1, would leave (9, 0.1)
    array([1, 2])
    """
    div = np.atleast_2d(np.asarray(div, dtype=np.float64))
    n = min(n_clips, div.shape[1])
    if div.shape[0] == 1:
        return np.argsort(-div[0], kind="stable")[:n]
    total, free, chosen = np.zeros(div.shape[0]), np.ones(div.shape[1], bool), []
    for _ in range(n):
        after = total[:, None] + div
        worst, summed = after.min(0), after.sum(0)
        worst[~free] = -np.inf
        best = np.flatnonzero(worst == worst.max())
        pick = int(best[np.argmax(summed[best])])
        chosen.append(pick)
        total += div[:, pick]
        free[pick] = False
    return np.array(chosen, dtype=np.int64)


def design_clips(div: np.ndarray, candidates: list[str], n_clips: int, power: float, models: tuple[str, ...],
                 n_units: int, seed: int = 0, n_random: int = 2000) -> tuple[DesignResult, np.ndarray]:
    """The chosen clips and their repeats, with ``n_random`` random sets of as many clips for comparison (their
    divergences are returned too: the hardest pair's sum over the set).

    ``div``: one divergence per candidate (two models) or one row per pair of ``models`` (``itertools.combinations``
    order); the repeats are those of the hardest pair over the chosen clips.
    """
    pairs = np.atleast_2d(np.asarray(div, dtype=np.float64))
    chosen = choose_clips(pairs, n_clips)
    rng = np.random.default_rng(seed)
    keys = rng.random((n_random, pairs.shape[1]))
    random_sets = np.argsort(keys, axis=1)[:, :chosen.size]          # n_random draws without replacement
    random_div = pairs[:, random_sets].sum(2).min(0)
    with nan_quiet():
        random_repeats = float(np.mean(np.ceil((2 * norm.ppf(power)) ** 2 / random_div).clip(min=1)))
    result = DesignResult(candidates=list(candidates), pairwise=pairs, chosen=chosen,
                          repeats=repeats_for_power(float(pairs[:, chosen].sum(1).min()), power),
                          random_repeats=random_repeats, power=power, models=tuple(models), n_units=n_units)
    return result, random_div


def identification_power(truth: np.ndarray, a: np.ndarray, b: np.ndarray, noise_sd: np.ndarray, clips: np.ndarray,
                         repeats: int, rng: np.random.Generator, n_sim: int = 2000) -> float:
    """By simulation: how often model ``a`` predicts better than ``b`` when the brain's mean responses are ``truth``
    (candidates x units) and each clip is shown ``repeats`` times with Gaussian noise of sd ``noise_sd``."""
    ok = np.isfinite(noise_sd) & (noise_sd > 0)
    sd = noise_sd[ok]
    t, pa, pb = truth[clips][:, ok] / sd, a[clips][:, ok] / sd, b[clips][:, ok] / sd
    y = t[None] + rng.standard_normal((n_sim, *t.shape)) / np.sqrt(repeats)
    err_a = ((y - pa[None]) ** 2).sum(axis=(1, 2))
    err_b = ((y - pb[None]) ** 2).sum(axis=(1, 2))
    return float(np.mean(err_a < err_b))


def presentations_for_power(truth: np.ndarray, a: np.ndarray, b: np.ndarray, noise_sd: np.ndarray,
                            clips: np.ndarray, power: float, rng: np.random.Generator, n_sim: int = 2000,
                            max_repeats: int = 4096) -> int:
    """Fewest presentations (repeats x clips) at which :func:`identification_power` reaches ``power``: doubling, then
    bisection on the repeats (``max_repeats`` x clips + 1 where it never does)."""
    def enough(n: int) -> bool:
        return identification_power(truth, a, b, noise_sd, clips, n, rng, n_sim) >= power

    hi = 1
    while not enough(hi):
        if hi >= max_repeats:
            return max_repeats * clips.size + 1
        hi *= 2
    lo = hi // 2
    while hi - lo > 1:
        mid = (lo + hi) // 2
        lo, hi = (lo, mid) if enough(mid) else (mid, hi)
    return hi * clips.size
