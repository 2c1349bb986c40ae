"""Decoding MATLAB values (v7.3 HDF5 and v5/v7 files) into plain numpy/Python values.

Decoded values keep MATLAB's shape: numeric arrays are ndarrays with the MATLAB
dimensions, cells are object ndarrays, structs are dicts (struct arrays: object
ndarrays of dicts), char arrays are ``str``. The spike cells are not decoded here:
``walk_spike_cells`` reads them through h5py's low-level API straight into flat arrays.
"""
from __future__ import annotations

from typing import Any

import h5py
import numpy as np

from ...core.errors import NwbItError
from . import h5fast
from .limits import max_bytes

IEEE_FLOATS = (h5py.h5t.IEEE_F64LE, h5py.h5t.IEEE_F64BE, h5py.h5t.IEEE_F32LE, h5py.h5t.IEEE_F32BE)


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


def cell_elements(value: Any, what: str, path) -> list:
    """Elements of a cell that must be a vector (n-by-1, 1-by-n or empty)."""
    if not isinstance(value, np.ndarray) or value.dtype != object:
        raise NwbItError(f"{what} is not a cell array", path)
    if value.ndim > 2 or (value.ndim == 2 and min(value.shape) > 1):
        raise NwbItError(f"{what} is a {value.shape[0]}x{value.shape[1]} cell; expected a vector", path)
    return list(value.reshape(-1))


class _Walk:
    """Reads spikes{u}{k}{r} into flat arrays through h5py's low-level API.

    One h5r.dereference + one DatasetID.read per cell element; the spike values go
    straight into a preallocated buffer, so no Python object is made per spike array.
    """

    def __init__(self, f: h5py.File, path):
        self.fid = f.id
        self.path = path
        self.buffer = np.empty(1 << 16, dtype=np.float64)
        self.used = 0
        self.max_bytes = max_bytes(path)

    def open(self, ref) -> h5py.h5d.DatasetID:
        obj = h5py.h5r.dereference(ref, self.fid)
        if not isinstance(obj, h5py.h5d.DatasetID):
            raise NwbItError("spikes is not a nested cell array (found a struct inside)", self.path)
        return obj

    def refs(self, ref, what: str) -> np.ndarray:
        dsid = ref if isinstance(ref, h5py.h5d.DatasetID) else self.open(ref)
        tid = dsid.get_type()
        if tid.get_class() != h5py.h5t.REFERENCE:
            if self.is_empty(dsid, tid):
                return np.empty(0, dtype=h5py.ref_dtype)
            raise NwbItError(f"spikes is not a nested cell array ({what} is not a cell)", self.path)
        shape = dsid.shape
        if len(shape) > 2 or (len(shape) == 2 and min(shape) > 1):
            raise NwbItError(f"spikes: {what} is a {shape[1]}x{shape[0]} cell; expected a vector", self.path)
        out = np.empty(shape, dtype=h5py.ref_dtype)
        dsid.read(h5py.h5s.ALL, h5py.h5s.ALL, out)
        return out.reshape(-1)

    @staticmethod
    def is_empty(dsid, tid) -> bool:
        return (tid.get_class() == h5py.h5t.INTEGER and h5py.h5a.exists(dsid, b"MATLAB_empty"))

    def spikes(self, ref, where: str) -> int:
        """Append one repeat's spike times to the buffer; return how many."""
        dsid = self.open(ref)
        tid = dsid.get_type()
        cls = tid.get_class()
        if cls != h5py.h5t.FLOAT:
            if self.is_empty(dsid, tid):
                return 0
            raise NwbItError(f"spikes{where} holds {'a cell' if cls == h5py.h5t.REFERENCE else 'non-float data'}"
                             " where spike times (double) are expected", self.path)
        if not any(tid.equal(t) for t in IEEE_FLOATS):
            raise NwbItError(f"spikes{where} has a damaged floating-point type (not IEEE 754): file corrupt", self.path)
        shape = dsid.shape
        n = int(np.prod(shape))
        if 8 * n > self.max_bytes:
            raise NwbItError(f"spikes{where} declares {n} values, more than the file could hold: file corrupt",
                             self.path)
        if self.used + n > self.buffer.size:
            self.buffer = np.resize(self.buffer, max(2 * self.buffer.size, self.used + n))
        view = self.buffer[self.used:self.used + n].reshape(shape)
        if tid.get_size() == 8:
            dsid.read(h5py.h5s.ALL, h5py.h5s.ALL, view)
        else:
            tmp = np.empty(shape, dtype=np.float32)
            dsid.read(h5py.h5s.ALL, h5py.h5s.ALL, tmp)
            view[...] = tmp
        self.used += n
        return n


