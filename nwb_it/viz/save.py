"""Saving figures atomically (shared by every figure-making step).

Figures are made as ``matplotlib.figure.Figure`` objects, never through pyplot, so
nothing here chooses a backend or touches a user's notebook state.
"""
from __future__ import annotations

from pathlib import Path

from matplotlib.figure import Figure

from ..nwb.atomic import atomic_output


def save_figure(fig: Figure, path: str | Path, fmt: str = "png") -> Path:
    """Write ``fig`` to ``path`` through a temporary file; return the path."""
    path = Path(path)
    with atomic_output(path, overwrite=True) as tmp:
        fig.savefig(tmp, format=fmt, dpi=110)
    return path


def new_figure(nrows: int = 1, ncols: int = 1, figsize: tuple[float, float] = (6, 4), **kwargs):
    """A pyplot-free figure and its axes (a single Axes when 1 x 1, else an array)."""
    fig = Figure(figsize=figsize)
    axes = fig.subplots(nrows, ncols, **kwargs)
    return fig, axes
