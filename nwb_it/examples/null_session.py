"""Null sessions: binned counts of units whose rates have a time course but do not depend on the clip.

No unit of such a session is responsive; calibration tests and benchmarks use them.
"""
from __future__ import annotations

import numpy as np

from ..core.recording import AlignedCounts


def null_aligned_counts(n_units: int = 300, n_clips: int = 60, n_repeats: int = 6, seed: int = 1) -> AlignedCounts:
    """Poisson counts, 7 bins of 50 ms, ragged repeats (``n_repeats`` minus 0-2, at least 2).

    Examples
    --------
    >>> aligned = null_aligned_counts(5, 4, 3)
    >>> aligned.n_units, aligned.counts.shape[-1], bool(aligned.mask.sum(1).min() >= 2)
    (5, 7, True)
    """
    rng = np.random.default_rng(seed)
    reps = np.maximum(n_repeats - rng.integers(0, 3, n_clips), 2)
    mask = np.arange(n_repeats)[None, :] < reps[:, None]
    rate = rng.uniform(0.2, 3, (n_units, 1, 1, 7))
    counts = rng.poisson(np.broadcast_to(rate, (n_units, n_clips, n_repeats, 7))) * mask[None, :, :, None]
    return AlignedCounts.from_dense(counts, mask, np.linspace(-0.05, 0.3, 8), np.arange(n_units),
                                    [str(u) for u in range(n_units)], [str(c) for c in range(n_clips)],
                                    np.arange(n_clips))
