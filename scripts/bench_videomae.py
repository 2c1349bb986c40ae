"""Benchmark: bare VideoMAE forward vs `extract-videomae`, per window, on this machine's device.

The videomae-base architecture with random weights (nothing can be downloaded here).
Reports, in one run: seconds per window of the bare model forward on ready tensors
(batched like extraction) and of the whole extraction (frames from PNG, processor,
windows, pooling), their ratio (goal <= 1.05), and how many windows de-duplicating
the all-grey windows saved. On a GPU it also compares the seed-style loop (batch 1,
float32) with batched float32 and bfloat16 (windows/s, and the bfloat16 error).

    python scripts/bench_videomae.py [--clips 2 --frames 15 --batch-size 4]
"""
from __future__ import annotations

import argparse
import tempfile
import time
import warnings
from pathlib import Path

import numpy as np

warnings.filterwarnings("ignore", message=".*torchvision.*")
PEAK_TFLOPS = 989.0


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--clips", type=int, default=2)
    ap.add_argument("--frames", type=int, default=15)
    ap.add_argument("--batch-size", type=int, default=4)
    ap.add_argument("--peak-tflops", type=float, default=PEAK_TFLOPS, help="the GPU's dense bf16 peak")
    args = ap.parse_args()
    import torch

    from nwb_it.core.params import ExtractionParams
    from nwb_it.examples import example_clip_names, write_example_frames
    from nwb_it.examples.random_model import save_random_videomae
    from nwb_it.models.base import resolve_device
    from nwb_it.models.frames import discover_clips
    from nwb_it.models.videomae import VideoMAEExtractor
    from nwb_it.models.windows import extract

    device = resolve_device("auto")
    with tempfile.TemporaryDirectory() as tmp:
        model = save_random_videomae(Path(tmp) / "base", base=True)
        frames = write_example_frames(Path(tmp) / "frames", example_clip_names(args.clips),
                                      n_frames=args.frames, size=224)
        clips = discover_clips(frames)
        ext = VideoMAEExtractor.load(model, device)
        net, cfg = ext.net, ext.net.config
        settings = ExtractionParams(model=str(model), batch_size=args.batch_size, device=device)
        n_windows = args.clips * (args.frames + 2 * settings.pad - cfg.num_frames + 1)

        x = torch.randn(args.batch_size, cfg.num_frames, 3, cfg.image_size, cfg.image_size, device=device)
        with torch.inference_mode():
            net(pixel_values=x[:1])                                       # warm-up
            t = time.perf_counter()
            reps = max(2, 8 // args.batch_size)
            for _ in range(reps):
                net(pixel_values=x)
            if device == "cuda":
                torch.cuda.synchronize()
            bare = (time.perf_counter() - t) / (reps * args.batch_size)

        t = time.perf_counter()
        acts = extract(clips, settings, extractor=ext)
        total = time.perf_counter() - t
        per_window = total / acts.n_forward_windows
        print(f"device {device}; videomae-base architecture (random weights); {args.clips} clips x {args.frames} "
              f"frames, pad {settings.pad}: {n_windows} windows")
        print(f"bare forward        : {bare:7.3f} s/window (batch {args.batch_size})")
        print(f"extract-videomae    : {per_window:7.3f} s/computed window ({total:.1f} s in all)")
        print(f"ratio extract / bare = {per_window / bare:.3f}  (goal <= 1.05)")
        print(f"grey de-duplication : {n_windows - acts.n_forward_windows} of {n_windows} windows not recomputed "
              f"({(n_windows - acts.n_forward_windows) / n_windows:.1%}; per clip 2 of {n_windows // args.clips}, "
              "all but one across clips)")
        if device == "cuda":
            _gpu(ext, clips, settings, acts, args.peak_tflops)


def _gpu(ext, clips, settings, reference, peak_tflops: float) -> None:
    import torch

    from nwb_it.core.params import ExtractionParams
    from nwb_it.models.videomae import VideoMAEExtractor
    from nwb_it.models.windows import extract

    def rate(batch, dtype):
        model = ext if dtype == "float32" else VideoMAEExtractor.load(settings.model, "cuda", dtype)
        s = ExtractionParams(model=settings.model, batch_size=batch, device="cuda", dtype=dtype)
        torch.cuda.synchronize()
        t = time.perf_counter()
        acts = extract(clips, s, extractor=model)
        torch.cuda.synchronize()
        return acts.n_forward_windows / (time.perf_counter() - t), acts

    def seed_loop_rate():
        """The lab's loop: per window, the processor on its 16 frames, one forward, batch 1, float32."""
        from nwb_it.models.frames import grey_frame, load_frame

        size, n = ext.image_size, ext.num_frames
        grey = grey_frame(size, settings.grey)
        frames = [[grey] * settings.pad + [load_frame(f, size) for f in c.frames] + [grey] * settings.pad
                  for c in clips]
        count = 0
        torch.cuda.synchronize()
        t = time.perf_counter()
        with torch.inference_mode():
            for padded in frames:
                for w in range(len(padded) - n + 1):
                    x = ext.processor(padded[w:w + n], return_tensors="pt")["pixel_values"].to("cuda")
                    ext.net(pixel_values=x).last_hidden_state.mean(1).cpu()
                    count += 1
        torch.cuda.synchronize()
        return count / (time.perf_counter() - t)

    seed_rate = seed_loop_rate()
    f32_rate, _ = rate(None, "float32")           # batch size chosen from the GPU's free memory
    bf16_rate, bf16 = rate(None, "bfloat16")
    ref = reference.layers["last"]
    err = np.abs(bf16.layers["last"] - ref).max() / np.abs(ref).max()
    gflop = 361.0                                 # one videomae-base window, 16 x 224 x 224 (seed-pipeline.md)
    print(f"GPU windows/s: seed loop (batch 1, float32, processor per window) {seed_rate:.1f}; nwb_it float32 "
          f"{f32_rate:.1f} ({f32_rate / seed_rate:.1f}x); nwb_it bfloat16 {bf16_rate:.1f} "
          f"({bf16_rate / seed_rate:.1f}x, goal >= 10x); bfloat16 max |error| / max |fp32| = {err:.3g}")
    print(f"bfloat16 throughput {bf16_rate * gflop / 1e3:.1f} TFLOP/s = {bf16_rate * gflop / 1e3 / peak_tflops:.1%} "
          f"of the {peak_tflops:.0f} TFLOP/s dense bf16 peak (H100 SXM; pass --peak-tflops for another GPU)")


if __name__ == "__main__":
    main()
