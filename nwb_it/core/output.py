"""What a runner may do to files that already exist, stated once (:class:`OutputPolicy`).

Every runner takes one ``output=OutputPolicy(...)`` instead of three flags threaded through
each layer; the write and draw steps read it, and :mod:`nwb_it.io.atomic` applies it to
each file.
"""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True)
class OutputPolicy:
    """The rules every write of a runner follows.

    Parameters
    ----------
    overwrite : bool
        Replace outputs that exist (figures, tables, folders, a derivative made from another
        source); without it an existing output is an error that names it.
    force : bool
        Also replace or update a file its owner made read-only (``chmod 444``, to protect it);
        without it such a file is an error (:func:`nwb_it.io.atomic.refuse_existing`).
    derivative_dir : Path or None
        Write results into a derivative NWB file in this folder instead of the input file
        (needed for remote and read-only inputs).

    Examples
    --------
    >>> OutputPolicy(overwrite=True, derivative_dir="derivatives").derivative_dir
    PosixPath('derivatives')
    """

    overwrite: bool = False
    force: bool = False
    derivative_dir: Path | None = None

    def __post_init__(self) -> None:
        if self.derivative_dir is not None:
            object.__setattr__(self, "derivative_dir", Path(self.derivative_dir))
