"""The package logger, and records of other packages' loggers dropped without changing their levels.

Changing a logger's level (or transformers' verbosity) is process-wide state: another thread,
or the user's own logging setup, would lose its records too. Instead a filter is attached
once and drops only what the block that asked for it should not show: records logged by
*this thread* while it runs (:func:`quiet_records`), or records that mention the given
words, e.g. the workers a batch just killed (:func:`dropped_mentions`).
"""
from __future__ import annotations

import contextlib
import logging
import threading
from collections.abc import Iterator, Sequence

#: The package's logger: the command line shows its records; a library user configures it as any package's.
logger = logging.getLogger("nwb_it")

_LOCK = threading.Lock()


class _ThisThread(logging.Filter):
    """Drops records below ``below`` while the thread that logs them is inside :func:`quiet_records`."""

    def __init__(self, below: int) -> None:
        super().__init__()
        self.below = below
        self.active = threading.local()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno >= self.below or not getattr(self.active, "depth", 0)


_FILTERS: dict[tuple[str, int], _ThisThread] = {}


def _attach(name: str, filt: logging.Filter) -> list:
    """``filt`` on logger ``name`` and its handlers (a child logger's records pass only the handlers' filters)."""
    target = logging.getLogger(name)
    places = [target, *target.handlers]
    for place in places:
        if filt not in place.filters:
            place.addFilter(filt)
    return places


@contextlib.contextmanager
def quiet_records(name: str, below: int = logging.ERROR) -> Iterator[None]:
    """Drop the records below ``below`` that this thread logs to logger ``name`` (or its children) in the block.

    Examples
    --------
    >>> import logging
    >>> with quiet_records("nwb_it.example"):
    ...     logging.getLogger("nwb_it.example").warning("not shown")
    """
    with _LOCK:                               # one inert filter per (logger, level), added once
        filt = _FILTERS.setdefault((name, below), _ThisThread(below))
        _attach(name, filt)
    filt.active.depth = getattr(filt.active, "depth", 0) + 1
    try:
        yield
    finally:
        filt.active.depth -= 1


class _Mentions(logging.Filter):
    def __init__(self, words: Sequence[str]) -> None:
        super().__init__()
        self.words = [w for w in words if w]

    def filter(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        return not any(w in message for w in self.words)


@contextlib.contextmanager
def dropped_mentions(name: str, words: Sequence[str]) -> Iterator[None]:
    """Drop the records of logger ``name`` (and its children) that mention any of ``words`` while the block runs,
    from any thread (e.g. Dask's event loop reporting the workers this block kills); others pass."""
    filt = _Mentions(words)
    with _LOCK:
        places = _attach(name, filt)
    try:
        yield
    finally:
        with _LOCK:
            for place in places:
                place.removeFilter(filt)
