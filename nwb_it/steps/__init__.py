"""One runner per CLI verb: read an NWB file (or a source), call ``process``/``models``, write back, draw.

These are what the command line and the Python API call.
"""
from .aligned import read_aligned
from .batch import Outcome, run_batch
from .compare import run_compare
from .convert import convert_session, convert_source
from .extract import run_extract, run_extract_many
from .heatmaps import make_heatmaps
from .plot_activations import plot_activations
from .reliability import run_reliability

__all__ = ["Outcome", "convert_session", "convert_source", "make_heatmaps", "plot_activations", "read_aligned",
           "run_batch", "run_compare", "run_extract", "run_extract_many", "run_reliability"]
