"""``nwb-it run DATASET.yaml``: every step of a lab's dataset, in order, skipping what is done.

Read the dataset file (:mod:`nwb_it.core.dataset`) -> find its sessions -> plan every step
with its key (:mod:`nwb_it.steps.dataset_plan`) -> run what is not up to date, per session
through :func:`~nwb_it.steps.batch.run_batch` (``workers`` sessions at a time) -> record it.

Layout of ``OUT`` (one, whatever the number of sessions)::

    OUT/nwb/sub-<subject>/...nwb          converted sessions (DANDI layout; results in place)
    OUT/derivatives/...desc-nwbit...nwb   results of read-only or remote files (``results: derivatives``)
    OUT/<session>/heatmaps/               nwb-it heatmaps
    OUT/<session>/activations/<model>/    nwb-it plot-activations, per model
    OUT/<session>/compare/<model>/        nwb-it compare, per model
    OUT/<session>/report.html             nwb-it report
    OUT/summary/  OUT/brainscore/  OUT/index.html   the dataset's steps
    OUT/.cache/activations/               each model's activations of the clips, computed once
"""
from __future__ import annotations

import dataclasses
import glob
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import yaml

from ..core.dataset import DatasetFileError, DatasetSpec, parse_dataset
from ..core.errors import NwbItError
from ..core.locations import location_stem
from ..core.output import OutputPolicy
from ..core.params import ExtractionParams, to_dict
from ..formats.l2str.reader import SourceLayout
from ..nwb.metadata import UniqueKeyLoader
from ..nwb.remote import is_remote
from .batch import run_batch
from .convert import plan_conversions, run_convert
from .dataset_plan import RunState, Session, Step, key_of, source_key, step_reason
from .targets import results_source, results_target

#: Per-session kinds in the order they run, then the dataset's.
ORDER = ("convert", "reliability", "heatmaps", "extract", "plot_activations", "compare", "report",
         "summary", "export_brainscore", "index")


def load_dataset(path: str | Path) -> DatasetSpec:
    """Read and check a dataset file; every problem in one :class:`DatasetFileError` naming the file."""
    path = Path(path)
    try:
        doc = yaml.load(path.read_text(encoding="utf-8"), Loader=UniqueKeyLoader)     # safe: no tag runs
    except OSError as exc:
        raise NwbItError(f"cannot read the dataset file ({exc.strerror})", path) from None
    except yaml.YAMLError as exc:
        raise NwbItError(f"not valid YAML ({str(exc).splitlines()[0]})", path) from None
    except NwbItError as exc:
        raise NwbItError(exc.problem, path) from None
    try:
        return parse_dataset(doc, str(path.parent.absolute()))
    except DatasetFileError as exc:
        raise DatasetFileError(exc.problems, path) from None


def find_sessions(spec: DatasetSpec) -> list[Session]:
    """Every session the file names (globs expanded, sorted; a name given twice counts once)."""
    sources: list[str] = []
    for entry in spec.sessions:
        if is_remote(entry):
            sources.append(entry)
            continue
        hits = sorted(glob.glob(entry, recursive=True)) if glob.has_magic(entry) else [entry]
        if not hits or not all(Path(h).is_file() for h in hits):
            raise NwbItError("no session file there (sessions: in the dataset file)", entry)
        sources.extend(str(Path(h).absolute()) for h in hits)
    sources = list(dict.fromkeys(sources))
    mats = [s for s in sources if not is_remote(s) and Path(s).suffix.lower() == ".mat"]
    plans = {str(p.source): p for p in plan_conversions([Path(m) for m in mats], Path(spec.output) / "nwb",
                                                        spec.metadata, spec.session_table)} if mats else {}
    out = []
    for s in sources:
        if s in plans:
            if plans[s].output is None:
                raise NwbItError("not a session file this tool converts", s)
            nwb = str(plans[s].output)
            out.append(Session(s, nwb, True, location_stem(nwb), plans[s].metadata))
        else:
            out.append(Session(s, s, False, location_stem(s)))
    names = [s.name for s in out]
    twice = sorted({n for n in names if names.count(n) > 1})
    if twice:
        raise NwbItError(f"two sessions would share the folder OUT/{twice[0]}: rename one", spec.output)
    return out


def _model_key(state: RunState, params: ExtractionParams) -> str:
    folder = Path(params.model)
    return state.tree_digest(folder) if folder.is_dir() else params.model


