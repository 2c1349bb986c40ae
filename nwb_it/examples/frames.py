"""Example clip frames: a coloured disc moving over a dark background, one path per clip.

Files follow the lab's flat naming, ``<clip name>_<frame>.png`` with the clip names of
the example session (``1_clip001``), so ``extract-videomae`` matches them to the trials
exactly. Deterministic by seed.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np


def clip_frames(k: int, n_frames: int = 15, size: int = 32, seed: int = 0) -> np.ndarray:
    """Frames of clip ``k``: uint8 (n_frames, size, size, 3)."""
    rng = np.random.default_rng([seed, k])
    start, end = rng.uniform(0.15, 0.85, 2) * size, rng.uniform(0.15, 0.85, 2) * size
    radius = rng.uniform(0.08, 0.22) * size
    colour = rng.uniform(60, 255, 3)
    background = rng.uniform(0, 50, 3)
    yy, xx = np.mgrid[:size, :size]
    out = np.empty((n_frames, size, size, 3), dtype=np.uint8)
    for f, a in enumerate(np.linspace(0, 1, n_frames)):
        cy, cx = start + a * (end - start)
        disc = ((yy - cy) ** 2 + (xx - cx) ** 2) <= radius ** 2
        out[f] = np.where(disc[..., None], colour, background).astype(np.uint8)
    return out


def write_example_frames(folder: str | Path, clip_names: list[str], n_frames: int = 15, size: int = 32,
                         seed: int = 0) -> Path:
    """Write every clip's frames as PNGs into ``folder`` (flat seed naming); return the folder."""
    from PIL import Image

    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    for k, name in enumerate(clip_names):
        for f, frame in enumerate(clip_frames(k, n_frames, size, seed)):
            Image.fromarray(frame).save(folder / f"{name}_{f + 1}.png")
    return folder
