"""Saving matplotlib figures atomically (shared by every figure-making step)."""
from __future__ import annotations

from pathlib import Path

import matplotlib

matplotlib.use("Agg")          # figures are files: never ask for a display
import matplotlib.pyplot as plt  # noqa: E402

from .atomic import atomic_output  # noqa: E402


def save_figure(fig, path: str | Path, fmt: str = "png") -> Path:
    """Write ``fig`` to ``path`` through a temporary file, close it, return the path."""
    path = Path(path)
    with atomic_output(path, overwrite=True) as tmp:
        fig.savefig(tmp, format=fmt, dpi=110)
    plt.close(fig)
    return path
