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


def nwb_content(path: Path) -> dict[str, object]:
    """Every group, dataset and attribute of an HDF5 file, as comparable values.

    Left out: what is unique to each write by design (the file's ``identifier`` UUID, its
    ``file_create_date``, every object's ``object_id``). Object references become the path
    they point to.
    """
    import h5py

    out: dict[str, object] = {}
    with h5py.File(path, "r") as f:
        def value(v):
            if isinstance(v, h5py.Reference):
                return f[v].name if v else None
            if isinstance(v, np.ndarray) and v.dtype == object:
                return [value(x) for x in v.reshape(-1)]
            if isinstance(v, np.ndarray):
                return (v.dtype.str, v.shape, v.tobytes())
            return v.decode() if isinstance(v, bytes) else v

        def visit(name, obj):
            if name in ("identifier", "file_create_date"):
                return
            for key, attr in obj.attrs.items():
                if key != "object_id":
                    out[f"{name}@{key}"] = value(attr)
            if isinstance(obj, h5py.Dataset):
                data = obj[()]
                if h5py.check_dtype(ref=obj.dtype) is not None:
                    data = np.asarray(data, dtype=object)
                elif obj.dtype.names is not None:           # compound (e.g. a reference per row)
                    data = np.asarray([tuple(value(x) for x in row) for row in np.atleast_1d(data)], dtype=object)
                out[name] = value(data)
        f.visititems(visit)
    return out
