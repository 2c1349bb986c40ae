"""Benchmark: sessions per minute through convert + reliability, 1 worker vs N Dask workers vs the default.

Writes ``--sessions`` example sessions, then times, in one run of this script, the
command line's own path (``run_batch`` with the verbs' jobs) sequentially (``--workers 1``),
on a LocalCluster of N processes (cluster start-up included: it is what a user waits
for), and with the default (no ``--workers``: the first session here, a cluster only for
enough remaining work). Checks that every run wrote the same numbers.

    python scripts/bench_sessions.py [--sessions 8 --units 128 --clips 200 --workers N]
    python scripts/bench_sessions.py --sessions 3 --units 16 --clips 20     # a small batch
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
        runs = {"1 worker": 1, f"{args.workers} workers": args.workers, "default": None}
        for label, workers in runs.items():
            out = tmp / label.replace(" ", "_")
            t = time.perf_counter()
            conv = run_batch(partial(convert_job, out_dir=out, metadata={m.absolute(): meta for m in mats},
                                     origin=None, overwrite=False, layout=SourceLayout(),
                                     max_spike_time=MAX_SPIKE_TIME_S, strict=False), mats, workers, progress=False)
            files = [Path(o.message) for o in conv]
            rel = run_batch(partial(reliability_job, params=ReliabilityParams(), pickle_out=None, many=True,
                                    presentations=PresentationSpec(), store_binned=False, overwrite=False),
                            files, workers, progress=False)
            timings[label] = time.perf_counter() - t
            assert not any(o.failed for o in conv + rel), [o.message for o in conv + rel if o.failed]
            dprimes[label] = []
            for f in files:
                with reading(f) as nwb:
                    dprimes[label].append(read_reliability(nwb).dprime)
        same = all(np.array_equal(a, b, equal_nan=True)
                   for d in dprimes.values() for a, b in zip(d, dprimes["1 worker"]))
    from nwb_it.steps.batch import cluster_client

    t = time.perf_counter()
    with cluster_client(args.workers, None):
        pass
    startup = time.perf_counter() - t
    print(f"{args.sessions} sessions x {args.units} units x {args.clips} clips x 8 repeats; convert + reliability "
          f"(a LocalCluster starts in {startup:.1f} s, before its workers import nwb_it)")
    for label, seconds in timings.items():
        print(f"{label:>10}: {seconds:6.1f} s  ({args.sessions / (seconds / 60):.1f} sessions/min, "
              f"{timings['1 worker'] / seconds:.2f}x of 1 worker)")
    print(f"identical d' in every run: {same}")


if __name__ == "__main__":
    main()
