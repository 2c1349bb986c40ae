"""Run a dataset's plan (:mod:`nwb_it.steps.dataset`): each kind of step in order, then record it.

Examples
--------
>>> from nwb_it.examples.dataset import write_example_dataset
>>> files = write_example_dataset("lab", n_sessions=1, n_units=4, n_clips=6, n_repeats=3)
>>> plan = run_dataset(files["dataset"], dry_run=True)          # what would run, and why; nothing is written
>>> [(s.kind, s.reason) for s in plan.steps if s.runs][:2]
[('convert', 'new'), ('reliability', 'new')]
"""
from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from pathlib import Path

from ..core.dataset import DatasetSpec
from ..core.errors import NwbItError
from ..core.output import OutputPolicy
from ..core.progress import progress_bar
from ..nwb.remote import is_remote
from .compare import run_compare
from .dataset import (
    build_plan,
    convert_session,
    dataset_output,
    find_sessions,
    load_dataset,
    results_file,
    results_for_reading,
    run_jobs,
)
from .dataset_plan import RunState, Session, Step
from .export import run_export_brainscore
from .extract import run_extract_batch
from .forked import call_in_child, fork_is_safe
from .heatmaps import run_heatmaps
from .plot_activations import run_plot_activations
from .reliability import run_reliability
from .report import INDEX_NAME, REPORT_NAME, report_session, write_index
from .summary import run_summary

IN_PLACE = ("convert", "source", "reliability", "extract", "compare")     # steps that write the session's NWB file


@dataclass
class DatasetRun:
    """What ``run_dataset`` planned and did: the plan, the ids run, the failures (id -> error line)."""

    spec: DatasetSpec
    steps: list[Step]
    ran: list[str] = field(default_factory=list)
    failed: dict[str, str] = field(default_factory=dict)
    skipped: dict[str, str] = field(default_factory=dict)     # id -> why it did not run though it should have

    @property
    def outputs(self) -> list[str]:
        """Every file and folder the dataset's steps wrote, this run or before (NWB files, figures, pages)."""
        files = [o for s in self.steps if s.id not in self.failed and s.id not in self.skipped for o in s.outputs]
        return [f for f in dict.fromkeys(files) if Path(f).exists()]


def call_step(kind: str, spec: DatasetSpec, session: Session, model, overwrite: bool) -> dict:
    """Do one per-session step; a row saying what it wrote (the batch's ``Outcome.value``)."""
    out = Path(spec.output) / session.name
    if kind == "convert":
        return {"nwb": str(convert_session(spec, session, overwrite))}
    if kind == "reliability":
        result = run_reliability(session.nwb, spec.reliability, presentations=spec.presentations,
                                 output=dataset_output(spec, overwrite))
        return {"responsive": int(result.responsive.sum()), "written_to": result.written_to}
    if kind == "heatmaps":
        paths = run_heatmaps(results_for_reading(spec, session), spec.heatmaps, out_dir=out / "heatmaps",
                             presentations=spec.presentations, output=OutputPolicy(overwrite=overwrite))
        return {"figures": len(paths)}
    if kind == "plot_activations":
        params = dataclasses.replace(spec.plot_activations, activations=model.table)
        paths = run_plot_activations(results_for_reading(spec, session), params,
                                     out_dir=out / "activations" / model.name,
                                     output=OutputPolicy(overwrite=overwrite))
        return {"figures": len(paths)}
    if kind == "compare":
        results = run_compare(session.nwb, spec.compare, out_dir=out / "compare" / model.name,
                              presentations=spec.presentations, output=dataset_output(spec, overwrite),
                              activations=model.table)
        return {"layers": list(results), "written_to": results.written_to}
    raise NwbItError(f"unknown step kind {kind!r}")


@dataclass(frozen=True)
class SessionJob:
    """One per-session step as a picklable batch job (``run_batch`` may send it to a Dask worker)."""

    kind: str
    spec: DatasetSpec
    session: Session
    overwrite: bool
    model: object | None = None

    def __call__(self, path: Path) -> dict:
        return call_step(self.kind, self.spec, self.session, self.model, self.overwrite)


