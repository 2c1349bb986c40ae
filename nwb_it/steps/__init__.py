"""One runner per CLI verb: read an NWB file (or a source), call ``process``/``models``, write back, draw.

Every runner is named ``run_<verb>`` and has one shape,
``run_<verb>(path, params, *, out_dir=None, presentations=..., output=OutputPolicy(...))``
(a verb without a parameter dataclass takes what it reads instead, e.g. ``metadata``; progress bars come
from :func:`nwb_it.core.progress.verbose`, not a flag), and is
made of a compute step (results out, nothing written: ``compute_*``/``read_*_data``), a write
step (results into the file: ``write_*``) and a draw step (results to figures: ``draw_*``),
each callable on its own. Names are imported on first
use (:mod:`nwb_it.core.lazy`): ``nwb-it convert`` does not pay for Elephant or matplotlib.
"""
from __future__ import annotations

from ..core.lazy import lazy_attributes

_LAZY = {"read_aligned": ".aligned", "run_batch": ".batch", "Outcome": ".outcome",
         "validate_job": ".jobs", "compare_job": ".compare", "convert_job": ".convert", "extract_job": ".extract",
         "heatmaps_job": ".heatmaps", "plot_activations_job": ".plot_activations", "reliability_job": ".reliability",
         **dict.fromkeys(["compute_compare", "compute_partition", "draw_compare", "read_compare_data", "run_compare",
                          "write_compare"], ".compare"),
         **dict.fromkeys(["convert_source", "plan_conversions", "run_convert"], ".convert"),
         **dict.fromkeys(["compute_activations", "read_extract_plan", "run_extract", "run_extract_batch",
                          "write_activations", "write_npy"], ".extract"),
         **dict.fromkeys(["draw_heatmaps", "read_heatmap_data", "run_heatmaps"], ".heatmaps"),
         **dict.fromkeys(["draw_activations", "read_activation_data", "run_plot_activations"], ".plot_activations"),
         **dict.fromkeys(["compute_binned", "compute_reliability", "draw_reliability", "read_reliability_data",
                          "run_reliability", "write_reliability"], ".reliability"),
         **dict.fromkeys(["build_assembly", "run_export_brainscore", "write_export"], ".export"),
         **dict.fromkeys(["compute_scores", "draw_scores", "read_benchmark", "run_score", "write_scores"], ".score"),
         **dict.fromkeys(["compute_design", "draw_design", "read_design_data", "run_design", "write_design"],
                         ".design"),
         **dict.fromkeys(["draw_summary", "read_summary_rows", "run_summary", "summary_files", "write_summary"],
                         ".summary")}
__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)

__all__ = sorted(_LAZY)
