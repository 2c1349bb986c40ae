"""Benchmark: size and seconds of one session's HTML report (``nwb-it report``), against the budget.

A 256-unit example session (``--units``) with clip frames and a tiny random VideoMAE goes through
``nwb-it run`` (convert, reliability, heatmaps, extraction, compare: every figure a report shows),
then its report is written again, timed alone. Prints the page's size and seconds as ratios to
the budget (20 MB, 10 s).

    python scripts/bench_report.py [--units 256 --clips 40 --repeats 6] [--keep DIR]
"""
from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

from nwb_it.core.output import OutputPolicy
from nwb_it.examples.dataset import write_example_dataset
from nwb_it.steps.dataset_run import run_dataset
from nwb_it.steps.report import report_session

BUDGET_MB, BUDGET_S = 20.0, 10.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=256)
    ap.add_argument("--clips", type=int, default=40)
    ap.add_argument("--repeats", type=int, default=6)
    ap.add_argument("--keep", type=Path, help="write here (default: a temporary folder)")
    args = ap.parse_args()
    folder = args.keep or Path(tempfile.mkdtemp())
    files = write_example_dataset(folder, n_sessions=1, n_units=args.units, n_clips=args.clips,
                                  n_repeats=args.repeats, n_perm=100)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        t0 = time.perf_counter()
        run = run_dataset(files["dataset"])
        print(f"nwb-it run (every step, {args.units} units): {time.perf_counter() - t0:.1f} s")
    session = next(s.session for s in run.steps if s.kind == "report")
    page = Path(run.spec.output) / session.name / "report.html"
    t0 = time.perf_counter()
    report_session(session.nwb, page, run.spec.report, stimuli=run.spec.stimuli, output=OutputPolicy(overwrite=True))
    seconds = time.perf_counter() - t0
    mb = page.stat().st_size / 1e6
    print(f"report of {args.units} units: {mb:.1f} MB ({mb / BUDGET_MB:.2f} of the {BUDGET_MB:g} MB budget), "
          f"{seconds:.1f} s ({seconds / BUDGET_S:.2f} of the {BUDGET_S:g} s budget)")


if __name__ == "__main__":
    main()