def walk_spike_cells(f: h5py.File, spikes_ds: h5py.Dataset, path, progress=None, fast: bool = True
                     ) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read ``spikes{u}{k}{r}`` of a v7.3 file.

    ``fast`` uses the HDF5 C library directly (see ``h5fast``); otherwise, or where
    that library cannot be found, h5py's low-level API. Both give identical arrays.

    Returns
    -------
    n_repeats : (n_clips,) int
    counts : (n_units, n_presentations) int
    times : float64 flat array, unit-major then clip, repeat
    """
    lib = h5fast.load() if fast else None
    walk = h5fast.CWalk(lib, f, path) if lib is not None else _Walk(f, path)
    units = (walk.refs_of_id(spikes_ds.id.id, "spikes", close=False) if lib is not None
             else walk.refs(spikes_ds.id, "spikes"))
    n_repeats = None
    all_counts = []
    for u, unit_ref in enumerate(units):
        clips = walk.refs(unit_ref, f"{{{u + 1}}}")
        if n_repeats is None:
            n_repeats = np.empty(len(clips), dtype=np.int64)
        elif len(clips) != n_repeats.size:
            raise NwbItError(f"spikes{{{u + 1}}} has {len(clips)} clips but spikes{{1}} has "
                             f"{n_repeats.size}", path)
        counts = []
        for k, clip_ref in enumerate(clips):
            repeats = walk.refs(clip_ref, f"{{{u + 1}}}{{{k + 1}}}")
            if u == 0:
                n_repeats[k] = len(repeats)
            elif len(repeats) != n_repeats[k]:
                raise NwbItError(f"spikes{{{u + 1}}}{{{k + 1}}} has {len(repeats)} repeats but "
                                 f"spikes{{1}}{{{k + 1}}} has {n_repeats[k]}", path)
            counts.extend(walk.spikes(r, f"{{{u + 1}}}{{{k + 1}}}{{{i + 1}}}")
                          for i, r in enumerate(repeats))
        all_counts.append(counts)
        if progress is not None:
            progress(1)
    if n_repeats is None:
        n_repeats = np.zeros(0, dtype=np.int64)
    counts = np.asarray(all_counts, dtype=np.int64).reshape(len(units), int(n_repeats.sum()))
    return n_repeats, counts, walk.buffer[:walk.used].copy()


def nested_spike_cells(spikes: Any, path) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The same as ``walk_spike_cells`` for an already decoded value (v5 files)."""
    units = cell_elements(spikes, "spikes", path)
    n_repeats = None
    counts, times = [], []
    for u, unit in enumerate(units):
        clips = cell_elements(unit, f"spikes{{{u + 1}}}", path) if _nonempty(unit) else []
        if n_repeats is None:
            n_repeats = np.empty(len(clips), dtype=np.int64)
        elif len(clips) != n_repeats.size:
            raise NwbItError(f"spikes{{{u + 1}}} has {len(clips)} clips but spikes{{1}} has "
                             f"{n_repeats.size}", path)
        for k, clip in enumerate(clips):
            where = f"spikes{{{u + 1}}}{{{k + 1}}}"
            repeats = cell_elements(clip, where, path) if _nonempty(clip) else []
            if u == 0:
                n_repeats[k] = len(repeats)
            elif len(repeats) != n_repeats[k]:
                raise NwbItError(f"{where} has {len(repeats)} repeats but spikes{{1}}{{{k + 1}}} "
                                 f"has {n_repeats[k]}", path)
            for r, rep in enumerate(repeats):
                arr = np.asarray(rep)
                if arr.size and (arr.dtype == object or arr.dtype.kind != "f"):
                    raise NwbItError(f"{where}{{{r + 1}}} holds {'a cell' if arr.dtype == object else arr.dtype}"
                                     " where spike times (double) are expected", path)
                times.append(arr.astype(np.float64).reshape(-1, order="F"))
                counts.append(arr.size)
    if n_repeats is None:
        n_repeats = np.zeros(0, dtype=np.int64)
    flat = np.concatenate(times) if times else np.zeros(0)
    return n_repeats, np.asarray(counts, dtype=np.int64).reshape(len(units), -1), flat


def _nonempty(value: Any) -> bool:
    return not (isinstance(value, np.ndarray) and value.size == 0 and value.dtype != object)
