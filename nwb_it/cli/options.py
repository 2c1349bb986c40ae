"""Options shared by several verbs; every default comes from the parameter dataclasses."""
from __future__ import annotations

import argparse
import dataclasses
import re
import sys
from pathlib import Path

from ..core.errors import NwbItError
from ..core.locations import location_stem
from ..core.output import OutputPolicy
from ..core.params import PresentationSpec, default
from ..nwb.remote import is_remote
from .cluster_options import cluster_options, cluster_params
from .outcomes import exit_code, summary_lines

#: Python parameters whose flag is not ``--`` + the name with ``-`` for ``_``.
FLAG_OF = {"bin_size": "bin", "drop_invalid": "drop-invalid-presentations", "layer": "layers", "fmt": "format",
           "export_pickle": "export-pickle"}
_PARAMETER = re.compile(r"`([A-Za-z_][\w.]*)(?:=([^`]*))?`")


def as_flags(message: str) -> str:
    """A library message for the shell: its backticked Python parameters become the verb's flags.

    Examples
    --------
    >>> as_flags("output exists; pass `overwrite=True` to replace it")
    'output exists; pass --overwrite to replace it'
    >>> as_flags("`window=(0.3, 0.1)`: start must be before end; choose one with `presentations.intervals`")
    '--window 0.3 0.1: start must be before end; choose one with --intervals'
    """
    def flag(match: re.Match) -> str:
        name = match[1].rsplit(".", 1)[-1]
        option = "--" + FLAG_OF.get(name, name.replace("_", "-"))
        value = match[2]
        if value is None or value == "True":
            return option
        return f"{option} {value.strip('()').replace(', ', ' ')}"
    return _PARAMETER.sub(flag, message)


def params_from(cls: type, args: argparse.Namespace, **given):
    """A parameter dataclass built from its fields: each from the verb's flag for it (``--`` + the name, or
    :data:`FLAG_OF`), ``given`` where the flag's value needs converting, the dataclass default where the verb has no
    such flag. Lists (``nargs``) become tuples.

    Examples
    --------
    >>> from nwb_it.core.benchmark_params import ScoreParams
    >>> params_from(ScoreParams, argparse.Namespace(layers="last", components=10, splits=5))
    ScoreParams(layer='last', components=10, splits=5)
    """
    values = {}
    for field in dataclasses.fields(cls):
        if field.name in given or not field.init:
            continue
        for dest in (FLAG_OF.get(field.name, field.name).replace("-", "_"), field.name):
            if hasattr(args, dest):
                value = getattr(args, dest)
                values[field.name] = tuple(value) if isinstance(value, list) else value
                break
    return cls(**values, **given)


def optional_float(text: str) -> float | None:
    """A number, or ``none`` for no value (a threshold turned off)."""
    if text.strip().lower() == "none":
        return None
    try:
        return float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"'{text}' is not a number or 'none'") from None


class HelpFormatter(argparse.ArgumentDefaultsHelpFormatter):
    """Shows each option's default, except where there is none to show (required options, ``None``)."""

    def _get_help_string(self, action: argparse.Action) -> str:
        text = action.help or ""
        if action.required or action.default in (None, argparse.SUPPRESS, False) or "default" in text \
                or not action.option_strings:
            return text
        return text + " (default: %(default)s)"


FORMATTER = HelpFormatter


def command(sub, name: str, help_text: str) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=help_text, description=help_text, formatter_class=FORMATTER)


def window_options(p: argparse.ArgumentParser, cls: type, help_text: str = "analysis window around clip onset (s)"
                   ) -> None:
    p.add_argument("--window", type=float, nargs=2, default=default(cls, "window"), metavar=("START", "END"),
                   help=help_text)
    p.add_argument("--bin", type=float, default=default(cls, "bin_size"), help="bin size (s)")


def presentation_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("presentations (any NWB file)")
    g.add_argument("--intervals", default=default(PresentationSpec, "intervals"),
                   help="table under /intervals holding one row per stimulus presentation")
    g.add_argument("--stimulus-column", default=default(PresentationSpec, "stimulus_column"),
                   help="column naming each presentation's stimulus")
    g.add_argument("--onset-column", help="column of stimulus onsets (default: stimulus_onset where present, "
                   "else start_time)")
    g.add_argument("--where", metavar="EXPR", help="keep only the presentations where EXPR holds over the table's "
                   "columns, e.g. \"fixation_correct and stimuli_block_index in (0, 2)\" (== != < <= > >=, in (...), "
                   "and, or, not, parentheses; numbers, 'text', true, false)")
    g.add_argument("--drop-invalid-presentations", action="store_true",
                   help="leave out rows with a NaN onset, no stimulus, or repeating an earlier row (counted in a "
                        "warning) instead of refusing the table")


def spec(args) -> PresentationSpec:
    return PresentationSpec(intervals=args.intervals, stimulus_column=args.stimulus_column,
                            onset_column=args.onset_column, drop_invalid=args.drop_invalid_presentations,
                            where=args.where)


