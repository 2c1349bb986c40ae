"""Benchmark: peak memory of ``nwb-it reliability`` when repeat counts are very unequal.

One blank shown ``--blanks`` times among ``--images`` images shown once each (a file written
by pynwb alone). Memory that followed clips x the largest repeat count grew with
blanks x images; nwb_it's counts are stored per presentation. Runs the command line in a
child interpreter and prints its peak resident memory. ``--checkout DIR`` measures another
checkout of nwb_it (e.g. ``git worktree add /tmp/old 3e147fd``, before the change).

    python scripts/bench_reliability_memory.py [--blanks 2000 --images 2000 --checkout DIR]
"""
from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = ("import resource, sys\nfrom nwb_it.cli import main\ncode = main(sys.argv[1:])\n"
         "print('peak_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\nsys.exit(code)")


def main() -> None:
    from nwb_it.examples.other_lab import write_blank_and_images_file

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--blanks", type=int, default=2000)
    ap.add_argument("--images", type=int, default=2000)
    ap.add_argument("--checkout", type=Path, help="another nwb_it checkout to measure")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        path = Path(tmp) / "blank_and_images.nwb"
        write_blank_and_images_file(path, args.blanks, args.images)
        env = dict(os.environ)
        if args.checkout:
            env["PYTHONPATH"] = str(args.checkout.resolve())
        start = time.perf_counter()
        run = subprocess.run([sys.executable, "-c", CHILD, "reliability", str(path), "--stimulus-column", "stim"],
                             capture_output=True, text=True, env=env, cwd=tmp)
        seconds = time.perf_counter() - start
    if run.returncode != 0:
        print(f"failed (exit {run.returncode}) after {seconds:.1f} s: {run.stderr.strip().splitlines()[-1:]}")
        return
    peak = int(run.stdout.split("peak_kb")[1].split()[0]) / 1024
    print(f"{args.blanks} blanks + {args.images} images shown once, 8 units: peak {peak:,.0f} MB, {seconds:.1f} s")


if __name__ == "__main__":
    main()
