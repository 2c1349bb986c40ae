"""One way to show progress on long work: a tqdm bar on a terminal, nothing in logs and pipes.

A bar drawn into a pipe or a log file cannot erase itself: it leaves every intermediate
state behind (``360/361``, ``100% 3/3`` twice). So bars are shown only when standard
error is a terminal, and cleared when done.
"""
from __future__ import annotations

import sys
from collections.abc import Iterable

from tqdm.auto import tqdm


class _Bar(tqdm):
    # no monitor thread (it only refreshes stalled bars): a batch forks its workers only from a
    # single-threaded process (nwb_it.steps.forked), and a bar must not take that away
    monitor_interval = 0


def progress_bar(iterable: Iterable | None = None, *, total: int | None = None, desc: str = "", unit: str = "it",
                 enabled: bool = True) -> tqdm:
    """A tqdm bar when ``enabled`` and standard error is a terminal; a silent one otherwise.

    Examples
    --------
    >>> sum(progress_bar(range(4), desc="units", enabled=False))
    6
    """
    shown = enabled and hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
    return _Bar(iterable, total=total, desc=desc, unit=unit, disable=not shown, leave=False)
