"""Example sessions whose ground truth involves the model: units that read out VideoMAE activations.

Read-out unit u fires at ``rate_u(clip, t) = 10 + 80 * scale(z(clip, t - lag) . w_u)`` spikes/s,
where ``z(clip, t)`` are the first ``n_pcs`` principal components (over all windows,
z-scored) of the pooled ``last`` activations of the latest window whose last frame
started at or before ``t`` (window time = last_frame / fps), ``w_u`` random weights and
``scale`` maps the unit's drive over all clips and times onto 0..1. So the rate is a
linear function of the activations, delayed by ``lag``.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.params import ExtractionParams
from ..core.results import Activations
from ..models.frames import discover_clips
from ..models.windows import extract
from ..process.stats import pca
from .frames import write_example_frames
from .session import GRID_T, ExampleTruth, example_clip_names, write_example_session

READOUT_LAG = 0.05


def readout_rates(acts: Activations, n_readout: int, fps: float, seed: int = 0, lag: float = READOUT_LAG,
                  n_pcs: int = 4) -> np.ndarray:
    """(n_readout, n_clips, len(GRID_T)) rates in spikes/s, linear in the activations."""
    z, _ = pca(acts.layers["last"].astype(np.float64), n_pcs)
    z /= z.std(0) + 1e-12
    weights = np.random.default_rng([seed, 7]).normal(size=(n_pcs, n_readout))
    n_clips = len(acts.clip_keys)
    drive = np.empty((n_readout, n_clips, GRID_T.size))
    for c in range(n_clips):
        rows = np.flatnonzero(acts.clip_of_window == c)
        times = acts.last_frame[rows] / fps
        idx = np.clip(np.searchsorted(times, GRID_T - lag, side="right") - 1, 0, rows.size - 1)
        drive[:, c] = (z[rows[idx]] @ weights).T
    lo = drive.min(axis=(1, 2), keepdims=True)
    hi = drive.max(axis=(1, 2), keepdims=True)
    return 10.0 + 80.0 * (drive - lo) / np.maximum(hi - lo, 1e-12)


def write_example_with_frames(mat_path: str | Path, frames_dir: str | Path, model: str | Path,
                              n_units: int = 16, n_clips: int = 20, n_repeats: int = 6, seed: int = 0,
                              n_readout: int = 4, fps: float = 30.0, n_frames: int = 15, frame_size: int = 32
                              ) -> ExampleTruth:
    """Frames of moving shapes + a session whose first ``n_readout`` units read out the model.

    Examples
    --------
    >>> from nwb_it.examples.random_model import save_random_videomae
    >>> truth = write_example_with_frames("demo_fixshortvid1_coco.mat", "frames", save_random_videomae("tiny"),
    ...                                   n_units=6, n_clips=6, n_repeats=3, n_frames=8, frame_size=16)
    >>> int(truth.readout.sum())                          # the first n_readout units read the model out
    4
    """
    write_example_frames(frames_dir, example_clip_names(n_clips), n_frames=n_frames, size=frame_size, seed=seed)
    rates = None
    if n_readout:
        acts = extract(discover_clips(frames_dir), ExtractionParams(model=str(model), fps=fps))
        rates = readout_rates(acts, n_readout, fps, seed)
    return write_example_session(mat_path, n_units, n_clips, n_repeats, seed, readout_rates=rates)
