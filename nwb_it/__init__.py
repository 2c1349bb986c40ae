"""nwb_it: macaque IT recording sessions and model activations in one DANDI-ready NWB file.

Layers, lowest first; a module imports only from its own package and the layers below
(``tests/test_core_layout.py`` checks every import, those inside functions too):

    core -> io -> nwb -> formats -> process | models -> viz -> steps -> examples | neuroconv -> cli

``core`` objects, results, parameters and errors; ``io`` atomic files and locks; ``nwb``
NWB tables in and out; ``formats`` sources (the lab's MAT struct); ``process`` pure
analyses and ``models`` feature extractors (side by side, neither imports the other);
``viz`` figures; ``steps`` one runner per verb; ``examples`` synthetic data with known
truth and the demo, ``neuroconv`` the NeuroConv interface; ``cli`` the command line.
"""
from .core.errors import NwbItError
from .core.provenance import package_version
from .core.session import Session
from .examples import example_metadata_path, write_example_session
from .formats.l2str import L2StrSource, SourceLayout, read_session
from .nwb.session_file import build_nwbfile
from .nwb.source_fields import read_source_fields
from .steps import (
    run_compare,
    run_convert,
    run_extract,
    run_extract_batch,
    run_heatmaps,
    run_plot_activations,
    run_reliability,
    run_summary,
)

__version__ = package_version()

#: The layers, lowest first (packages on one level are side by side: neither imports the other).
LAYERS: tuple[tuple[str, ...], ...] = (("core",), ("io",), ("nwb",), ("formats",), ("process", "models"), ("viz",),
                                       ("steps",), ("examples", "neuroconv"), ("cli",))

__all__ = ["LAYERS", "L2StrSource", "NwbItError", "Session", "SourceLayout", "__version__", "build_nwbfile",
           "example_metadata_path", "read_session", "read_source_fields", "run_compare", "run_convert", "run_extract",
           "run_extract_batch", "run_heatmaps", "run_plot_activations", "run_reliability", "run_summary",
           "write_example_session"]
