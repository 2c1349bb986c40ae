"""Benchmark: seconds per layer of ``compare`` (encoding model + RSA), CPU and, with a GPU, torch_cuda.

A synthetic session the size of a real one (256 units x 200 clips x 8 repeats, 8 bins of
50 ms) and one 768-wide layer with 76 windows per clip (a 2-s clip at 30 fps with its grey
padding: ``--windows`` changes it; the design matrix grows with it), compared as ``nwb-it compare`` does
with its defaults (10 outer folds, 5 lags, 20 PCs, 1000 bootstrap resamples, RSA with
crossnobis and 1000 permutations). Prints the seconds of each part and of the whole layer
per backend, and their ratio to the goal (1.5 s per 768-wide layer on this machine's CPU).

    python scripts/bench_compare.py [--units 256 --clips 200 --repeats 8 --hidden 768 --windows 76] [--layers 4]
                                    [--bands 2]

``--layers K`` also times K layers compared in one pass (``compare --layers all``: the ceilings and
the neural RDMs computed once) and prints seconds per layer. ``--bands K`` also times the variance
partition (``compare --banded``) over K layers of that width (``--banded-iter`` band weights, default 20).
"""
from __future__ import annotations

import argparse
import dataclasses
import time

import numpy as np

from nwb_it.core.params import CompareParams
from nwb_it.core.recording import AlignedCounts
from nwb_it.core.results import Activations
from nwb_it.process.banded import variance_partition
from nwb_it.process.encoding import encoding_model
from nwb_it.process.ridge import resolve_backend
from nwb_it.process.rsa import rsa
from nwb_it.steps.compare import CompareData, compute_compare

GOAL_S = 1.5


def session(n_units: int, n_clips: int, n_rep: int, hidden: int, n_win: int = 76, seed: int = 0
            ) -> tuple[AlignedCounts, Activations]:
    rng = np.random.default_rng(seed)
    n_bins, bin_size = 8, 0.05
    features = rng.normal(size=(n_clips, n_win, hidden)).cumsum(1) / 3           # slowly varying in time
    readout = features[:, :n_bins * 2:2, :16] @ rng.normal(size=(16, n_units)) / 4   # (clips, bins, units)
    rates = np.clip(15 + 10 * readout, 0.5, None).transpose(2, 0, 1)
    mask = np.ones((n_clips, n_rep), dtype=bool)
    counts = rng.poisson(rates[:, :, None, :] * bin_size * np.ones((1, 1, n_rep, 1)))
    aligned = AlignedCounts.from_dense(counts, mask, np.arange(n_bins + 1) * bin_size, np.arange(n_units),
                                       [f"u{u}" for u in range(n_units)], [f"c{c}" for c in range(n_clips)],
                                       np.arange(n_clips))
    acts = Activations(clip_keys=[f"c{c}" for c in range(n_clips)], clip_of_window=np.repeat(np.arange(n_clips), n_win),
                       window=np.tile(np.arange(n_win), n_clips), last_frame=np.tile(np.arange(n_win), n_clips),
                       layers={"last": features.reshape(-1, hidden).astype(np.float32)},
                       provenance={"fps": 1 / 0.025, "pad": 0}, stimulus_names=[f"c{c}" for c in range(n_clips)],
                       stimulus_index=np.arange(n_clips))
    return aligned, acts


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=256)
    ap.add_argument("--clips", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=8)
    ap.add_argument("--hidden", type=int, default=768)
    ap.add_argument("--windows", type=int, default=76, help="windows per clip (76: 2 s at 30 fps with padding)")
    ap.add_argument("--layers", type=int, default=0, help="also time this many layers compared in one pass")
    ap.add_argument("--bands", type=int, default=0, help="also time the variance partition over this many layers")
    ap.add_argument("--banded-iter", type=int, default=CompareParams().banded_iter)
    args = ap.parse_args()
    aligned, acts = session(args.units, args.clips, args.repeats, args.hidden, args.windows)
    if args.bands or args.layers:
        rng = np.random.default_rng(1)
        base = acts.layers["last"]
        layers = {f"layer{i}": (base + rng.normal(scale=i, size=base.shape)).astype(np.float32)
                  for i in range(max(args.bands, args.layers))}   # ever noisier copies: the read-out fades with depth
        acts = dataclasses.replace(acts, layers={**acts.layers, **layers})
    backends = ["numpy"] + (["torch_cuda"] if resolve_backend("auto") == "torch_cuda" else [])
    for backend in backends:
        params = CompareParams(units="all", backend=backend)
        encoding_model(aligned, acts, params)                       # warm-up (imports, BLAS threads, CUDA context)
        rsa(aligned, acts, params)                                  # (rsatoolbox and scipy.stats are imported here)
        start = time.perf_counter()
        enc = encoding_model(aligned, acts, params)
        t_enc = time.perf_counter() - start
        start = time.perf_counter()
        res = rsa(aligned, acts, params)
        t_rsa = time.perf_counter() - start
        total = t_enc + t_rsa
        print(f"{backend}: encoding {t_enc:.2f} s + RSA {t_rsa:.2f} s = {total:.2f} s per layer "
              f"({args.units} units x {args.clips} clips x {args.repeats} repeats, {args.hidden} wide, "
              f"{args.windows} windows per clip); "
              f"goal {GOAL_S:g} s: ratio {total / GOAL_S:.2f}; median r²/ceiling {enc.summary()['median']:.2f}, "
              f"RSA rho {res.rho:.2f}")
        if args.layers:
            names = [f"layer{i}" for i in range(args.layers)]
            start = time.perf_counter()
            compute_compare(CompareData(aligned, acts, names, "bench"), params)
            took = time.perf_counter() - start
            print(f"{backend}: {args.layers} layers in one pass: {took:.2f} s, {took / args.layers:.2f} s per layer "
                  f"(goal {GOAL_S:g} s: ratio {took / args.layers / GOAL_S:.2f})")
        if args.bands:
            params = CompareParams(units="all", backend=backend, banded=True, banded_iter=args.banded_iter)
            start = time.perf_counter()
            part = variance_partition(aligned, acts, [f"layer{i}" for i in range(args.bands)], params)
            took = time.perf_counter() - start
            shares = ", ".join(f"{b} {v['median_share']:.2f}" for b, v in part.summary().items())
            print(f"{backend}: variance partition over {args.bands} layers ({args.banded_iter} band weights): "
                  f"{took:.2f} s; median shares {shares}")


if __name__ == "__main__":
    main()
