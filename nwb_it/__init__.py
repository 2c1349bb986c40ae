"""nwb_it: macaque IT recording sessions and VideoMAE activations in one DANDI-ready NWB file.

Layers: ``core`` (the in-memory Session), ``io`` (MAT in, NWB out, metadata,
examples), ``process`` (analyses on NWB files).
"""
__version__ = "0.1.0"

from .core.session import Session  # noqa: E402
from .errors import NwbItError  # noqa: E402
from .io.convert import build_nwbfile, convert_session  # noqa: E402
from .io.example import write_example_session  # noqa: E402
from .io.read_session import SourceLayout, read_session  # noqa: E402
from .io.source_fields import read_source_fields  # noqa: E402

__all__ = ["Session", "NwbItError", "SourceLayout", "read_session", "convert_session", "build_nwbfile",
           "write_example_session", "read_source_fields", "__version__"]
