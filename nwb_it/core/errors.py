"""Errors that the command line reports as one line (exit code 2).

Messages name what a Python caller passes, in backticks: ``pass `overwrite=True```,
``choose one with `intervals```. The command line rewrites those to its flags in one
place (:func:`nwb_it.cli.options.as_flags`), so a notebook user reads parameter names
and a shell user reads ``--overwrite`` / ``--intervals``.
"""
from __future__ import annotations

from pathlib import Path

from .locations import is_url, redact_location, redact_text


class NwbItError(Exception):
    """Bad input: a file or value the user can fix.

    The message always names the file (when there is one) and the problem, so the
    CLI can print it on one line without a traceback.
    """

    def __init__(self, problem: str, path: str | Path | None = None):
        # a URL or DANDI asset stays as written (Path would fold its "//")
        remote = isinstance(path, str) and (is_url(path) or path.startswith(("DANDI:", "dandi:")))
        self.path = None if path is None else path if remote else Path(path)
        self.problem = problem
        # what is shown never carries a URL's credentials or signed query (the location is kept to read it)
        shown = redact_text(problem)
        super().__init__(f"{redact_location(self.path)}: {shown}" if self.path is not None else shown)


class InvalidParameter(NwbItError, ValueError):
    """A parameter value out of its range; ``field`` names the Python parameter (the CLI maps it to its flag)."""

    def __init__(self, field: str, problem: str):
        self.field = field
        super().__init__(problem)
