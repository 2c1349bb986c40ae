"""Errors that the command line reports as one line (exit code 2)."""
from __future__ import annotations

from pathlib import Path


class NwbItError(Exception):
    """Bad input: a file or value the user can fix.

    The message always names the file (when there is one) and the problem, so the
    CLI can print it on one line without a traceback.
    """

    def __init__(self, problem: str, path: str | Path | None = None):
        self.path = None if path is None else Path(path)
        self.problem = problem
        super().__init__(f"{self.path}: {problem}" if self.path is not None else problem)
