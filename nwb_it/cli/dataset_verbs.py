"""Dataset verbs: run (a dataset file, step by step, skipping what is done) and report (HTML pages)."""
from __future__ import annotations

from pathlib import Path

from ..core.params import ReportParams, default
from . import verb
from .options import (
    absolute,
    command,
    derivative_option,
    location,
    output_policy,
    overwrite_option,
    params_from,
    presentation_options,
    spec,
)


@verb("report")
def _report(sub) -> None:
    p = command(sub, "report", "one self-contained HTML page per session (OUT/<session>/report.html) and an index "
                "(OUT/index.html), opened from disk: numbers, unit table, clip view, figures")
    p.add_argument("nwb", type=location, nargs="+", help="NWB file(s): paths, URLs or DANDI: assets (a remote file's "
                   "report is made from its derivative: --derivative-dir)")
    p.add_argument("-o", "--out-dir", type=Path, required=True, help="report folder (figures the verbs drew into "
                   "OUT/<session>/ are shown in that session's page)")
    p.add_argument("--stimuli", type=Path, help="clip frames or videos folder, for files without stimulus templates")
    p.add_argument("--summary-dir", type=Path, help="nwb-it summary's folder: its figures go into the index")
    p.add_argument("--scores-dir", type=Path, help="nwb-it score's folder: the models' benchmark scores (table and "
                   "figure) go into the index")
    p.add_argument("--window", type=float, nargs=2, default=default(ReportParams, "window"), metavar=("START", "END"),
                   help="raster and PSTH window around clip onset (s)")
    p.add_argument("--bin", type=float, default=default(ReportParams, "bin_size"),
                   help="PSTH bin (s) of units without a stored comparison")
    p.add_argument("--max-units", type=int, default=default(ReportParams, "max_units"),
                   help="units in the clip view (compared and responsive units first)")
    p.add_argument("--frame-px", type=int, default=default(ReportParams, "frame_px"), help="embedded frame size")
    p.add_argument("--max-frames", type=int, default=default(ReportParams, "max_frames"),
                   help="frames embedded per clip")
    p.add_argument("--figure-budget-mb", type=float, default=default(ReportParams, "figure_budget_mb"),
                   help="figures beside the report are embedded up to this size, then linked")
    derivative_option(p)
    overwrite_option(p, "earlier reports")
    presentation_options(p)

    def run(args) -> int:
        from ..steps.jobs import elsewhere
        from ..steps.report import run_report
        from ..steps.targets import results_source

        params = params_from(ReportParams, args)
        from ..core.errors import NwbItError
        from ..core.locations import location_stem
        from ..nwb.remote import is_remote

        if args.derivative_dir is None:
            for p in args.nwb:
                if is_remote(p):          # its results live in its derivative, never in the archive's file
                    raise NwbItError("the report of a remote file is made from its derivative: pass "
                                     "`--derivative-dir` (the folder nwb-it reliability / compare wrote into)", p)
        output = output_policy(args)
        sources = [results_source(absolute(p), output, presentations=spec(args)) for p in args.nwb]
        for path, source in zip(args.nwb, sources):
            if derivative := elsewhere(absolute(path), source):
                print(f"{path}: reading its derivative {derivative}")
        pages = run_report(sources, params, out_dir=args.out_dir, presentations=spec(args), stimuli=args.stimuli,
                           summary_dir=args.summary_dir, scores_dir=args.scores_dir, output=output,
                           names=[location_stem(p) for p in args.nwb])
        print("\n".join(str(p) for p in pages))
        return 0
    p.set_defaults(func=run)


@verb("run")
def _run(sub) -> None:
    p = command(sub, "run", "every step of a dataset file (convert, reliability, heatmaps, extract, compare, report, "
                "summary), skipping what is up to date; see docs/guide/dataset-file.md")
    p.add_argument("dataset", type=Path, help="the dataset file (YAML: sessions, metadata, stimuli, models, analyses)")
    p.add_argument("--dry-run", action="store_true", help="say what would run and why; write nothing")
    overwrite_option(p, "outputs that exist but no earlier run of this dataset file wrote")

    def run(args) -> int:
        import sys

        from ..core.dataset import DatasetFileError
        from ..steps.dataset_run import run_dataset
        from .options import as_flags

        try:
            result = run_dataset(args.dataset, dry_run=args.dry_run, overwrite=args.overwrite)
        except DatasetFileError as exc:          # the file's own words (section.key), one line per problem
            for problem in exc.problems:
                print(f"nwb-it: error: {args.dataset}: {problem}", file=sys.stderr)
            return 2
        todo = [s for s in result.steps if s.runs]
        verb_ = "would run" if args.dry_run else "ran"
        for s in todo:
            if args.dry_run or s.id in result.ran:
                print(f"{verb_}: {s.id} ({s.reason})")
        print(f"up to date: {len(result.steps) - len(todo)} of {len(result.steps)} steps"
              + (" (nothing to do)" if not todo else ""))
        for step_id, why in result.skipped.items():
            print(f"not run: {step_id} ({why})")
        for step_id, message in result.failed.items():
            print(f"nwb-it: error: {step_id}: {as_flags(message)}", file=sys.stderr)
        if not args.dry_run:
            print("outputs:")
            print("\n".join(f"  {o}" for o in result.outputs))
        return 2 if result.failed else 0
    p.set_defaults(func=run)
