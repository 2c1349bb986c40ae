"""The comparison's estimators against known truth, at full size: the figures the comparison guide quotes.

    python scripts/check_estimators.py [--replicates 20]

Sessions from nwb_it.examples.known_reliability (40 units reading out a layer at a 50 ms lag, a response from
80 ms peaking at 120 ms, Poisson counts, 60 clips x 8 repeats; the reliability asked for in the peak bin), measured
by nwb_it.examples.calibration.
"""
from __future__ import annotations

import argparse
import time

from nwb_it.examples.calibration import ceiling_accuracy, perfect_scores, rsa_ceiling_coverage, shuffled_null_rate


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--replicates", type=int, default=20, help="sessions per reliability")
    args = parser.parse_args()
    start = time.perf_counter()
    print(f"{'reliability':>11}  {'ceiling/truth bin':>17}  {'ceiling/truth pooled':>20}  "
          f"{'perfect bin':>11}  {'perfect pooled':>14}")
    for reliability in (0.08, 0.15, 0.37, 0.6):
        acc = ceiling_accuracy(reliability, replicates=args.replicates)
        perfect = perfect_scores(reliability, replicates=args.replicates)
        print(f"{reliability:>11.2f}  {acc['by_bin']:>17.3f}  {acc['pooled']:>20.3f}  {perfect['by_bin']:>11.3f}  "
              f"{perfect['pooled']:>14.3f}")
    rate, counted = shuffled_null_rate(replicates=args.replicates)
    print(f"shuffled activations: {rate:.1%} of {counted} counted bins have an interval excluding 0 (95 % "
          "intervals: ~2.5 % expected per side)")
    rsa = rsa_ceiling_coverage(replicates=args.replicates)
    print(f"RSA ceiling {rsa['ceiling']:.3f} ({rsa['with_ceiling']:.0%} of replicates have one): its interval holds "
          f"the session's ceiling in {rsa['own']:.0%} of them, the replicates' mean ceiling in {rsa['mean']:.0%}")
    print(f"({time.perf_counter() - start:.0f} s)")


if __name__ == "__main__":
    main()
