"""Benchmark: clips chosen by `design` vs random clips, when the brain is model A (simulation, truth known).

In each world (nwb_it.examples.design_world: a recorded session, a candidate pool, model B saturating on
half of A's dimensions) both models are fitted on the recorded clips, `design` picks N candidates, and
the presentations needed for the right model to predict better with probability 0.8 are found by
simulation (doubling + bisection on the repeats, 2000 simulated experiments each) for the chosen clips
and for random sets of N clips. Printed: per world the two counts and their ratio, the power the
design's own repeat estimate reaches, and the median ratio over worlds (the issue's target: <= 0.5).

    python scripts/bench_design.py [--worlds 10 --clips 5 --snr 0.05 --units 20 --random-sets 25]
"""
from __future__ import annotations

import argparse
import time

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--worlds", type=int, default=10)
    ap.add_argument("--clips", type=int, default=5)
    ap.add_argument("--snr", type=float, default=0.05)
    ap.add_argument("--units", type=int, default=20)
    ap.add_argument("--random-sets", type=int, default=25)
    args = ap.parse_args()
    from nwb_it.examples.design_world import design_trial, two_model_world

    t0 = time.perf_counter()
    ratios = []
    print(f"{'world':>5} {'design':>8} {'random (median)':>16} {'ratio':>7} {'repeats':>8} {'power reached':>14}")
    for seed in range(args.worlds):
        world = two_model_world(seed=seed, snr=args.snr, n_units=args.units)
        trial = design_trial(world, n_clips=args.clips, n_random=args.random_sets, seed=seed)
        ratios.append(trial.ratio)
        print(f"{seed:>5} {trial.chosen:>8} {np.median(trial.random):>16.0f} {trial.ratio:>7.3f} {trial.repeats:>8} "
              f"{trial.reached:>14.3f}")
    print(f"median ratio design / random over {args.worlds} worlds: {np.median(ratios):.3f} (max {max(ratios):.3f}; "
          f"target <= 0.5) in {time.perf_counter() - t0:.1f} s")


if __name__ == "__main__":
    main()
