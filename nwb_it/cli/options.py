"""Options shared by several verbs; every default comes from the parameter dataclasses."""
from __future__ import annotations

import argparse

from ..core.params import PresentationSpec, default

FORMATTER = argparse.ArgumentDefaultsHelpFormatter    # every option's help shows its default


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


def spec(args) -> PresentationSpec:
    return PresentationSpec(args.intervals, args.stimulus_column, args.onset_column)


def overwrite_option(p: argparse.ArgumentParser, what: str = "existing outputs") -> None:
    p.add_argument("--overwrite", action="store_true", help=f"replace {what} (never without this)")
