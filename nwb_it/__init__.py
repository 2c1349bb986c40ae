"""nwb_it: macaque IT recording sessions and model activations in one DANDI-ready NWB file.

Layers, in the direction data flows: ``formats`` (sources) -> ``core`` (Session,
results, parameters) -> ``nwb`` (tables in and out) -> ``process`` (pure analyses) and
``models`` (feature extractors) -> ``steps`` (one runner per CLI verb) -> ``viz``
(figures). ``examples`` makes synthetic data with known truth.
"""
from .core.errors import NwbItError
from .core.provenance import package_version
from .core.session import Session
from .examples import write_example_session
from .formats.l2str import L2StrSource, SourceLayout, read_session
from .nwb.session_file import build_nwbfile
from .nwb.source_fields import read_source_fields
from .steps.convert import convert_session
from .steps.demo import example_metadata_path

__version__ = package_version()

__all__ = ["L2StrSource", "NwbItError", "Session", "SourceLayout", "__version__", "build_nwbfile", "convert_session",
           "example_metadata_path", "read_session", "read_source_fields", "write_example_session"]
