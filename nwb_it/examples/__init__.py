"""Synthetic data with known truth: example sessions (genuine MAT files), clip frames, read-out units, random models.

Nothing here is needed to convert or analyse real data; tests, the demo and the
benchmarks use it.
"""
from .frames import write_example_frames
from .matwrite import cell_array, write_mat73
from .other_lab import write_other_lab_file
from .session import ExampleTruth, example_clip_names, example_metadata_path, make_example_struct, write_example_session

__all__ = ["ExampleTruth", "cell_array", "example_clip_names", "example_metadata_path", "make_example_struct",
           "write_example_frames", "write_example_session", "write_mat73", "write_other_lab_file"]
