"""Decoding MATLAB values (v7.3 HDF5 and v5/v7 files) into plain numpy/Python values.

Decoded values keep MATLAB's shape: numeric arrays are ndarrays with the MATLAB
dimensions, cells are object ndarrays, structs are dicts (struct arrays: object
ndarrays of dicts), char arrays are ``str``. The spike cells are not decoded here:
:mod:`nwb_it.formats.l2str.cells` reads them straight into flat arrays.
"""
from __future__ import annotations

from typing import Any

import h5py
import numpy as np

from ...core.errors import NwbItError
from .limits import max_bytes


def _attr_str(obj, name: str) -> str:
    value = obj.attrs.get(name)
    if value is None:
        return ""
    return value.decode() if isinstance(value, bytes) else str(value)


def struct_field_names(grp: h5py.Group) -> list[str]:
    """Field names of a v7.3 struct in MATLAB's order (HDF5 lists them sorted)."""
    names = [n for n in grp if not n.startswith("#")]
    if "MATLAB_fields" in grp.attrs:
        order = [b"".join(np.asarray(f).tolist()).decode() for f in grp.attrs["MATLAB_fields"]]
        names = [n for n in order if n in grp] + [n for n in names if n not in order]
    return names


def decode_h5(obj: h5py.Dataset | h5py.Group) -> Any:
    """Decode one MATLAB v7.3 value (group = struct, refs = cell, uint16 char, ...).

    Declared sizes are checked against the file's size before anything is allocated.
    """
    cls = _attr_str(obj, "MATLAB_class")
    if isinstance(obj, h5py.Group):
        return {name: decode_h5(obj[name]) for name in struct_field_names(obj)}
    # obj.name only on the error paths: for an object reached through a reference, HDF5 finds its
    # name by searching the file (a whole second per call in a file of 45,000 spike cells)
    if obj.size * obj.dtype.itemsize > max_bytes(obj.file.filename):
        raise NwbItError(f"{obj.name} declares {obj.shape} values, more than the file could hold: file corrupt")
    if obj.attrs.get("MATLAB_empty", 0):
        dims = tuple(int(d) for d in np.ravel(obj[()]))
        if dims and min(dims) > 0:                # an empty value has a zero dimension
            raise NwbItError(f"{obj.name} is marked empty but declares {'x'.join(map(str, dims))}: file corrupt")
        if cls == "char":
            return ""
        if cls == "cell":
            return np.empty(dims, dtype=object)
        return np.zeros(dims, dtype=bool if cls == "logical" else np.float64)
    data = obj[()]
    if data.dtype == h5py.ref_dtype or data.dtype.kind == "O":
        out = np.empty(data.shape, dtype=object)
        flat = out.reshape(-1)
        for i, ref in enumerate(data.reshape(-1)):
            flat[i] = decode_h5(obj.file[ref])
        return out.T
    if cls == "char":
        return char_value(data.T)
    if cls == "logical":
        return data.T.astype(bool)
    if data.dtype.names and set(data.dtype.names) == {"real", "imag"}:
        return (data["real"] + 1j * data["imag"]).T
    return data.T


def char_value(codes: np.ndarray) -> str | np.ndarray:
    """A MATLAB char array (MATLAB shape) as Python text.

    A vector, 1-by-n or n-by-1 (``hdf5storage``'s ``oned_as="column"``, or transposed
    MATLAB code), is one string, as mat73 and the lab's scripts read it; a genuine
    multi-row char matrix stays one string per row.
    """
    codes = np.atleast_2d(codes)
    if min(codes.shape) == 1:
        return "".join(map(chr, codes.reshape(-1)))
    return np.array(["".join(map(chr, row)) for row in codes], dtype=object)


def decode_v5(value: Any) -> Any:
    """Decode a value from ``scipy.io.loadmat`` (struct_as_record=True, squeeze_me=False)."""
    if isinstance(value, np.ndarray):
        if value.dtype.names:
            structs = np.empty(value.shape, dtype=object)
            for idx in np.ndindex(value.shape):
                structs[idx] = {n: decode_v5(value[idx][n]) for n in value.dtype.names}
            return structs[(0,) * value.ndim] if value.size == 1 else structs
        if value.dtype == object:
            out = np.empty(value.shape, dtype=object)
            for idx in np.ndindex(value.shape):
                out[idx] = decode_v5(value[idx])
            return out
        if value.dtype.kind == "U":
            strings = [str(s) for s in value.reshape(-1)] if value.ndim else [str(value)]
            if len(strings) > 1 and all(len(s) <= 1 for s in strings):
                return "".join(strings)              # an n-by-1 char vector: one string (see char_value)
            return strings[0] if len(strings) == 1 else ("" if not strings else np.array(strings, dtype=object))
    return value
