"""Sessions whose units' reliability is known: the ground truth the comparison's estimators are tested against.

Unit ``u`` fires at ``rate_u(clip, t) = 10 + 20 e(t) + g_u e(t) d_u(clip, t)`` spikes/s: ``e(t)`` a
response envelope that starts 80 ms after onset and peaks at 120 ms, ``d_u`` an exact linear
read-out of a random layer (``features``, clips x bins x width) 50 ms earlier, standardised, and
``g_u`` the gain that gives the unit the reliability asked for in the peak bin. Counts are
Poisson around the rates, ``n_repeats`` presentations of every clip.

The truth is computed from the rates themselves: a bin's reliability is the share of the
variance over clips of the repeat-averaged count that the rates explain,
``var_clips(λΔ) / (var_clips(λΔ) + mean_clips(λΔ) / repeats)`` (pooled: over every (clip, bin)
cell). It is the r² a perfect model (the rates) reaches in expectation, and what a ceiling
estimates.

Examples
--------
>>> truth = known_reliability_session([0.2, 0.5], n_clips=20, seed=0)
>>> truth.aligned.n_units, truth.true_by_bin.shape
(2, (2, 8))
>>> [round(float(x), 2) for x in truth.true_by_bin[:, truth.peak_bin]]
[0.2, 0.5]
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.recording import AlignedCounts
from ..core.results import Activations

BIN = 0.05
LAG_BINS = 1                    # 50 ms at 50 ms bins


@dataclass(frozen=True)
class KnownReliability:
    """A synthetic session and its truth (see the module doc)."""

    aligned: AlignedCounts
    rates: np.ndarray           # (units, clips, bins) spikes/s
    activations: Activations    # the layer the units read out, one window per (clip, bin)
    true_pooled: np.ndarray     # (units,)
    true_by_bin: np.ndarray     # (units, bins)
    peak_bin: int


def envelope(n_bins: int, bin_size: float = BIN) -> np.ndarray:
    """The response envelope: 0 before 80 ms, peaking at 120 ms."""
    t = (np.arange(n_bins) + 0.5) * bin_size
    return np.exp(-((t - 0.12) / 0.08) ** 2) * (t >= 0.08)


def _reliability(lam: np.ndarray, repeats: int, axis) -> np.ndarray:
    signal = lam.var(axis)
    return signal / (signal + lam.mean(axis) / repeats)


def _gain(shape: np.ndarray, env: np.ndarray, peak: int, target: float, repeats: int) -> float:
    """The gain that gives the peak bin the target reliability (bisection: reliability grows with the gain)."""
    lo, hi = 0.0, 1000.0
    for _ in range(60):
        mid = (lo + hi) / 2
        lam = np.maximum(10 + 20 * env + mid * shape, 0)[:, peak] * BIN
        lo, hi = (mid, hi) if _reliability(lam, repeats, 0) < target else (lo, mid)
    return (lo + hi) / 2


def known_reliability_session(targets, n_clips: int = 60, n_repeats: int = 8, n_bins: int = 8, width: int = 6,
                              seed: int = 0) -> KnownReliability:
    """Units reading out one random layer, each with the peak-bin reliability of ``targets``."""
    rng = np.random.default_rng(seed)
    features = rng.normal(size=(n_clips, n_bins, width))
    env = envelope(n_bins)
    peak = int(np.argmax(env))
    rates = []
    for target in targets:
        drive = np.zeros((n_clips, n_bins))
        drive[:, LAG_BINS:] = features[:, :-LAG_BINS] @ rng.normal(size=width)
        shape = env[None, :] * (drive - drive.mean()) / drive.std()
        rates.append(np.maximum(10 + 20 * env[None, :] + _gain(shape, env, peak, target, n_repeats) * shape, 0))
    rates = np.stack(rates)
    lam = rates * BIN
    counts = rng.poisson(np.broadcast_to(lam[:, :, None, :], (len(rates), n_clips, n_repeats, n_bins)))
    mask = np.ones((n_clips, n_repeats), dtype=bool)
    names = [f"c{c}" for c in range(n_clips)]
    aligned = AlignedCounts.from_dense(counts, mask, np.arange(n_bins + 1) * BIN, np.arange(len(rates)),
                                       [f"u{u}" for u in range(len(rates))], names, np.arange(n_clips))
    acts = Activations(clip_keys=names, clip_of_window=np.repeat(np.arange(n_clips), n_bins),
                       window=np.tile(np.arange(n_bins), n_clips), last_frame=np.tile(np.arange(n_bins), n_clips),
                       layers={"last": features.reshape(n_clips * n_bins, -1).astype(np.float32)},
                       provenance={"fps": 1.0 / BIN, "pad": 0}, stimulus_names=names,
                       stimulus_index=np.arange(n_clips))
    flat = lam.reshape(len(rates), -1)
    return KnownReliability(aligned, rates, acts, _reliability(flat, n_repeats, 1), _reliability(lam, n_repeats, 1),
                            peak)
