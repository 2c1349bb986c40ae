"""A small MATLAB v7.3 (HDF5) writer, fast enough for 400,000-cell example sessions.

It writes what MATLAB itself writes: a 512-byte text header, one dataset per cell
element under ``#refs#`` reached through object references, ``MATLAB_class`` on
every value, empties as a ``uint64`` dims vector with ``MATLAB_empty=1`` and
strings as ``uint16`` arrays. ``hdf5storage`` writes the same layout but needs
about 1 ms per cell element; this writer goes through h5py's low-level API.
"""
from __future__ import annotations

import platform
import time
from pathlib import Path
from typing import Any

import h5py
import numpy as np

_CLASS = {np.dtype(np.float64): "double", np.dtype(np.float32): "single",
          np.dtype(np.int8): "int8", np.dtype(np.int16): "int16", np.dtype(np.int32): "int32",
          np.dtype(np.int64): "int64", np.dtype(np.uint8): "uint8", np.dtype(np.uint16): "uint16",
          np.dtype(np.uint32): "uint32", np.dtype(np.uint64): "uint64", np.dtype(bool): "logical"}


def matlab_header(created: float | None = None) -> bytes:
    stamp = time.strftime("%a %b %d %H:%M:%S %Y", time.localtime(created))
    text = (f"MATLAB 7.3 MAT-file, Platform: {platform.system()} nwb_it, Created on: {stamp} "
            "HDF5 schema 1.00 .").encode("ascii")
    return text.ljust(116, b" ") + b"\x00" * 8 + b"\x00\x02IM"


def cell_array(items: list, shape: tuple[int, ...] | None = None) -> np.ndarray:
    """A MATLAB cell (n-by-1 unless ``shape`` says otherwise) as a numpy object array."""
    out = np.empty(len(items), dtype=object)
    out[:] = [None] * len(items)
    for i, x in enumerate(items):
        out[i] = x
    return out.reshape(shape if shape is not None else (len(items), 1), order="F")


class _Writer:
    def __init__(self, f: h5py.File):
        self.f = f
        self.refs = f.create_group("#refs#")
        self.count = 0

    def _attr(self, oid, name: str, value: Any) -> None:
        value = np.asarray(value)
        if value.dtype.kind == "U":
            value = np.bytes_(str(value))
            tid = h5py.h5t.C_S1.copy()
            tid.set_size(max(len(value), 1))
            tid.set_strpad(h5py.h5t.STR_NULLPAD)
            space = h5py.h5s.create(h5py.h5s.SCALAR)
            attr = h5py.h5a.create(oid, name.encode(), tid, space)
            attr.write(np.asarray(value, dtype=f"S{max(len(value), 1)}"))
            return
        space = h5py.h5s.create(h5py.h5s.SCALAR)
        attr = h5py.h5a.create(oid, name.encode(), h5py.h5t.py_create(value.dtype), space)
        attr.write(value)

    def _dataset(self, parent, name: str, data: np.ndarray, cls: str, empty: bool = False):
        data = np.ascontiguousarray(data)
        space = h5py.h5s.create_simple(data.shape)
        tid = h5py.h5t.py_create(data.dtype, logical=True)
        dsid = h5py.h5d.create(parent.id, name.encode(), tid, space)
        dsid.write(h5py.h5s.ALL, h5py.h5s.ALL, data)
        self._attr(dsid, "MATLAB_class", cls)
        if empty:
            self._attr(dsid, "MATLAB_empty", np.uint8(1))
        elif cls == "char":
            self._attr(dsid, "MATLAB_int_decode", np.int64(2))
        elif cls == "logical":
            self._attr(dsid, "MATLAB_int_decode", np.int64(1))
        return dsid

    def _refname(self) -> str:
        self.count += 1
        return format(self.count, "x")

    def write(self, parent, name: str, value: Any) -> None:
        if isinstance(value, dict):
            grp = parent.create_group(name)
            grp.attrs["MATLAB_class"] = np.bytes_(b"struct")
            for key, val in value.items():
                self.write(grp, key, val)
            fields = np.empty(len(value), dtype=h5py.vlen_dtype(np.dtype("S1")))
            for i, key in enumerate(value):
                fields[i] = np.frombuffer(key.encode(), dtype="S1")
            grp.attrs["MATLAB_fields"] = fields
            return
        if isinstance(value, str):
            codes = np.frombuffer(value.encode("utf-16-le"), dtype="<u2")
            if codes.size == 0:
                self._dataset(parent, name, np.array([1, 0], dtype=np.uint64), "char", empty=True)
            else:
                self._dataset(parent, name, codes.reshape(-1, 1), "char")
            return
        arr = np.asarray(value)
        if arr.ndim < 2:
            arr = arr.reshape(1, -1) if arr.ndim == 1 else arr.reshape(1, 1)
        if arr.dtype == object:
            if arr.size == 0:
                self._dataset(parent, name, np.array(arr.shape, dtype=np.uint64), "cell", empty=True)
                return
            refs = np.empty(arr.shape[::-1], dtype=h5py.ref_dtype)
            flat = refs.reshape(-1)
            for i, element in enumerate(arr.T.reshape(-1)):
                refname = self._refname()
                self.write(self.refs, refname, element if element is not None else np.zeros((0, 0)))
                flat[i] = h5py.h5r.create(self.refs.id, refname.encode(), h5py.h5r.OBJECT)
            self._dataset(parent, name, refs, "cell")
            return
        cls = _CLASS.get(arr.dtype)
        if cls is None:
            raise TypeError(f"cannot write {arr.dtype} values to a MAT file")
        if arr.size == 0:
            self._dataset(parent, name, np.array(arr.shape, dtype=np.uint64), cls, empty=True)
            return
        self._dataset(parent, name, (arr.astype(np.uint8) if cls == "logical" else arr).T, cls)


def write_mat73(path: str | Path, variables: dict[str, Any], created: float | None = None) -> None:
    """Write ``variables`` (dicts = structs, object arrays = cells) as a MATLAB v7.3 file.

    Examples
    --------
    >>> import numpy as np, tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "s.mat")
    >>> write_mat73(p, {"L2_str": {"x": np.arange(3.0), "c": cell_array(["a", np.ones(2)])}})
    """
    with h5py.File(path, "w", userblock_size=512) as f:
        writer = _Writer(f)
        for name, value in variables.items():
            writer.write(f, name, value)
    with open(path, "r+b") as raw:
        raw.write(matlab_header(created))
