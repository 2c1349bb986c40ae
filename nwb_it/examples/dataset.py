"""An example lab dataset for ``nwb-it run``: sessions of one stimulus set, its frames, a tiny model, the file.

Examples
--------
>>> files = write_example_dataset("example_dataset", n_sessions=2)       # doctest: +SKIP
>>> files["dataset"].name                                                # doctest: +SKIP
'dataset.yaml'
"""
from __future__ import annotations

import shutil
from pathlib import Path

from ..core.params import ExtractionParams
from ..core.results import Activations
from ..models.frames import discover_clips
from ..models.windows import extract
from .frames import write_example_frames
from .random_model import save_random_videomae
from .readout import readout_rates
from .session import example_clip_names, example_metadata_path, write_example_session

DATASET_YAML = """\
# nwb-it run dataset.yaml -- every path is relative to this file
sessions:
  - raw/*.mat                 # the lab's .mat sessions (NWB files, URLs and DANDI: assets work too)
metadata: metadata.yaml       # the metadata every session shares (lab, subject, array)
session_table: sessions.csv   # what differs per session (start time, age, ...), one row per file
stimuli: raw/frames           # the clips shown: frames or videos, named as the sessions name them
output: out                   # everything goes here
results: in_place             # or: derivatives (keep the NWB files as written, results beside them)
reliability:
  n_perm: {n_perm}
compare:
  folds: {folds}
models:
  - name: tiny                # its table: tiny_activations
    model: raw/tiny_videomae
    layers: all
"""


def add_example_session(folder: str | Path, day: int, n_units: int = 12, n_clips: int = 12, n_repeats: int = 4,
                        n_readout: int = 3, acts: Activations | None = None) -> Path:
    """One more session of the example dataset (``raw/2024030<day>_fixshortvid1_coco.mat``), seeded by ``day``.

    ``acts``: the tiny model's activations of the frames, when the caller has them (else computed here)."""
    raw = Path(folder) / "raw"
    if acts is None:
        acts = extract(discover_clips(raw / "frames"), ExtractionParams(model=str(raw / "tiny_videomae")))
    rates = readout_rates(acts, n_readout, 30.0, seed=day)
    mat = raw / f"202403{day:02d}_fixshortvid1_coco.mat"
    write_example_session(mat, n_units, n_clips, n_repeats, seed=day, readout_rates=rates)
    table = Path(folder) / "sessions.csv"
    if not table.exists():
        table.write_text("file,session_start_time\n", encoding="utf-8")
    with open(table, "a", encoding="utf-8") as fh:
        fh.write(f"{mat.name},2024-03-{day:02d}T10:00:00-05:00\n")
    return mat


def write_example_dataset(folder: str | Path, n_sessions: int = 2, n_units: int = 12, n_clips: int = 12,
                          n_repeats: int = 4, n_perm: int = 200, folds: int = 4) -> dict[str, Path]:
    """Write ``n_sessions`` example sessions, their frames, a tiny random VideoMAE and ``dataset.yaml``."""
    folder = Path(folder)
    raw = folder / "raw"
    raw.mkdir(parents=True, exist_ok=True)
    write_example_frames(raw / "frames", example_clip_names(n_clips), n_frames=15, size=32, seed=0)
    save_random_videomae(raw / "tiny_videomae", 0)
    shutil.copyfile(example_metadata_path(), folder / "metadata.yaml")
    acts = extract(discover_clips(raw / "frames"), ExtractionParams(model=str(raw / "tiny_videomae")))  # once
    mats = [add_example_session(folder, day, n_units, n_clips, n_repeats, acts=acts)
            for day in range(1, n_sessions + 1)]
    dataset = folder / "dataset.yaml"
    dataset.write_text(DATASET_YAML.format(n_perm=n_perm, folds=folds), encoding="utf-8")
    return {"dataset": dataset, "frames": raw / "frames", "model": raw / "tiny_videomae", "sessions": mats}