class _Runner:
    def __init__(self, run: DatasetRun, state: RunState, overwrite: bool):
        self.run, self.state, self.overwrite = run, state, overwrite
        self.spec = run.spec
        self.targets: dict[str, Path] = {}

    def may_overwrite(self, step: Step) -> bool:
        # outputs this tool recorded are its own to replace; anything else only with --overwrite
        return self.overwrite or step.id in self.state.steps

    def results_of(self, session: Session) -> Path:
        """The file a session's results are in, found once per run (a derivative's check reads its source)."""
        if session.name not in self.targets:
            self.targets[session.name] = results_file(self.spec, session, overwrite=True)
        return self.targets[session.name]

    def done(self, step: Step) -> None:
        self.state.steps[step.id] = {"key": step.key, "outputs": step.outputs}
        if step.kind == "convert":
            self.state.remember_file(Path(step.session.nwb))
        elif step.session is not None and step.kind in IN_PLACE and \
                (self.spec.results == "derivatives" or not is_remote(step.session.nwb)):
            target = self.results_of(step.session)
            self.state.results[step.session.name] = str(target)
            self.state.remember_file(target)
        self.run.ran.append(step.id)
        self.state.save()

    def fail(self, step: Step, message: str) -> None:
        self.run.failed[step.id] = message

    def blocked(self, step: Step) -> str | None:
        if step.session is not None:
            for failed in self.run.failed:
                if failed.endswith(":" + step.session.name):
                    return f"{failed} failed"
        elif self.run.failed:
            return f"{len(self.run.failed)} step(s) failed"
        return None

    def todo(self, kind: str) -> list[Step]:
        steps = []
        for st in self.run.steps:
            if st.kind != kind or not st.runs:
                continue
            why = self.blocked(st)
            if why:
                self.run.skipped[st.id] = why
            else:
                steps.append(st)
        return steps

    def per_session(self, kind: str, model=None) -> None:
        steps = [st for st in self.todo(kind) if model is None or st.model is model]
        if kind == "source":
            for st in steps:
                self.done(st)
            return
        failed = run_jobs(lambda st: SessionJob(kind, self.spec, st.session, self.may_overwrite(st), st.model),
                          steps, self.spec, kind.replace("_", "-") + (f" ({model.name})" if model else ""))
        for st in steps:
            self.fail(st, failed[st.id]) if st.id in failed else self.done(st)

    def extract(self, model) -> None:
        steps = [st for st in self.todo("extract") if st.model is model]
        if not steps:
            return
        args = (self.spec, model, [st.session.nwb for st in steps], any(self.may_overwrite(st) for st in steps))
        # in a child where this process may fork: torch then never loads here, and the steps after the
        # extraction still run on forked workers (a LocalCluster's start-up would be paid once per step)
        outcomes = call_in_child(_extract_outcomes, *args) if fork_is_safe() else _extract_outcomes(*args)
        for st, o in zip(steps, outcomes):
            self.fail(st, o.message) if o.failed else self.done(st)

    def reports(self) -> None:
        for st in progress_bar(self.todo("report"), desc="report"):
            try:
                row = report_session(results_for_reading(self.spec, st.session), st.outputs[0], self.spec.report,
                                     presentations=self.spec.presentations, stimuli=self.spec.stimuli,
                                     output=OutputPolicy(overwrite=self.may_overwrite(st)))
            except NwbItError as exc:
                self.fail(st, str(exc))
                continue
            self.state.rows[st.session.name] = row
            self.done(st)

    def dataset_steps(self, sessions: list[Session]) -> None:
        out = Path(self.spec.output)
        for st in self.todo("summary"):
            files = [self.results_of(s) for s in sessions]
            run_summary(files, out_dir=out / "summary", output=OutputPolicy(overwrite=self.may_overwrite(st)))
            self.done(st)
        for st in self.todo("export_brainscore"):
            run_export_brainscore([self.results_of(s) for s in sessions], self.spec.export_brainscore,
                                  out_dir=out / "brainscore", presentations=self.spec.presentations,
                                  output=OutputPolicy(overwrite=self.may_overwrite(st)))
            self.done(st)
        for st in self.todo("index"):
            rows = [self.state.rows[s.name] for s in sessions if s.name in self.state.rows]
            write_index(rows, out / INDEX_NAME, summary_dir=out / "summary" if self.spec.summary else None,
                        output=OutputPolicy(overwrite=self.may_overwrite(st)))
            self.done(st)


def _extract_outcomes(spec: DatasetSpec, model, nwb_paths: list, overwrite: bool) -> list:
    """One model's activations written into the sessions' files (cached in ``OUT/.cache``): an outcome per file."""
    _, outcomes = run_extract_batch(spec.stimuli, model.extraction, nwb_paths=nwb_paths, activations=model.table,
                                    presentations=spec.presentations,
                                    cache_dir=Path(spec.output) / ".cache" / "activations",
                                    output=dataset_output(spec, overwrite))
    return outcomes


def run_dataset(path: str | Path, *, dry_run: bool = False, overwrite: bool = False) -> DatasetRun:
    """Run every step of the dataset file at ``path`` that is not up to date (module doc of :mod:`.dataset`).

    ``dry_run`` plans only: nothing is written, the returned steps say what would run and
    why. Outputs that exist but no earlier run recorded are refused unless ``overwrite``.
    A failed step stops its session's later steps (and the dataset's steps), not the others'.
    """
    spec = load_dataset(path)
    for name in ("stimuli", "metadata", "session_table", "clip_map"):
        where = getattr(spec, name)
        if where is not None and not Path(where).exists():
            raise NwbItError(f"{name}: no such file or folder ({where})", path)
    for m in spec.models:
        if m.extraction.model.startswith(("/", ".")) and not Path(m.extraction.model).is_dir():
            raise NwbItError(f"models: {m.name}: no model folder {m.extraction.model} (give a folder saved with "
                             "save_pretrained, or a model id in the Hugging Face cache)", path)
    state = RunState.load(Path(spec.output))
    sessions = find_sessions(spec)
    run = DatasetRun(spec, build_plan(spec, state, sessions))
    if dry_run:
        return run
    runner = _Runner(run, state, overwrite)
    runner.per_session("source")
    runner.per_session("convert")
    runner.per_session("reliability")
    runner.per_session("heatmaps")
    for m in spec.models:
        runner.extract(m)
        runner.per_session("plot_activations", m)
        runner.per_session("compare", m)
    runner.reports()
    runner.dataset_steps(sessions)
    state.save()
    return run


__all__ = ["DatasetRun", "run_dataset", "REPORT_NAME"]
