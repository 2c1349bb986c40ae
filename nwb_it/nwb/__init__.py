"""nwb_it's NWB tables in and out: the session file, result and activations tables, atomic writes, validation."""
from .recording import read_aligned, read_presentations, read_spike_trains

__all__ = ["read_aligned", "read_presentations", "read_spike_trains"]