def overwrite_option(p: argparse.ArgumentParser, what: str = "existing outputs") -> None:
    p.add_argument("--overwrite", action="store_true", help=f"replace {what} (never without this)")
    force_option(p)


def output_policy(args) -> OutputPolicy:
    """The runners' :class:`~nwb_it.core.output.OutputPolicy` from ``--overwrite``, ``--force``, ``--derivative-dir``
    (each absent where a verb has no such flag)."""
    return OutputPolicy(overwrite=getattr(args, "overwrite", False), force=getattr(args, "force", False),
                        derivative_dir=absolute(getattr(args, "derivative_dir", None)))


def force_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--force", action="store_true", help="also write files their owner made read-only (an NWB file "
                   "updated in place, or an output replaced with --overwrite)")


def location(text: str) -> str | Path:
    """An input as typed: a URL or ``DANDI:`` asset stays a string, anything else is a path."""
    return text if is_remote(text) else Path(text)


def absolute(path: str | Path | None) -> str | Path | None:
    """A path made absolute (None and URLs stay as they are): jobs may run on a worker whose current folder is
    elsewhere."""
    return None if path is None else path if is_remote(path) else Path(path).absolute()


def derivative_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--derivative-dir", type=Path, help="write the results into a derivative NWB file in this folder "
                   "(sub-X/sub-X_ses-Y_desc-nwbit_ecephys.nwb, made on first use) instead of the input, which stays "
                   "as it is; needed for URLs, DANDI: assets and read-only files")


def reading_derivative_option(p: argparse.ArgumentParser) -> None:
    p.add_argument("--derivative-dir", type=Path, help="read the results of each file from its derivative in this "
                   "folder (where nwb-it reliability / compare --derivative-dir wrote them); needed for URLs and "
                   "DANDI: assets, optional for local files")


def batch_options(p: argparse.ArgumentParser) -> None:
    cluster_options(p)
    g = p.add_argument_group("many sessions (Dask)")
    g.add_argument("--workers", type=int, help="sessions run in parallel on this machine (default: its cores, "
                   "in this process when the batch is small)")
    g.add_argument("--scheduler", metavar="ADDRESS",
                   help="send the sessions to a running dask.distributed scheduler, e.g. tcp://10.0.0.5:8786 "
                        "(files must be on storage its workers see)")


def unique_stems(paths: list[Path], what: str) -> None:
    """Many-file outputs are named after each file's stem: two files with one stem would collide."""
    seen: dict[str, Path] = {}
    for path in paths:
        stem = location_stem(path)
        if stem in seen and str(seen[stem]) != str(path) and (is_remote(path) or is_remote(seen[stem])
                                                                or Path(seen[stem]).resolve() != Path(path).resolve()):
            raise NwbItError(f"two files named {stem} would share one {what}: {seen[stem]} and {path}")
        seen[stem] = path



def report(outcomes, line=None) -> int:
    """Print each session's warnings and result (``line(row)`` of its row, else its message; or its error line), then
    a summary table when there are several.

    Returns the exit code: 2 when any session failed, 1 when any has validation findings.
    """

    for o in outcomes:
        for w in o.warnings:
            print(f"nwb-it: warning: {as_flags(w)}", file=sys.stderr)
        if o.failed:
            print(f"nwb-it: error: {as_flags(o.message)}", file=sys.stderr)
        elif o.value is not None and line is not None:
            print(line(o.value))
        elif o.message:
            print(o.message)
    if len(outcomes) > 1:
        print("\n".join(summary_lines(outcomes)))
    return exit_code(outcomes)


def run_many(args, job, paths: list[Path], desc: str = "sessions", line=None) -> int:
    """Run ``job`` on every path (here, or on Dask, as ``--workers``/``--scheduler`` say) and :func:`report`.

    ``line`` turns a job's row into what is printed (:mod:`nwb_it.cli.lines`).
    Ctrl-C cancels what has not finished, removes the cancelled jobs' partial files and
    reports which sessions finished (exit code 130).
    """
    from ..steps.batch import BatchInterrupted, run_batch
    from ..steps.clusters import job_script

    cluster = cluster_params(args)
    if getattr(args, "print_job_script", False):
        if cluster is None:
            raise NwbItError("--print-job-script needs --cluster slurm, pbs or lsf")
        print(job_script(cluster))
        return 0
    outputs = [getattr(args, name) for name in ("out_dir", "export_pickle") if getattr(args, name, None)]
    if getattr(args, "http", None) is not None:          # --http-timeout travels with each job to its worker
        from functools import partial

        from ..nwb.remote import call_with_timeouts

        job = partial(call_with_timeouts, args.http, job)
    try:
        outcomes = run_batch(job, paths, args.workers, args.scheduler, desc=desc, debug=args.debug,
                             outputs=outputs, cluster=cluster)
    except BatchInterrupted as stop:
        report(stop.outcomes, line)
        print("nwb-it: interrupted: unfinished sessions were cancelled and their partial files removed",
              file=sys.stderr)
        return 130
    return report(outcomes, line)
