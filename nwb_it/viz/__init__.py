"""Figures. Built on ``matplotlib.figure.Figure`` (never pyplot): importing this chooses no backend."""
from __future__ import annotations

from ..core.lazy import lazy_attributes

# imported on first use (nwb_it.core.lazy): a runner that draws only when asked (reliability -o) loads
# matplotlib only then
_LAZY = {**dict.fromkeys(["clip_figure", "pca_figure"], ".activations"), "partition_figure": ".bands",
         **dict.fromkeys(["design_figure", "score_time_figure"], ".benchmark"),
         **dict.fromkeys(["best_units_figure", "rdm_figure", "score_vs_ceiling_figure"], ".compare"),
         **dict.fromkeys(["dprime_figure", "histogram_figures", "population_figure", "r2_figure", "unit_figure"],
                         ".heatmaps"),
         **dict.fromkeys(["depth_figure", "ranking_figure"], ".layers"),
         **dict.fromkeys(["new_figure", "save_figure", "save_figure_folder", "save_figures"], ".save"),
         **dict.fromkeys(["responsive_figure", "scores_figure"], ".summary"),
         **dict.fromkeys(["best_layer_figure", "time_course_figure", "unit_time_figure"], ".time")}
__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)

__all__ = sorted(_LAZY)
