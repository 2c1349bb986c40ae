"""The lab's ``L2_str`` MATLAB sessions (v7.3 HDF5 and v5/v7).

Names are imported on first use (:mod:`nwb_it.core.lazy`): the reader's constants load without pynwb.
"""
from __future__ import annotations

from ...core.lazy import lazy_attributes

_LAZY = {"L2StrSource": ".interface", "parse_session_name": ".interface", "SourceLayout": ".reader",
         "read_session": ".reader"}
__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)

__all__ = sorted(_LAZY)
