"""Saving figures atomically (shared by every figure-making step).

Figures are made as ``matplotlib.figure.Figure`` objects, never through pyplot, so
nothing here chooses a backend or touches a user's notebook state.
"""
from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

from matplotlib.figure import Figure

from ..nwb.atomic import atomic_output, refuse_existing


def save_figure(fig: Figure, path: str | Path, fmt: str = "png", overwrite: bool = False) -> Path:
    """Write ``fig`` to ``path`` through a temporary file (the overwrite rule of every output); return the path."""
    path = Path(path)
    with atomic_output(path, overwrite) as tmp:
        fig.savefig(tmp, format=fmt, dpi=110, bbox_inches="tight")
    return path


def save_figures(makers: dict[Path, Callable[[], Figure]], fmt: str = "png", overwrite: bool = False,
                 progress: bool = False) -> list[Path]:
    """Draw and save each figure in turn, refusing before writing any if one exists and ``overwrite`` is off."""
    from tqdm.auto import tqdm

    for path in makers:
        refuse_existing(path, overwrite)
    return [save_figure(make(), path, fmt, overwrite)
            for path, make in tqdm(makers.items(), desc="figures", disable=not progress, leave=False)]


def new_figure(nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] = (6, 4), **kwargs):
    """A pyplot-free figure and its axes (a single Axes when 1 x 1, else an array)."""
    fig = Figure(figsize=figsize)
    axes = fig.subplots(nrows, ncols, **kwargs)
    return fig, axes
