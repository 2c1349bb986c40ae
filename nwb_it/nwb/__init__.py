"""nwb_it's NWB tables in and out: the session file, presentations, result and activations tables, validation."""
from .presentations import file_clips, read_presentations
from .recording import read_spike_trains

__all__ = ["file_clips", "read_presentations", "read_spike_trains"]
