"""Benchmark: calibration, across-seed stability of d', and the cost of --lab-compat, measured in one run.

1. Null sessions (rates with a time course, no dependence on the clip): the fraction of
   units with p < 0.05 and p < 0.01, and the fraction called responsive, for the default
   re-dealt null and the lab's single deal.
2. An example session with known truth: the spread of every unit's d' over seeds
   (mean per-unit standard deviation, and flat units ever called responsive), both nulls.
3. Seconds per unit of the default statistic vs ``--lab-compat`` on the same session.

    python scripts/bench_statistics.py [--null-sessions 3 --seeds 10]
"""
from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--null-sessions", type=int, default=3)
    ap.add_argument("--seeds", type=int, default=10)
    args = ap.parse_args()
    warnings.simplefilter("ignore")
    from pynwb import NWBHDF5IO

    from nwb_it import run_convert, write_example_session
    from nwb_it.core.params import ReliabilityParams
    from nwb_it.examples.null_session import null_aligned_counts
    from nwb_it.nwb import read_presentations, read_spike_trains
    from nwb_it.process.lab_reliability import lab_reliability
    from nwb_it.process.reliability import reliability
    from nwb_it.steps import read_aligned

    for null in ("redeal", "once"):
        p, resp = [], []
        for s in range(args.null_sessions):
            res = reliability(null_aligned_counts(300, 200, 8, 100 + s), ReliabilityParams(null=null, seed=s))
            p.append(res.p_value)
            resp.append(res.responsive)
        p, resp = np.concatenate(p), np.concatenate(resp)
        print(f"null sessions ({args.null_sessions} x 300 flat units x 200 clips), null={null}: "
              f"P(p<0.05) = {np.mean(p < 0.05):.3f}, P(p<0.01) = {np.mean(p < 0.01):.3f}, "
              f"responsive (d' > 3) = {np.mean(resp):.2%}")

    with tempfile.TemporaryDirectory() as tmp:
        mat = Path(tmp) / "bench_fixshortvid1_coco.mat"
        truth = write_example_session(mat, 64, 200, 8, seed=0)
        nwb = run_convert(mat, {"NWBFile": {"session_start_time": "2024-01-01T00:00:00+00:00"},
                                        "Subject": {"age": "P7Y"}}, out_dir=tmp)
        with NWBHDF5IO(str(nwb), "r") as io:
            f = io.read()
            aligned = read_aligned(f)
            spikes, pres, resolution = read_spike_trains(f), read_presentations(f), f.units.resolution
        flat = ~truth.responsive
        for null in ("redeal", "once"):
            d = np.stack([reliability(aligned, ReliabilityParams(null=null, seed=s, n_null=100)).dprime
                          for s in range(args.seeds)])
            ranges = np.nanmax(d, 0) - np.nanmin(d, 0)
            print(f"example session (64 units, 200 clips), d' over {args.seeds} seeds, null={null}: mean per-unit sd "
                  f"{np.nanmean(d.std(0)):.2f}, largest range {np.nanmax(ranges):.1f} "
                  f"(unit {int(np.nanargmax(ranges))}: {np.nanmin(d[:, np.nanargmax(ranges)]):.1f}.."
                  f"{np.nanmax(d[:, np.nanargmax(ranges)]):.1f}); flat units responsive under some seed: "
                  f"{int((d[:, flat] > 3).any(0).sum())} of {int(flat.sum())}")
        t = time.perf_counter()
        reliability(aligned, ReliabilityParams())
        default = (time.perf_counter() - t) / aligned.counts.shape[0]
        t = time.perf_counter()
        lab_reliability(spikes, pres, ReliabilityParams(lab_compat=True), resolution)
        lab = (time.perf_counter() - t) / aligned.counts.shape[0]
        print(f"statistics only: default {default * 1e3:.1f} ms/unit, --lab-compat {lab * 1e3:.1f} ms/unit "
              f"(ratio {lab / default:.1f}, goal <= 10)")


if __name__ == "__main__":
    main()
