"""Core objects: the session, recordings, results, parameters (with their defaults) and errors.

Names are imported on first use (PEP 562): the command line's ``--help`` does not load pandas.
"""
from __future__ import annotations

from .errors import NwbItError
from .lazy import lazy_attributes

_LAZY = {"CompareParams": ".params", "ExtractionParams": ".params", "HeatmapParams": ".params",
         "ReliabilityParams": ".params", "Presentations": ".recording", "SpikeTrains": ".recording",
         "Activations": ".results", "AlignedCounts": ".recording", "EncodingResult": ".results",
         "ReliabilityResult": ".results", "RSAResult": ".results", "Session": ".session",
         "OutputPolicy": ".output", "verbose": ".progress", "logger": ".logs"}
__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)


__all__ = ["NwbItError", *sorted(_LAZY)]
