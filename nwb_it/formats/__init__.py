"""Source formats: one module per format behind :class:`~nwb_it.formats.base.SourceInterface`.

``l2str``: the lab's MATLAB ``L2_str`` sessions (v7.3 HDF5 fast path, h5py fallback, v5).
"""
from __future__ import annotations

from ..core.lazy import lazy_attributes

# imported on first use: the readers load h5py and scipy only when a session is read
_LAZY = {"SourceInterface": ".base", "L2StrSource": ".l2str", "SourceLayout": ".l2str", "read_session": ".l2str"}
__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)

__all__ = sorted(_LAZY)
