"""Benchmark: sessions per minute through convert + reliability, 1 worker vs N Dask workers.

Writes ``--sessions`` example sessions, then times, in one run of this script, the
command line's own path (``run_batch`` with the verbs' jobs) sequentially (``--workers 1``)
and on a LocalCluster of N processes (cluster start-up included: it is what a user waits
for). Checks that both runs wrote the same numbers.

    python scripts/bench_sessions.py [--sessions 8 --units 128 --clips 200 --workers N]
"""
from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from functools import partial
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore")


def main() -> None:
    from nwb_it.core.params import usable_cores

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sessions", type=int, default=8)
    ap.add_argument("--units", type=int, default=128)
    ap.add_argument("--clips", type=int, default=200)
    ap.add_argument("--workers", type=int, default=usable_cores())
    args = ap.parse_args()

    from nwb_it.cli.jobs import convert_job, reliability_job
    from nwb_it.core.params import PresentationSpec, ReliabilityParams
    from nwb_it.examples import write_example_session
    from nwb_it.formats.l2str.reader import MAX_SPIKE_TIME_S, SourceLayout
    from nwb_it.nwb.io import reading
    from nwb_it.nwb.results import read_reliability
    from nwb_it.steps.batch import run_batch

    meta = {"NWBFile": {"session_start_time": "2024-01-01T00:00:00+00:00"}, "Subject": {"age": "P7Y"}}
    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        mats = []
        for i in range(args.sessions):
            mats.append(tmp / f"rec_fixshortvid{i + 1}_coco.mat")
            write_example_session(mats[-1], args.units, args.clips, 8, seed=i)
        import yaml

        (tmp / "meta.yaml").write_text(yaml.safe_dump(meta))
        timings, dprimes = {}, {}
        for workers in (1, args.workers):
            out = tmp / f"w{workers}"
            t = time.perf_counter()
            conv = run_batch(partial(convert_job, out_dir=out, metadata=tmp / "meta.yaml", overwrite=False,
                                     layout=SourceLayout(), max_spike_time=MAX_SPIKE_TIME_S, strict=False),
                             mats, workers, progress=False)
            files = [Path(o.message) for o in conv]
            rel = run_batch(partial(reliability_job, params=ReliabilityParams(), pickle_out=None, many=True,
                                    presentations=PresentationSpec(), store_binned=False, overwrite=False),
                            files, workers, progress=False)
            timings[workers] = time.perf_counter() - t
            assert not any(o.failed for o in conv + rel), [o.message for o in conv + rel if o.failed]
            dprimes[workers] = []
            for f in files:
                with reading(f) as nwb:
                    dprimes[workers].append(read_reliability(nwb).dprime)
        same = all(np.array_equal(a, b, equal_nan=True) for a, b in zip(dprimes[1], dprimes[args.workers]))
    from nwb_it.steps.batch import cluster_client

    t = time.perf_counter()
    with cluster_client(args.workers, None):
        pass
    startup = time.perf_counter() - t
    rate = {w: args.sessions / (s / 60) for w, s in timings.items()}
    print(f"{args.sessions} sessions x {args.units} units x {args.clips} clips x 8 repeats; convert + reliability")
    print(f"1 worker : {timings[1]:6.1f} s  ({rate[1]:.1f} sessions/min)")
    print(f"{args.workers} workers: {timings[args.workers]:6.1f} s  ({rate[args.workers]:.1f} sessions/min, "
          f"two LocalCluster start-ups included, {startup:.1f} s each)")
    print(f"speed-up {timings[1] / timings[args.workers]:.2f}x on {args.workers} workers; "
          f"identical d' in both runs: {same}")


if __name__ == "__main__":
    main()
