"""Shared test helpers: metadata, example sizes, deep equality of MATLAB values, file copies."""
from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

META = {"NWBFile": {"session_start_time": "2024-03-01T10:00:00-05:00", "experimenter": ["Doe, Jane"],
                    "institution": "Cold Spring Harbor Laboratory", "lab": "Vision Lab"},
        "Subject": {"age": "P7Y", "sex": "M"}}

SMALL = {"n_units": 6, "n_clips": 7, "n_repeats": 4, "seed": 3}


def nested_equal(a, b) -> bool:
    """Deep equality of decoded MATLAB values (dicts, object arrays, arrays, strings)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(nested_equal(a[k], b[k]) for k in a)
    if isinstance(a, str):
        return a == b
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype == object:
        return b.dtype == object and a.shape == b.shape and all(
            nested_equal(x, y) for x, y in zip(a.reshape(-1), b.reshape(-1)))
    return a.shape == b.shape and np.array_equal(a, b)


def copy_to(path: Path, folder: Path) -> Path:
    """A private copy of a (session-scoped) file, to run steps that write into it."""
    target = Path(folder) / Path(path).name
    shutil.copy(path, target)
    return target
