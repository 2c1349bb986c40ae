"""Benchmark: extraction peak memory for 8 vs 32 clips, and a cached vs an uncached run.

Frames are 224 px PNGs (the memory that grew with the clips was theirs); the model is a
small random VideoMAE at 224 px (``--base`` for the videomae-base architecture), so the
frames, not the weights, decide the peak. Each extraction runs in its own Python process
and reports its peak resident memory (``ru_maxrss``), all in one run of this script.
Then the same extraction with ``--cache``: a first run (computes and stores) and a second
(reads), timed as the command line runs them.

    python scripts/bench_extract.py [--frames 40 --clips 8 32] [--compare-with OLD_CHECKOUT]
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
frames, model, n = sys.argv[1], sys.argv[2], int(sys.argv[3])
from nwb_it.core.params import ExtractionParams
from nwb_it.models.frames import discover_clips
from nwb_it.models.windows import extract
base = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
clips = discover_clips(frames)[:n]
t = time.perf_counter()
acts = extract(clips, ExtractionParams(model=model, device="cpu"))
print(json.dumps({"seconds": time.perf_counter() - t, "windows": len(acts.window),
                  "peak_mb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024,
                  "before_mb": base / 1024}))
"""


def _child(frames: Path, model: Path, n: int, code: Path | None = None) -> dict:
    env = {**os.environ, "PYTHONPATH": str(code)} if code else None        # another nwb_it checkout
    res = subprocess.run([sys.executable, "-c", CHILD, str(frames), str(model), str(n)], capture_output=True,
                         text=True, check=True, env=env, cwd=frames.parent)   # not a folder holding nwb_it/
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--frames", type=int, default=40, help="frames per clip")
    ap.add_argument("--clips", type=int, nargs=2, default=(8, 32))
    ap.add_argument("--base", action="store_true", help="videomae-base architecture (slow on a CPU)")
    ap.add_argument("--compare-with", type=Path, help="also measure the peaks of another nwb_it checkout, e.g. "
                    "`git worktree add /tmp/old 7c93d25` (before streaming)")
    args = ap.parse_args()
    from nwb_it.examples import example_clip_names, write_example_frames
    from nwb_it.examples.random_model import save_random_videomae

    with tempfile.TemporaryDirectory() as tmp:
        tmp = Path(tmp)
        model = (save_random_videomae(tmp / "model", base=True) if args.base
                 else save_random_videomae(tmp / "model", image_size=224, patch_size=32))
        frames = write_example_frames(tmp / "frames", example_clip_names(max(args.clips)), n_frames=args.frames,
                                      size=224)
        small, large = (_child(frames, model, n) for n in args.clips)
        print(f"{args.frames}-frame clips at 224 px, {'videomae-base' if args.base else 'small'} VideoMAE at 224 px")
        for n, r in zip(args.clips, (small, large)):
            print(f"{n:3d} clips: peak {r['peak_mb']:7.0f} MB (after imports {r['before_mb']:.0f} MB), "
                  f"{r['windows']} windows in {r['seconds']:.1f} s")
        print(f"peak {args.clips[1]} / {args.clips[0]} clips = {large['peak_mb'] / small['peak_mb']:.2f} "
              f"(frames alone would be {args.clips[1] / args.clips[0]:.0f}x)")
        if args.compare_with:
            old = [_child(frames, model, n, args.compare_with.absolute()) for n in args.clips]
            print(f"{args.compare_with}: peak {old[0]['peak_mb']:.0f} MB for {args.clips[0]} clips, "
                  f"{old[1]['peak_mb']:.0f} MB for {args.clips[1]} ({old[1]['peak_mb'] / old[0]['peak_mb']:.2f})")

        from nwb_it.cli import main as cli

        cmd = ["extract-activations", str(frames), "--model", str(model), "--npy", str(tmp / "a.npy"),
               "--cache", str(tmp / "cache")]
        timings = []
        for name in ("a", "b"):
            cmd[cmd.index("--npy") + 1] = str(tmp / f"{name}.npy")
            t = time.perf_counter()
            assert cli(cmd) == 0
            timings.append(time.perf_counter() - t)
        import numpy as np

        same = np.array_equal(np.load(tmp / "a.npy"), np.load(tmp / "b.npy"))
        print(f"{max(args.clips)} clips, --cache: first run {timings[0]:.1f} s (computes, stores), second "
              f"{timings[1]:.2f} s (reads) = {timings[1] / timings[0]:.3f} of the time; identical values: {same}")


if __name__ == "__main__":
    main()
