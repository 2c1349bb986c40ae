"""Benchmark: a batch of sessions through ``nwb-it convert`` and ``nwb-it reliability``, 1 worker vs N.

Writes ``--sessions`` example v7.3 sessions, then runs the commands themselves (each its own
process, start-up included: it is what a user waits for) with ``--workers 1``, with
``--workers N`` and with the default (no ``--workers``), in one run of this script, and prints
each time and its ratio to ``--workers 1`` (goal: N=2 workers <= 0.6x). Checks that every run
wrote the same d'. The issue's size is the default:

    python scripts/bench_sessions.py [--sessions 4 --units 128 --clips 100 --workers 2]
"""
from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

GOAL = 0.6


def timed(args: list[str]) -> float:
    start = time.perf_counter()
    proc = subprocess.run([sys.executable, "-m", "nwb_it", *args], capture_output=True, text=True)
    if proc.returncode:
        sys.exit(proc.stderr[-2000:])
    return time.perf_counter() - start


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=4)
    ap.add_argument("--units", type=int, default=128)
    ap.add_argument("--clips", type=int, default=100)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()
    import yaml

    from nwb_it.examples import write_example_session
    from nwb_it.nwb.io import reading
    from nwb_it.nwb.results import read_reliability_table

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        mats = [tmp / f"rec_fixshortvid{i + 1}_coco.mat" for i in range(args.sessions)]
        for i, mat in enumerate(mats):
            write_example_session(mat, args.units, args.clips, 8, seed=i)
        meta = tmp / "meta.yaml"
        meta.write_text(yaml.safe_dump({"NWBFile": {"session_start_time": "2024-01-01T00:00:00+00:00"},
                                        "Subject": {"age": "P7Y"}}))
        runs = {"1 worker": ["--workers", "1"], f"{args.workers} workers": ["--workers", str(args.workers)],
                "default": []}
        times, dprimes = {}, {}
        for label, flag in runs.items():
            out = tmp / label.replace(" ", "_")
            convert = timed(["convert", *map(str, mats), "--metadata", str(meta), "-o", str(out), *flag])
            files = sorted(out.rglob("*.nwb"))
            reliability = timed(["reliability", *map(str, files), *flag])
            times[label] = (convert, reliability)
            dprimes[label] = []
            for f in files:
                with reading(f) as nwb:
                    dprimes[label].append(read_reliability_table(nwb).dprime)
        same = all(np.array_equal(a, b, equal_nan=True) for d in dprimes.values()
                   for a, b in zip(d, dprimes["1 worker"], strict=True))
    print(f"{args.sessions} sessions x {args.units} units x {args.clips} clips x 8 repeats (v7.3), each command its "
          "own process")
    base = times["1 worker"]
    for label, (conv, rel) in times.items():
        print(f"{label:>10}: convert {conv:6.1f} s ({conv / base[0]:.2f}x)  reliability {rel:6.1f} s "
              f"({rel / base[1]:.2f}x)  both {conv + rel:6.1f} s ({(conv + rel) / sum(base):.2f}x of 1 worker)")
    ratio = times[f"{args.workers} workers"][0] / base[0]
    print(f"convert --workers {args.workers} / --workers 1 = {ratio:.2f}  (goal <= {GOAL}: "
          f"{'met' if ratio <= GOAL else 'NOT met'})")
    print(f"identical d' in every run: {same}")


if __name__ == "__main__":
    main()
