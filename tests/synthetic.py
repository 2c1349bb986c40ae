"""Synthetic sessions with a known truth for the comparison's statistics (rates in, Poisson counts out)."""
from __future__ import annotations

import numpy as np

from nwb_it.core.results import Activations, AlignedCounts

BIN = 0.05


def aligned_from_rates(rates: np.ndarray, repeats: np.ndarray, seed: int = 0, bin_size: float = BIN
                       ) -> AlignedCounts:
    """Poisson counts around ``rates`` (units, clips, bins; spikes/s), ``repeats[c]`` presentations of clip c."""
    n_units, n_clips, n_bins = rates.shape
    rng = np.random.default_rng(seed)
    mask = np.arange(int(repeats.max()))[None, :] < np.asarray(repeats)[:, None]
    counts = rng.poisson(np.broadcast_to(rates[:, :, None, :] * bin_size, (n_units, n_clips, mask.shape[1], n_bins)))
    return AlignedCounts.from_dense(counts, mask, np.arange(n_bins + 1) * bin_size, np.arange(n_units),
                                    [f"u{u}" for u in range(n_units)], [f"c{c}" for c in range(n_clips)],
                                    np.arange(n_clips))


def activations_from_features(features: np.ndarray, bin_size: float = BIN) -> Activations:
    """One window per (clip, bin) whose last frame starts at the bin's start: ``features`` (clips, bins, dim)."""
    n_clips, n_bins, _ = features.shape
    return Activations(clip_keys=[f"c{c}" for c in range(n_clips)],
                       clip_of_window=np.repeat(np.arange(n_clips), n_bins),
                       window=np.tile(np.arange(n_bins), n_clips), last_frame=np.tile(np.arange(n_bins), n_clips),
                       layers={"last": features.reshape(n_clips * n_bins, -1).astype(np.float64)},
                       provenance={"fps": 1.0 / bin_size, "pad": 0}, stimulus_names=[f"c{c}" for c in range(n_clips)],
                       stimulus_index=np.arange(n_clips))
