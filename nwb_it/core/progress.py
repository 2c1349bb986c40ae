"""One way to show progress on long work (MNE's ``verbose``, as a context).

Progress bars are off unless a caller asks for them with ``with verbose():`` — a context
variable, so one thread's or task's choice never changes another's, and nothing is threaded
through the layers as a flag.

A bar drawn into a pipe or a log file cannot erase itself: it leaves every intermediate
state behind (``360/361``, ``100% 3/3`` twice). So bars are shown only when standard
error is a terminal, and cleared when done.
"""
from __future__ import annotations

import contextlib
import sys
from collections.abc import Iterable, Iterator
from contextvars import ContextVar

from tqdm.auto import tqdm

_BARS: ContextVar[bool] = ContextVar("nwb_it_progress_bars", default=False)


class _Bar(tqdm):
    # no monitor thread (it only refreshes stalled bars): a batch forks its workers only from a
    # single-threaded process (nwb_it.steps.forked), and a bar must not take that away
    monitor_interval = 0


@contextlib.contextmanager
def verbose(bars: bool = True) -> Iterator[None]:
    """Show progress bars (on a terminal) for the work done inside this context, in this thread or task.

    Examples
    --------
    >>> with verbose():
    ...     bars_shown()
    True
    >>> bars_shown()
    False
    """
    token = _BARS.set(bool(bars))
    try:
        yield
    finally:
        _BARS.reset(token)


def bars_shown() -> bool:
    """Whether the current context asked for progress bars (:func:`verbose`)."""
    return _BARS.get()


def progress_bar(iterable: Iterable | None = None, *, total: int | None = None, desc: str = "", unit: str = "it",
                 enabled: bool | None = None) -> tqdm:
    """A tqdm bar when bars are asked for (:func:`verbose`, or ``enabled``) and standard error is a terminal;
    a silent one otherwise.

    Examples
    --------
    >>> sum(progress_bar(range(4), desc="units"))
    6
    """
    wanted = bars_shown() if enabled is None else enabled
    shown = wanted and hasattr(sys.stderr, "isatty") and sys.stderr.isatty()
    return _Bar(iterable, total=total, desc=desc, unit=unit, disable=not shown, leave=False)
