"""Benchmark: the lab's per-unit reliability loop vs `run_reliability` vs the whole `nwb-it reliability` command.

The seed loop (one ``np.histogram`` per presentation per split, a pandas correlation per
split, 100 true + 100 null splits) runs on 3 units; ``run_reliability`` (read NWB, Elephant
binning, statistics, write the table back) on all units of the same session, in this warm
process; then the command itself in a new process (start-up and imports included: what a
user waits for), in one run. Goals: the command within 1.5x of ``run_reliability``, and
>= 300x the lab's loop per unit.

    python scripts/bench_reliability.py [--units 256 --clips 200 --repeats 8 --seed-units 3]
"""
from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np
import pandas as pd

EDGES = np.array([-0.05, 0.0, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30])


def seed_unit(nested: list[list[np.ndarray]], rng: np.random.RandomState, n_perm: int = 100) -> float:
    """One unit as the lab's notebook did it; returns d'."""
    def split_r2(clips):
        r2 = []
        for _ in range(n_perm):
            a, b = [], []
            for reps in clips:
                if not reps:
                    continue
                order = rng.permutation(len(reps))
                half = len(reps) // 2
                h1 = [np.histogram(reps[i], bins=EDGES)[0] for i in order[:half]]
                h2 = [np.histogram(reps[i], bins=EDGES)[0] for i in order[half:]]
                a.append(np.mean(h1, axis=0) if h1 else np.full(len(EDGES) - 1, np.nan))
                b.append(np.mean(h2, axis=0))
            r2.append(pd.Series(np.concatenate(a)).corr(pd.Series(np.concatenate(b))) ** 2)
        return np.array(r2)

    true = split_r2(nested)
    pool = [r for reps in nested for r in reps]
    pool = [pool[i] for i in rng.permutation(len(pool))]
    dealt, i = [], 0
    for reps in nested:
        dealt.append(pool[i:i + len(reps)])
        i += len(reps)
    null = split_r2(dealt)
    return (np.nanmean(true) - np.nanmean(null)) / (0.5 * (np.nanstd(true) + np.nanstd(null)))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=256)
    ap.add_argument("--clips", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=8)
    ap.add_argument("--seed-units", type=int, default=3)
    args = ap.parse_args()
    from nwb_it import read_session, run_convert, write_example_session
    from nwb_it.steps.reliability import run_reliability

    with tempfile.TemporaryDirectory() as tmp:
        mat = Path(tmp) / "bench_fixshortvid1_coco.mat"
        write_example_session(mat, args.units, args.clips, args.repeats, seed=0)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            nwb = run_convert(mat, {"NWBFile": {"session_start_time": "2024-01-01T00:00:00+00:00"}}, out_dir=tmp)
        session = read_session(mat)
        nested = session.nested()
        print(f"session: {session.n_units} units x {session.n_clips} clips, {session.n_presentations} presentations")

        rng = np.random.RandomState(0)
        t = time.perf_counter()
        for u in range(args.seed_units):
            seed_unit(nested[u], rng)
        seed_per_unit = (time.perf_counter() - t) / args.seed_units

        t = time.perf_counter()
        res = run_reliability(nwb)
        ours_per_unit = (time.perf_counter() - t) / session.n_units
        print(f"seed loop          : {seed_per_unit:8.3f} s/unit  ({args.seed_units} units)")
        print(f"nwb-it reliability : {ours_per_unit * 1e3:8.2f} ms/unit ({session.n_units} units, read + bin + "
              f"stats + write; {int(res.responsive.sum())} responsive)")
        import subprocess
        import sys

        t = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "nwb_it", "reliability", str(nwb)], capture_output=True, text=True)
        command_per_unit = (time.perf_counter() - t) / session.n_units
        if proc.returncode:
            sys.exit(proc.stderr[-2000:])
        print(f"nwb-it reliability (whole command, new process): {command_per_unit * 1e3:8.2f} ms/unit")
        print(f"speed-up per unit: run_reliability {seed_per_unit / ours_per_unit:.0f}x, whole command "
              f"{seed_per_unit / command_per_unit:.0f}x  (goal >= 300x)")
        print(f"whole command / run_reliability = {command_per_unit / ours_per_unit:.2f}  (goal <= 1.5)")


if __name__ == "__main__":
    main()
