"""Firing-rate maps for the heatmaps: population time courses and per-unit normalization."""
from __future__ import annotations

import numpy as np

from ..core.errors import NwbItError
from ..core.numeric import nan_quiet
from ..core.params import NORMALIZATIONS
from ..core.recording import AlignedCounts


def normalize(x: np.ndarray, how: str, axis: int | None = None) -> np.ndarray:
    """z-score or min-max scale ``x`` over ``axis`` (NaN-aware); 'none' returns it unchanged.

    Examples
    --------
    >>> normalize(np.array([1.0, 2.0, 3.0]), "minmax")
    array([0. , 0.5, 1. ])
    """
    if how not in NORMALIZATIONS:
        raise NwbItError(f"unknown normalization {how!r} (use {', '.join(NORMALIZATIONS)})")
    if how == "none":
        return x
    with nan_quiet():
        if how == "zscore":
            out = (x - np.nanmean(x, axis=axis, keepdims=True)) / np.nanstd(x, axis=axis, keepdims=True)
        else:
            lo = np.nanmin(x, axis=axis, keepdims=True)
            out = (x - lo) / (np.nanmax(x, axis=axis, keepdims=True) - lo)
    return np.nan_to_num(out, nan=0.0, posinf=0.0, neginf=0.0)


def population_rates(aligned: AlignedCounts) -> tuple[np.ndarray, np.ndarray]:
    """Each unit's rate averaged over clips and repeats (units x bins), and the rows sorted by peak latency."""
    with nan_quiet():
        rates = np.nanmean(aligned.mean_rates(), axis=1)
    order = np.argsort(np.argmax(np.nan_to_num(rates), axis=1), kind="stable")
    return rates, order
