"""nwb_it's NWB tables in and out: the session file, presentations, result and activations tables, validation.

Names are imported on first use (PEP 562): light modules of this package (``remote``, ``metadata``) load
without pynwb.
"""
from __future__ import annotations

from ..core.lazy import lazy_attributes

_LAZY = {"file_clips": ".presentations", "read_presentations": ".presentations", "read_spike_trains": ".recording"}
__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)


__all__ = sorted(_LAZY)
