"""A lab's dataset file (``nwb-it run DATASET.yaml``), checked whole before anything runs.

The file names the sessions, their metadata, the clips shown, the analyses with their
parameters, the models, and where results go; :func:`parse_dataset` turns its parsed
YAML (a dict) into a :class:`DatasetSpec`, reporting *every* problem at once, one line
each (``section.key: problem``), as NeuroConv's YAML conversion specification does.
Relative paths are relative to the dataset file's folder. Pure: nothing is read here
but the dict (the runner, :mod:`nwb_it.steps.dataset`, checks that files exist).

Examples
--------
>>> spec = parse_dataset({"sessions": ["raw/*.mat"], "output": "out",
...                       "reliability": {"n_perm": 200}}, base="/lab")
>>> spec.output, spec.reliability.n_perm, spec.results
('/lab/out', 200, 'in_place')
"""
from __future__ import annotations

import dataclasses
import os
import re
from dataclasses import dataclass, field
from typing import Any

from .benchmark_params import BrainScoreExportParams
from .cluster import ClusterParams
from .errors import InvalidParameter, NwbItError
from .params import (
    ActivationPlotParams,
    CompareParams,
    ExtractionParams,
    HeatmapParams,
    PresentationSpec,
    ReliabilityParams,
    ReportParams,
)

RESULTS_CHOICES = ("in_place", "derivatives")
#: Analysis sections: each takes its Params fields; ``false`` turns the step off (those marked True are on by default).
SECTIONS: dict[str, tuple[type, bool]] = {
    "reliability": (ReliabilityParams, True), "heatmaps": (HeatmapParams, True),
    "compare": (CompareParams, True), "plot_activations": (ActivationPlotParams, True),
    "export_brainscore": (BrainScoreExportParams, False), "report": (ReportParams, True),
}
TOP_KEYS = {"sessions", "metadata", "session_table", "stimuli", "stimuli_fps", "clip_map", "layout", "output",
            "results", "models", "summary", "workers", "scheduler", "cluster", "presentations", *SECTIONS}
LAYOUT_KEYS = ("struct", "spikes", "itemnames", "neuron_id", "trialnum")
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_-]{0,40}$")


class DatasetFileError(NwbItError):
    """Every problem of a dataset file, one line each."""

    def __init__(self, problems: list[str], path: str | None = None):
        self.problems = problems
        super().__init__(f"{len(problems)} problem(s): " + "; ".join(problems), path)


@dataclass(frozen=True)
class ModelSpec:
    """One model to extract and compare: ``name`` names its activations table (``<name>_activations``)."""

    name: str
    extraction: ExtractionParams

    @property
    def table(self) -> str:
        return f"{self.name}_activations"


@dataclass(frozen=True)
class DatasetSpec:
    """A checked dataset file (see the module doc; paths absolute)."""

    sessions: tuple[str, ...]                      # globs or paths of .mat / .nwb files, URLs, DANDI: assets
    output: str
    metadata: str | None = None
    session_table: str | None = None
    stimuli: str | None = None
    stimuli_fps: float = 30.0
    clip_map: str | None = None
    layout: dict[str, str] = field(default_factory=dict)
    results: str = "in_place"
    models: tuple[ModelSpec, ...] = ()
    summary: bool = True
    workers: int | None = 1
    scheduler: str | None = None                   # a running Dask scheduler's address, as --scheduler
    cluster: ClusterParams | None = None           # a cluster started for the sessions, as --cluster
    presentations: PresentationSpec = PresentationSpec()
    reliability: ReliabilityParams | None = ReliabilityParams()
    heatmaps: HeatmapParams | None = HeatmapParams()
    compare: CompareParams | None = CompareParams()
    plot_activations: ActivationPlotParams | None = ActivationPlotParams()
    export_brainscore: BrainScoreExportParams | None = None
    report: ReportParams | None = ReportParams()


def _path(value: Any, base: str) -> str:
    text = str(value)
    if text.startswith(("http://", "https://", "DANDI:")):
        return text
    return os.path.normpath(os.path.join(base, os.path.expanduser(text)))


def _params(cls: type, values: Any, where: str, problems: list[str], extra: dict | None = None):
    """``cls(**values)``, each problem a line ``where.key: problem``; None when it cannot be built."""
    if not isinstance(values, dict):
        problems.append(f"{where}: expected a mapping of {cls.__name__} fields, or false, got {values!r}")
        return None
    known = {f.name for f in dataclasses.fields(cls)}
    unknown = sorted(set(values) - known)
    for key in unknown:
        problems.append(f"{where}.{key}: unknown parameter (known: {', '.join(sorted(known))})")
    if unknown:
        return None
    kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in values.items()}
    try:
        return cls(**kwargs, **(extra or {}))
    except InvalidParameter as exc:
        problems.append(f"{where}.{exc.field}: {exc.problem}")
    except (TypeError, ValueError) as exc:
        problems.append(f"{where}: {exc}")
    return None


