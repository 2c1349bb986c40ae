"""One runner per CLI verb: read an NWB file (or a source), call ``process``/``models``, write back, draw.

Every runner is named ``run_<verb>`` and has one shape,
``run_<verb>(path, params, *, out_dir=None, presentations=..., overwrite=False, progress=False, force=False)``
(a verb without a parameter dataclass takes what it reads instead, e.g. ``metadata``), and is
made of a compute step (results out, nothing written: ``compute_*``/``read_*_data``), a write
step (results into the file: ``write_*``) and a draw step (results to figures: ``draw_*``),
each callable on its own.
"""
from .aligned import read_aligned
from .batch import Outcome, run_batch
from .compare import compute_compare, compute_partition, draw_compare, read_compare_data, run_compare, write_compare
from .convert import convert_source, plan_conversions, run_convert
from .extract import run_extract, run_extract_batch
from .heatmaps import draw_heatmaps, read_heatmap_data, run_heatmaps
from .plot_activations import draw_activations, read_activation_data, run_plot_activations
from .reliability import (
    compute_reliability,
    draw_reliability,
    read_reliability_data,
    run_reliability,
    write_reliability,
)
from .summary import run_summary

__all__ = ["Outcome", "compute_compare", "compute_partition",
           "compute_reliability", "convert_source", "draw_activations", "draw_compare",
           "draw_heatmaps", "draw_reliability", "plan_conversions", "read_activation_data", "read_aligned",
           "read_compare_data", "read_heatmap_data", "read_reliability_data", "run_batch", "run_compare",
           "run_convert", "run_extract", "run_extract_batch", "run_heatmaps", "run_plot_activations",
           "run_reliability", "run_summary", "write_compare", "write_reliability"]
