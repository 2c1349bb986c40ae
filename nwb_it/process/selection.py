"""Which units an analysis uses."""
from __future__ import annotations

import dataclasses

import numpy as np

from ..core.errors import NwbItError
from ..core.params import FIRST_STAGE_DEALS, UNIT_CHOICES, ReliabilityParams
from ..core.recording import AlignedCounts
from ..core.results import ReliabilityResult
from .reliability import reliability
from .splits import presentation_ranks_in_clip


def select_units(reliability: ReliabilityResult | None, which: str = "responsive") -> np.ndarray | None:
    """Rows of the units table to use: the responsive ones, or ``None`` for all.

    Examples
    --------
    >>> select_units(None, "all") is None
    True
    """
    if which not in UNIT_CHOICES:
        raise NwbItError(f"`units={which}`: use {' or '.join(UNIT_CHOICES)}")
    if which == "all":
        return None
    if reliability is None:
        raise NwbItError("the file has no reliability table to pick responsive units: run the reliability step "
                         "first (nwb-it reliability), or pass `units=all`")
    chosen = reliability.unit_ids[reliability.responsive]
    if chosen.size == 0:
        raise NwbItError(f"no responsive unit (d' > {reliability.params.cutoff:g}); pass `units=all` to use "
                         "every unit")
    return chosen


def split_selection(for_selection: AlignedCounts, for_scoring: AlignedCounts, params: ReliabilityParams, seed: int
                    ) -> tuple[np.ndarray, AlignedCounts, ReliabilityResult]:
    """Select responsive units on one half of every clip's repeats, keep the other half for scoring.

    ``for_selection`` and ``for_scoring`` are the same presentations binned for the reliability
    statistic and for the comparison. Each clip's presentations are halved at random (seeded);
    d' > cutoff on half A picks the units, and the comparison sees only half B of those units, so
    the selection's luck does not lift their scores or ceilings (no double dipping).

    Returns
    -------
    rows of the selected units, the scoring half of ``for_scoring`` for them, and half A's reliability.
    """
    rank = presentation_ranks_in_clip(for_selection.clip_of, np.random.default_rng([seed, 93]))
    n = np.bincount(for_selection.clip_of)[for_selection.clip_of]
    half_a = rank < n // 2                                  # a clip shown once goes to the scoring half
    cheap = dataclasses.replace(params, n_null=FIRST_STAGE_DEALS, n_null_max=FIRST_STAGE_DEALS)   # d' decides
    chosen = reliability(for_selection.select_presentations(half_a), cheap)
    rows = np.flatnonzero(chosen.responsive)
    if rows.size == 0:
        raise NwbItError(f"no unit is responsive (d' > {params.cutoff:g}) on half of the repeats; pass "
                         "`selection=reliability` or `units=all`")
    return rows, for_scoring.select_units(rows).select_presentations(~half_a), chosen
