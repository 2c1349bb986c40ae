"""Core objects: the session, recordings, results, parameters (with their defaults) and errors."""
from .errors import NwbItError
from .params import CompareParams, ExtractionParams, HeatmapParams, ReliabilityParams
from .recording import Presentations, SpikeTrains
from .results import Activations, AlignedCounts, EncodingResult, ReliabilityResult, RSAResult
from .session import Session

__all__ = ["Activations", "AlignedCounts", "CompareParams", "EncodingResult", "ExtractionParams",
           "HeatmapParams", "NwbItError", "Presentations", "RSAResult", "ReliabilityParams", "ReliabilityResult",
           "Session", "SpikeTrains"]