def build_plan(spec: DatasetSpec, state: RunState, sessions: list[Session]) -> list[Step]:
    """Every step of the dataset with its key, outputs and the reason it runs ("" = up to date)."""
    out = Path(spec.output)
    steps: dict[str, Step] = {}

    def add(step: Step, after: list[str], watched: Path | None = None) -> Step:
        steps[step.id] = step
        step.reason = step_reason(state, step, [d for d in after if steps[d].runs], watched)
        return step

    stimuli = state.tree_digest(Path(spec.stimuli)) if spec.stimuli and Path(spec.stimuli).is_dir() else None
    models = {m.name: _model_key(state, m.extraction) for m in spec.models}
    pres = to_dict(spec.presentations)
    finals: dict[str, list[str]] = {}
    for s in sessions:
        src = source_key(state, spec, s, stimuli)
        # our writes change the file: what the last run wrote into, checked unchanged since
        results = Path(state.results[s.name]) if s.name in state.results else None
        first = add(Step(f"{'convert' if s.converted else 'source'}:{s.name}", "convert" if s.converted else "source",
                         src, [s.nwb] if s.converted else [], s), [], Path(s.nwb) if s.converted else results)
        mine = [first.id]
        rel = None
        if spec.reliability is not None:
            rel = add(Step(f"reliability:{s.name}", "reliability", key_of("reliability", spec.reliability, src,
                                                                          presentations=pres), [], s), mine, results)
            mine.append(rel.id)
            if spec.heatmaps is not None:
                mine.append(add(Step(f"heatmaps:{s.name}", "heatmaps", key_of("heatmaps", spec.heatmaps, rel.key),
                                     [str(out / s.name / "heatmaps")], s), [rel.id]).id)
        for m in spec.models:
            ext = add(Step(f"extract:{m.name}:{s.name}", "extract",
                           key_of("extract", m.extraction, src, model=models[m.name], stimuli=stimuli, table=m.table,
                                  presentations=pres), [], s, m), [first.id], results)
            mine.append(ext.id)
            if spec.plot_activations is not None:
                plot = dataclasses.replace(spec.plot_activations, activations=m.table)
                mine.append(add(Step(f"plot_activations:{m.name}:{s.name}", "plot_activations",
                                     key_of("plot_activations", plot, ext.key),
                                     [str(out / s.name / "activations" / m.name)], s, m), [ext.id]).id)
            if spec.compare is not None and rel is not None:
                mine.append(add(Step(f"compare:{m.name}:{s.name}", "compare",
                                     key_of("compare", spec.compare, ext.key, rel.key, presentations=pres),
                                     [str(out / s.name / "compare" / m.name)], s, m), [ext.id, rel.id], results).id)
        if spec.report is not None:
            mine.append(add(Step(f"report:{s.name}", "report",
                                 key_of("report", spec.report, *[steps[i].key for i in mine], stimuli=stimuli),
                                 [str(out / s.name / "report.html")], s), list(mine)).id)
        finals[s.name] = mine
    every = [i for ids in finals.values() for i in ids]
    if spec.summary:
        add(Step("summary", "summary", key_of("summary", None, *[steps[i].key for i in every]),
                 [str(out / "summary")]), every)
    if spec.export_brainscore is not None:
        add(Step("export_brainscore", "export_brainscore",
                 key_of("export", spec.export_brainscore, *[steps[i].key for i in every]),
                 [str(out / "brainscore")]), every)
    if spec.report is not None:
        after = [i for i in every if i.startswith("report:")] + (["summary"] if spec.summary else [])
        add(Step("index", "index", key_of("index", None, *[steps[i].key for i in after]),
                 [str(out / "index.html")]), after)
    return sorted(steps.values(), key=lambda st: ORDER.index(st.kind) if st.kind in ORDER else 0)


def dataset_output(spec: DatasetSpec, overwrite: bool = False) -> OutputPolicy:
    """A step's output policy: results in the session's file or in ``OUT/derivatives`` (``results:``)."""
    return OutputPolicy(overwrite=overwrite,
                        derivative_dir=None if spec.results == "in_place" else Path(spec.output) / "derivatives")


def results_file(spec: DatasetSpec, session: Session, overwrite: bool = False) -> Path:
    """The NWB file a session's results go into: the file itself, or its derivative."""
    if spec.results == "in_place":
        return Path(session.nwb)
    return results_target(session.nwb, dataset_output(spec, overwrite), presentations=spec.presentations)


def results_for_reading(spec: DatasetSpec, session: Session) -> str | Path:
    return results_source(session.nwb, dataset_output(spec), presentations=spec.presentations)


def convert_session(spec: DatasetSpec, session: Session, overwrite: bool) -> Path:
    return run_convert(session.source, session.metadata, out_dir=Path(spec.output) / "nwb",
                       output=OutputPolicy(overwrite=overwrite),
                       layout=SourceLayout(**spec.layout), stimuli=spec.stimuli, stimuli_fps=spec.stimuli_fps,
                       clip_map=spec.clip_map)


def run_jobs(make: Callable[[Step], Callable[[Path], dict]], steps: list[Step], spec: DatasetSpec, desc: str
             ) -> dict[str, str]:
    """Run one job per step (``workers`` at a time); the error line of each failed step by its id."""
    if not steps:
        return {}
    jobs = {_job_key(st.session.nwb): make(st) for st in steps}
    outcomes = run_batch(_Dispatch(jobs), [st.session.nwb for st in steps], workers=spec.workers,
                         scheduler=spec.scheduler, cluster=spec.cluster, desc=desc)
    return {st.id: o.message for st, o in zip(steps, outcomes) if o.failed}


@dataclass(frozen=True)
class _Dispatch:
    jobs: dict

    def __call__(self, path) -> dict:
        return self.jobs[_job_key(path)](path)


def _job_key(path) -> str:
    return str(path) if is_remote(path) else str(Path(path).resolve())
