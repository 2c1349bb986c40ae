"""The lab's ``L2_str`` MATLAB sessions (v7.3 HDF5 and v5/v7)."""
from .interface import L2StrSource, parse_session_name
from .reader import SourceLayout, read_session

__all__ = ["L2StrSource", "SourceLayout", "parse_session_name", "read_session"]
