"""Laying onset-aligned presentations onto one session clock.

The source has no absolute clock: spike times are relative to clip onset. Each
presentation gets a window ``[onset + lo, onset + hi]`` where ``lo``/``hi`` are the
session's earliest/latest relative spike time (at least -0.1 s / 0.4 s) rounded
outwards to 0.1 s. Presentations follow each other in trial order with the
same stride ``hi - lo + gap`` (gap 1 s), the first window starting at t = 0:

    onset_i = -lo + i * (hi - lo + gap)

so windows never overlap and each holds all of its presentation's spikes.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..core.session import Session

GAP_S = 1.0
MIN_WINDOW = (-0.1, 0.4)


@dataclass
class Timeline:
    """Where every presentation (clip-major index) lies on the session clock."""

    order: np.ndarray        # presentation indices in trial (time) order
    onset: np.ndarray        # (n_presentations,) session seconds, clip-major index
    start: np.ndarray
    stop: np.ndarray
    lo: float
    hi: float
    stride: float
    ordered_by: str          # the order field's name (e.g. "trialnum") or "clip order"


def presentation_order(session: Session, trialnum: str | None = "trialnum") -> tuple[np.ndarray, str]:
    """Trial order from the ``trialnum`` field when it gives one number per presentation (None: clip order)."""
    values = per_presentation_values(session, session.fields.get(trialnum)) if trialnum else None
    if values is not None and values.dtype.kind in "fiu" and np.isfinite(values).all() \
            and np.unique(values).size == values.size:
        return np.argsort(values, kind="stable"), trialnum
    return np.arange(session.n_presentations), "clip order"


def per_presentation_values(session: Session, value) -> np.ndarray | None:
    """A cell over clips holding one scalar per repeat -> one value per presentation, else None."""
    if not isinstance(value, np.ndarray) or value.dtype != object or value.size != session.n_clips:
        return None
    parts = []
    for element, n in zip(value.reshape(-1, order="F"), session.n_repeats):
        arr = np.asarray(element)
        if n == 0 and arr.size == 0:
            continue
        if arr.dtype == object or arr.dtype.kind not in "fiub" or arr.size != n:
            return None
        parts.append(arr.reshape(-1, order="F"))
    return np.concatenate(parts) if parts else np.zeros(0)


def make_timeline(session: Session, trialnum: str | None = "trialnum", gap: float = GAP_S) -> Timeline:
    order, ordered_by = presentation_order(session, trialnum)
    times = session.spike_times
    lo = min(MIN_WINDOW[0], float(times.min()) if times.size else 0.0)
    hi = max(MIN_WINDOW[1], float(times.max()) if times.size else 0.0)
    lo, hi = np.floor(lo * 10) / 10, np.ceil(hi * 10) / 10
    stride = round(hi - lo + gap, 6)
    onset = np.empty(session.n_presentations)
    onset[order] = -lo + stride * np.arange(session.n_presentations)
    return Timeline(order=order, onset=onset, start=onset + lo, stop=onset + hi, lo=lo, hi=hi,
                    stride=stride, ordered_by=ordered_by)
