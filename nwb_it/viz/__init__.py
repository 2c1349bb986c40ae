"""Figures. Built on ``matplotlib.figure.Figure`` (never pyplot): importing this chooses no backend."""
from __future__ import annotations

from ..core.lazy import lazy_attributes

# imported on first use (nwb_it.core.lazy): a runner that draws only when asked (reliability -o) loads
# matplotlib only then
_LAZY = {"histogram_figures": ".heatmaps", "save_figure_folder": ".save"}
__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)

__all__ = sorted(_LAZY)
