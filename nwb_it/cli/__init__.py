"""The ``nwb-it`` command line: one verb per pipeline step, defaults read from ``core.params``.

Verbs live in ``session_verbs`` (example, convert, validate, demo), ``analysis_verbs``
(reliability, heatmaps, compare), ``model_verbs`` (extract-videomae, plot-activations) and
``benchmark_verbs`` (export-brainscore, score, design).
The CLI imports the runners inside each verb's ``run``: ``nwb-it --help`` and a mistyped
option then answer without loading pynwb, Dask or torch.
"""
from __future__ import annotations

import argparse
import logging
import os
import sys
import warnings
from collections.abc import Callable

from ..core.errors import NwbItError
from ..core.locations import redact_text
from ..core.progress import verbose
from ..core.provenance import package_version

VERBS: dict[str, Callable[[argparse._SubParsersAction], None]] = {}
ORDER = ("example", "example-model", "convert", "validate", "reliability", "heatmaps", "extract-videomae",
         "extract-activations", "plot-activations", "compare", "export-brainscore", "score", "design", "summary",
         "report", "run", "demo")


def verb(name: str):
    """Register a function that adds one sub-command to the parser."""
    def deco(fn):
        VERBS[name] = fn
        return fn
    return deco


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nwb-it", description=(
        "Macaque IT recording sessions (.mat) and model activations into DANDI-ready NWB files."))
    parser.add_argument("--version", action="version", version=f"nwb-it {package_version()}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    parser.add_argument("-v", "--verbose", action="store_true",
                        help="also say what is done on the way (cache hits, derivatives made, where sessions run)")
    parser.add_argument("--http-timeout", type=float, metavar="SECONDS", default=None,
                        help="remote files (URLs, DANDI: assets): give up on a request after this many seconds "
                             "without a byte (default 60; a connection has 10 s, a whole request 300 s, 3 retries)")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    from . import analysis_verbs, benchmark_verbs, dataset_verbs, model_verbs, session_verbs  # noqa: F401  (they register their verbs)

    for name in ORDER:
        VERBS[name](sub)
    return parser


class _StderrLines(logging.Handler):
    """A record as one ``nwb-it: ...`` line on the standard error of the moment (the redacting stream)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            print(f"nwb-it: {record.getMessage()}", file=sys.stderr)
        except Exception:  # a closed stream must not stop the work
            self.handleError(record)


def _show_package_log(verbose: bool) -> None:
    """The ``nwb_it`` logger's records on standard error (the command line owns the process; the library only
    logs). Called once per ``main``: an earlier call's handler is replaced, not doubled."""
    logger = logging.getLogger("nwb_it")
    for old in [h for h in logger.handlers if isinstance(h, _StderrLines)]:
        logger.removeHandler(old)
    logger.addHandler(_StderrLines())
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    logger.propagate = False


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    from .options import as_flags

    print(f"nwb-it: warning: {as_flags(str(message))}", file=sys.stderr)


class _RedactingStream:
    """A text stream that writes every URL without its credentials and signed query (what the terminal and a log
    of it may see); everything else passes through."""

    def __init__(self, stream):
        self._stream = stream

    def write(self, text: str) -> int:
        return self._stream.write(redact_text(text))

    def __getattr__(self, name: str):
        return getattr(self._stream, name)


def main(argv: list[str] | None = None) -> int:
    """The command line; standard output and error are redacted (:func:`nwb_it.core.locations.redact_text`)."""
    streams = sys.stdout, sys.stderr
    sys.stdout, sys.stderr = _RedactingStream(sys.stdout), _RedactingStream(sys.stderr)
    try:
        return _main(argv)
    finally:
        sys.stdout, sys.stderr = streams


def _main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")       # the command line draws into files only
    # transformers' "Loading weights" bars have only a process-wide switch (read when it is imported): the command
    # line owns the process and shows its own bars instead
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    parser = build_parser()
    args = parser.parse_args(argv)
    _show_package_log(args.verbose)
    if not args.debug:
        # child interpreters (multiprocessing's resource tracker) take their -W options from here: worker
        # processes stopped at Ctrl-C leave semaphores it would report at exit, noise after a clean stop
        sys.warnoptions.append("ignore:resource_tracker:UserWarning")
        warnings.showwarning = _one_line_warning
        for noisy in (DeprecationWarning, FutureWarning, ResourceWarning):
            warnings.filterwarnings("ignore", category=noisy)
    try:
        with verbose():                               # bars on a terminal (a batch keeps one, over its sessions)
            if args.http_timeout is None:
                return args.func(args)
            from ..io.http import HttpTimeouts
            from ..nwb.remote import http_timeouts

            args.http = HttpTimeouts(read=args.http_timeout)
            with http_timeouts(args.http):
                return args.func(args)
    except NwbItError as exc:
        if args.debug:
            raise
        from .options import as_flags

        print(f"nwb-it: error: {as_flags(str(exc))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nwb-it: interrupted; no partial output was left", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
