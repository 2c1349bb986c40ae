"""Every non-spike field of the source struct, carried losslessly into the NWB file.

They live in ``processing/misc/source_fields``, a DynamicTable with one row per
MATLAB value, in depth-first order (a cell or struct row comes before its
elements), so the whole tree can be rebuilt with :func:`read_source_fields`:

* ``field``: the MATLAB path, e.g. ``itempos``, ``trialnum{3}``, ``info.rate``
* ``matlab_class``: double, single, int32, ..., logical, char, cell, struct
* ``shape``: MATLAB dimensions
* ``values``: numeric values in MATLAB (column-major) order, as float64
* ``text``: the characters of a char value

Numbers are stored as float64: integers beyond 2**53 would lose digits.
"""
from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
from hdmf.common import DynamicTable, VectorData, VectorIndex

from ..core.params import MISC_MODULE

TABLE_NAME = "source_fields"
_NUMERIC_CLASS = {"f8": "double", "f4": "single", "i1": "int8", "i2": "int16", "i4": "int32", "i8": "int64",
                  "u1": "uint8", "u2": "uint16", "u4": "uint32", "u8": "uint64", "b1": "logical"}
_DTYPE = {v: k for k, v in _NUMERIC_CLASS.items()}


def _rows(path: str, value: Any) -> Iterator[tuple[str, str, tuple, np.ndarray, str]]:
    if isinstance(value, dict):
        yield path, "struct", (1, 1), np.zeros(0), ",".join(value)
        for key, sub in value.items():
            yield from _rows(f"{path}.{key}", sub)
    elif isinstance(value, str):
        yield path, "char", (1 if value else 0, len(value)), np.zeros(0), value
    elif isinstance(value, np.ndarray) and value.dtype == object:
        yield path, "cell", value.shape, np.zeros(0), ""
        for i, element in enumerate(value.reshape(-1, order="F")):
            yield from _rows(f"{path}{{{i + 1}}}", element)
    else:
        arr = np.asarray(value)
        shape = arr.shape if arr.ndim >= 2 else (1, arr.size) if arr.ndim == 1 else (1, 1)
        kind = arr.dtype.str[1:] if arr.dtype != bool else "b1"
        if arr.dtype.kind == "c":
            yield path, f"complex {_NUMERIC_CLASS.get(np.dtype(arr.real.dtype).str[1:], 'double')}", shape, \
                np.stack([arr.real, arr.imag], -1).reshape(-1, 2, order="F").ravel().astype(np.float64), ""
            return
        yield path, _NUMERIC_CLASS.get(kind, "double"), shape, arr.reshape(-1, order="F").astype(np.float64), ""


def _ragged(name: str, description: str, parts: list[np.ndarray], dtype) -> list:
    data = VectorData(name=name, description=description,
                      data=np.concatenate(parts).astype(dtype) if parts else np.zeros(0, dtype))
    ends = np.cumsum([len(p) for p in parts]).astype(np.int64)
    return [data, VectorIndex(name=f"{name}_index", data=ends, target=data)]


def source_fields_table(fields: dict[str, Any], struct_name: str = "L2_str") -> DynamicTable:
    """Build the ``source_fields`` table for a decoded struct's fields."""
    rows = [row for name, value in fields.items() for row in _rows(name, value)]
    paths, classes, shapes, values, texts = (list(col) for col in zip(*rows)) if rows else ([],) * 5
    columns = [
        VectorData(name="field", description="MATLAB path of the value within the struct, e.g. trialnum{3}.",
                   data=paths),
        VectorData(name="matlab_class", description="MATLAB class: double, single, intN, uintN, logical, char, "
                   "cell or struct.", data=classes),
        *_ragged("shape", "MATLAB dimensions of the value.", [np.asarray(s, dtype=np.int64) for s in shapes],
                 np.int64),
        *_ragged("values", "Numeric values in MATLAB column-major order, as float64 (complex: real, imag "
                 "interleaved); empty for char, cell and struct.", values, np.float64),
        VectorData(name="text", description="Characters of a char value; for a struct its field names, "
                   "comma-separated.", data=texts),
    ]
    return DynamicTable(name=TABLE_NAME, description=(
        f"Every field of the source MAT struct '{struct_name}' except the spike cells (which are in "
        "/units and /intervals/trials), one row per MATLAB value in depth-first order; rebuild with "
        "nwb_it.read_source_fields."), columns=columns)


def _build(rows: list, pos: int) -> tuple[Any, int]:
    path, cls, shape, values, text = rows[pos]
    pos += 1
    if cls == "struct":
        out = {}
        for key in text.split(",") if text else []:
            out[key], pos = _build(rows, pos)
        return out, pos
    if cls == "cell":
        n = int(np.prod(shape))
        flat = np.empty(n, dtype=object)
        for i in range(n):
            flat[i], pos = _build(rows, pos)
        return flat.reshape(shape, order="F"), pos
    if cls == "char":
        return text, pos
    if cls.startswith("complex"):
        pair = np.asarray(values).reshape(-1, 2)
        return (pair[:, 0] + 1j * pair[:, 1]).reshape(shape, order="F"), pos
    dtype = np.dtype(bool) if cls == "logical" else np.dtype(_DTYPE.get(cls, "f8"))
    return np.asarray(values, dtype=np.float64).astype(dtype).reshape(shape, order="F"), pos


def read_source_fields(nwbfile) -> dict[str, Any]:
    """Rebuild the source struct's non-spike fields from an NWB file written by nwb_it.

    Examples
    --------
    >>> from pynwb import NWBHDF5IO
    >>> from nwb_it import example_metadata_path, run_convert, write_example_session
    >>> _ = write_example_session("f_fixshortvid1_coco.mat", n_units=3, n_clips=4, n_repeats=3)
    >>> nwb = run_convert("f_fixshortvid1_coco.mat", example_metadata_path(), out_dir="nwb")
    >>> with NWBHDF5IO(str(nwb), "r") as io:
    ...     fields = read_source_fields(io.read())
    >>> {"itemnames", "itempos", "items"} <= set(fields)                # every field of the source struct
    True
    """
    table = nwbfile.processing[MISC_MODULE][TABLE_NAME]
    cols = [table[c][:] for c in ("field", "matlab_class", "shape", "values", "text")]
    rows = [(p, c, tuple(int(x) for x in s), np.asarray(v, dtype=np.float64), t)
            for p, c, s, v, t in zip(*cols)]
    out, pos = {}, 0
    while pos < len(rows):
        name = rows[pos][0]
        out[name], pos = _build(rows, pos)
    return out
