"""Saving figures atomically (shared by every figure-making step).

Figures are made as ``matplotlib.figure.Figure`` objects, never through pyplot, so
nothing here chooses a backend or touches a user's notebook state.
"""
from __future__ import annotations

import contextlib
import json
from collections.abc import Callable
from pathlib import Path

from matplotlib.figure import Figure

from ..core.output import OutputPolicy
from ..core.progress import progress_bar
from ..io.atomic import atomic_output, refuse_existing


def save_figure(fig: Figure, path: str | Path, fmt: str = "png", output: OutputPolicy = OutputPolicy()) -> Path:
    """Write ``fig`` to ``path`` through a temporary file (``output``'s rule, as for every output); return the path."""
    path = Path(path)
    with atomic_output(path, output.overwrite, output.force) as tmp:
        fig.savefig(tmp, format=fmt, dpi=110, bbox_inches="tight")
    return path


def save_figures(makers: dict[Path, Callable[[], Figure]], fmt: str = "png", output: OutputPolicy = OutputPolicy()
                 ) -> list[Path]:
    """Draw and save each figure in turn, refusing before writing any if one exists that ``output``
    may not replace."""
    for path in makers:
        refuse_existing(path, output.overwrite, output.force)
    return [save_figure(make(), path, fmt, output) for path, make in progress_bar(makers.items(), desc="figures")]


def manifest_path(folder: Path, verb: str) -> Path:
    """Where a verb records the figures it wrote into a folder (hidden: not a figure)."""
    return Path(folder) / f".nwb_it-{verb}-figures.json"


def save_figure_folder(folder: str | Path, verb: str, makers: dict[Path, Callable[[], Figure]], fmt: str = "png",
                       output: OutputPolicy = OutputPolicy()) -> list[Path]:
    """:func:`save_figures` into ``folder``, recording the set in a manifest; ``output.overwrite`` replaces that set.

    Files the verb's previous run wrote there and this run does not (e.g. the figure of a
    unit no longer responsive) are removed with ``overwrite``; nothing else is touched:
    only names the manifest lists, inside ``folder``, that are regular files.
    """
    folder = Path(folder)
    record = manifest_path(folder, verb)
    before: list[str] = []
    if record.is_file():
        with contextlib.suppress(OSError, ValueError):
            before = [str(p) for p in json.loads(record.read_text()).get("files", [])]
    paths = save_figures(makers, fmt, output)
    now = sorted(p.relative_to(folder).as_posix() for p in paths)
    if output.overwrite:
        root = folder.resolve()
        for name in set(before) - set(now):
            stale = (folder / name)
            if stale.resolve().parent.is_relative_to(root) and stale.is_file() and not stale.is_symlink():
                stale.unlink()
    with atomic_output(record, overwrite=True) as tmp:
        tmp.write_text(json.dumps({"verb": verb, "files": now}, indent=1))
    return paths


def new_figure(nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] = (6, 4), **kwargs):
    """A pyplot-free figure and its axes (a single Axes when 1 x 1, else an array)."""
    fig = Figure(figsize=figsize)
    axes = fig.subplots(nrows, ncols, **kwargs)
    return fig, axes
