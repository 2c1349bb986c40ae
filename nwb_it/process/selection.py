"""Which units an analysis uses."""
from __future__ import annotations

import numpy as np

from ..core.errors import NwbItError
from ..core.params import UNIT_CHOICES
from ..core.results import ReliabilityResult


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
