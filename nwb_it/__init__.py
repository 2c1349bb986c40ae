"""nwb_it: macaque IT recording sessions and model activations in one DANDI-ready NWB file.

Layers, lowest first; a module imports only from its own package and the layers below
(``tests/test_core_layout.py`` checks every import, those inside functions too):

    core -> io -> nwb -> formats -> process | models -> viz -> steps -> examples | neuroconv -> cli

``core`` objects, results, parameters and errors; ``io`` atomic files, locks and forked children; ``nwb``
NWB tables in and out; ``formats`` sources (the lab's MAT struct); ``process`` pure
analyses and ``models`` feature extractors (side by side, neither imports the other);
``viz`` figures; ``steps`` one runner per verb; ``examples`` synthetic data with known
truth and the demo, ``neuroconv`` the NeuroConv interface; ``cli`` the command line.
"""
from __future__ import annotations

from .core.errors import NwbItError
from .core.lazy import lazy_attributes
from .core.provenance import package_version

__version__ = package_version()

#: The layers, lowest first (packages on one level are side by side: neither imports the other).
LAYERS: tuple[tuple[str, ...], ...] = (("core",), ("io",), ("nwb",), ("formats",), ("process", "models"), ("viz",),
                                       ("steps",), ("examples", "neuroconv"), ("cli",))

# The public API, imported on first use (PEP 562): ``import nwb_it`` and ``nwb-it --help`` stay fast
# (pynwb, Elephant, matplotlib and torch load only when a name that needs them is used).
_LAZY: dict[str, str] = {
    "Session": ".core.session", "ReliabilityParams": ".core.params", "HeatmapParams": ".core.params",
    "CompareParams": ".core.params", "ExtractionParams": ".core.params", "ReportParams": ".core.params",
    "PresentationSpec": ".core.params", "ActivationPlotParams": ".core.params",
    "OutputPolicy": ".core.output", "verbose": ".core.progress", "logger": ".core.logs",
    "Activations": ".core.results", "ReliabilityResult": ".core.results", "EncodingResult": ".core.results",
    "RSAResult": ".core.results", "TimeEncodingResult": ".core.results", "AlignedCounts": ".core.recording",
    "SpikeTrains": ".core.recording", "Presentations": ".core.recording", "BandedResult": ".core.comparison",
    "CompareResults": ".core.comparison", "BenchmarkData": ".core.benchmark", "ModelScore": ".core.benchmark",
    "DesignResult": ".core.benchmark", "ClusterParams": ".core.cluster", "Outcome": ".steps.outcome",
    "DatasetRun": ".steps.dataset_run",
    "BrainScoreExportParams": ".core.benchmark_params", "ScoreParams": ".core.benchmark_params",
    "DesignParams": ".core.benchmark_params", "DatasetSpec": ".core.dataset", "parse_dataset": ".core.dataset",
    "example_metadata_path": ".examples", "write_example_session": ".examples",
    "write_example_dataset": ".examples.dataset",
    "L2StrSource": ".formats.l2str", "SourceLayout": ".formats.l2str", "read_session": ".formats.l2str",
    "build_nwbfile": ".nwb.session_file", "read_source_fields": ".nwb.source_fields",
    "read_aligned": ".steps", "run_batch": ".steps", "convert_job": ".steps", "validate_job": ".steps",
    "reliability_job": ".steps", "heatmaps_job": ".steps", "plot_activations_job": ".steps", "compare_job": ".steps",
    "extract_job": ".steps",
    "run_compare": ".steps", "run_convert": ".steps", "run_extract": ".steps", "run_extract_batch": ".steps",
    "run_heatmaps": ".steps", "run_plot_activations": ".steps", "run_reliability": ".steps", "run_summary": ".steps",
    "run_export_brainscore": ".steps.export", "run_score": ".steps.score", "run_design": ".steps.design",
    "run_report": ".steps.report", "run_dataset": ".steps.dataset_run",
}
__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)


__all__ = ["LAYERS", "NwbItError", "__version__", *sorted(_LAZY)]