def _section(doc: dict, name: str, problems: list[str]):
    cls, on = SECTIONS[name]
    value = doc.get(name, {} if on else False)
    if value is False or value is None:
        return None
    return _params(cls, {} if value is True else value, name, problems)


def _models(value: Any, base: str, problems: list[str]) -> tuple[ModelSpec, ...]:
    if not isinstance(value, list):
        problems.append(f"models: expected a list of {{name, model, ...}} mappings, got {value!r}")
        return ()
    out, names = [], set()
    for i, item in enumerate(value):
        where = f"models[{i}]"
        if not isinstance(item, dict) or "name" not in item or "model" not in item:
            problems.append(f"{where}: needs `name` (its table is <name>_activations) and `model` (a local folder)")
            continue
        name = str(item["name"])
        if not _NAME.match(name) or name in names:
            problems.append(f"{where}.name: `{name}` must be a unique word of letters, digits, _ or -")
            continue
        names.add(name)
        values = {k: v for k, v in item.items() if k != "name"}
        model = str(values["model"])
        values["model"] = _path(model, base) if model.startswith((".", "/", "~")) or os.sep in model else model
        if values.get("stimuli_root") is not None:
            values["stimuli_root"] = _path(values["stimuli_root"], base)
        params = _params(ExtractionParams, values, where, problems)
        if params is not None:
            out.append(ModelSpec(name, params))
    return tuple(out)


def parse_dataset(doc: Any, base: str = ".") -> DatasetSpec:
    """Check a parsed dataset file; raise :class:`DatasetFileError` listing every problem (module doc)."""
    if not isinstance(doc, dict):
        raise DatasetFileError(["the file must be a mapping (sessions:, output:, ...)"])
    problems = [f"{k}: unknown key (known: {', '.join(sorted(TOP_KEYS))})" for k in sorted(set(doc) - TOP_KEYS)]
    sessions = doc.get("sessions")
    if isinstance(sessions, str):
        sessions = [sessions]
    if not sessions or not isinstance(sessions, list):
        problems.append("sessions: give a list of session files or globs (.mat sessions, .nwb files, URLs)")
        sessions = []
    if "output" not in doc:
        problems.append("output: give the folder that receives everything (OUT/nwb, OUT/<session>/, OUT/index.html)")
    results = doc.get("results", "in_place")
    if results not in RESULTS_CHOICES:
        problems.append(f"results: `{results}`: use in_place or derivatives")
    layout = doc.get("layout") or {}
    if not isinstance(layout, dict) or not set(layout) <= set(LAYOUT_KEYS) or \
            not all(isinstance(v, str) for v in layout.values()):
        problems.append(f"layout: a mapping of field names ({', '.join(LAYOUT_KEYS)}) to strings")
        layout = {}
    workers = doc.get("workers", 1)
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        problems.append(f"workers: `{workers}`: a whole number >= 1, or null (this machine decides)")
    fps = doc.get("stimuli_fps", 30.0)
    if not isinstance(fps, (int, float)) or not fps > 0:
        problems.append(f"stimuli_fps: `{fps}`: must be > 0")
    presentations = _params(PresentationSpec, doc.get("presentations") or {}, "presentations", problems)
    cluster = _params(ClusterParams, doc["cluster"], "cluster", problems) if doc.get("cluster") else None
    scheduler = doc.get("scheduler")
    if scheduler is not None and not isinstance(scheduler, str):
        problems.append(f"scheduler: `{scheduler}`: a scheduler address such as tcp://host:8786")
    sections = {name: _section(doc, name, problems) for name in SECTIONS}
    models = _models(doc.get("models") or [], base, problems)
    if problems:
        raise DatasetFileError(problems)
    opt = {k: _path(doc[k], base) for k in ("metadata", "session_table", "stimuli", "clip_map") if doc.get(k)}
    return DatasetSpec(sessions=tuple(_path(s, base) for s in sessions), output=_path(doc["output"], base),
                       layout=dict(layout), results=results, models=models, summary=bool(doc.get("summary", True)),
                       workers=workers, scheduler=scheduler, cluster=cluster, stimuli_fps=float(fps),
                       presentations=presentations, **opt, **sections)
