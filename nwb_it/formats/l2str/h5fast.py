"""The spike-cell walk through the HDF5 C library that h5py itself loaded.

A v7.3 session stores every ``spikes{u}{k}{r}`` as its own dataset. Through
h5py each one costs about 90 us (``h5r.dereference`` alone ~65 us, mostly
Python-level wrapping); calling ``H5Oopen_by_addr``/``H5Dread`` through ctypes on
the same library handle costs about 30 us, which is what makes ``convert``
several times faster than ``mat73.loadmat``. An old-style object reference
(``H5T_STD_REF_OBJ``) is the object's file address, so references are read as
``uint64`` and opened by address.

If the library cannot be found (h5py built against a system HDF5 we cannot
locate), :func:`load` returns None and the reader falls back to h5py's API.
"""
from __future__ import annotations

import ctypes
import ctypes.util
import glob
import os
from functools import lru_cache

import h5py
import numpy as np

from ...core.errors import NwbItError
from .cells import (
    STRUCT_INSIDE,
    SpikeBuffer,
    damaged_float_message,
    integer_name,
    not_a_cell_message,
    not_a_vector_message,
    not_spike_times_message,
)

_hid = ctypes.c_int64
H5T_INTEGER, H5T_FLOAT, H5T_REFERENCE = 0, 1, 7
H5T_SGN_2 = 1               # H5Tget_sign: two's complement (signed)


@lru_cache(maxsize=1)
def load():
    """The HDF5 C library h5py uses, with the few functions we call, or None."""
    base = os.path.dirname(h5py.__file__)
    candidates = (glob.glob(base + ".libs/libhdf5-*.so*") + glob.glob(os.path.join(base, ".dylibs", "libhdf5*.dylib"))
                  + [ctypes.util.find_library("hdf5")])
    for name in filter(None, candidates):
        try:
            lib = ctypes.CDLL(name)
            major, minor, rel = ctypes.c_uint(), ctypes.c_uint(), ctypes.c_uint()
            lib.H5get_libversion(ctypes.byref(major), ctypes.byref(minor), ctypes.byref(rel))
            if (major.value, minor.value, rel.value) != h5py.h5.get_libversion():
                continue
            for fn, res, args in [
                    ("H5Oopen_by_addr", _hid, [_hid, ctypes.c_uint64]), ("H5Dget_type", _hid, [_hid]),
                    ("H5Tget_class", ctypes.c_int, [_hid]), ("H5Dget_space", _hid, [_hid]),
                    ("H5Sget_simple_extent_npoints", ctypes.c_int64, [_hid]),
                    ("H5Sget_simple_extent_dims", ctypes.c_int, [_hid, ctypes.c_void_p, ctypes.c_void_p]),
                    ("H5Aexists", ctypes.c_int, [_hid, ctypes.c_char_p]),
                    ("H5Dread", ctypes.c_int, [_hid, _hid, _hid, _hid, _hid, ctypes.c_void_p]),
                    ("H5Sclose", ctypes.c_int, [_hid]), ("H5Tclose", ctypes.c_int, [_hid]),
                    ("H5Oclose", ctypes.c_int, [_hid]), ("H5Tequal", ctypes.c_int, [_hid, _hid]),
                    ("H5Tget_size", ctypes.c_size_t, [_hid]), ("H5Tget_sign", ctypes.c_int, [_hid]),
                    ("H5Dget_offset", ctypes.c_uint64, [_hid]), ("H5Dget_storage_size", ctypes.c_uint64, [_hid])]:
                getattr(lib, fn).restype = res
                getattr(lib, fn).argtypes = args
            lib.H5open()
            lib.double_t = _hid.in_dll(lib, "H5T_NATIVE_DOUBLE_g").value
            lib.ref_t = _hid.in_dll(lib, "H5T_STD_REF_OBJ_g").value
            # the IEEE types a spike dataset may have: anything else (a damaged type message) is refused
            lib.ieee_floats = [_hid.in_dll(lib, f"H5T_IEEE_F{bits}{order}_g").value
                               for bits in (64, 32) for order in ("LE", "BE")]
            return lib
        except (OSError, AttributeError, ValueError):
            continue
    return None


HADDR_UNDEF = (1 << 64) - 1   # H5Dget_offset's "no single contiguous block in this file" (chunked, compact, external)


class CCells:
    """A :class:`~nwb_it.formats.l2str.cells.CellReader` on file addresses, through the HDF5 C library.

    Most spike datasets of a session are small contiguous little-endian doubles: for those
    only the header is opened (type, extent, file offset, storage size all checked) and
    the values are gathered from the file in one vectorised read at the end (:meth:`times`),
    instead of one ``H5Dread`` each (its property-list and selection set-up cost more than
    the copy). Every other layout or type (chunked, compressed, compact, external, single,
    big-endian) is read by ``H5Dread`` with conversion to double, as before.
    """

    def __init__(self, lib, f: h5py.File, spikes: h5py.Dataset, path):
        self.lib, self.fid, self.top, self.path = lib, f.id.id, spikes.id.id, path
        self._spikes = spikes               # keeps the top dataset (and so ``self.top``) open while we walk
        self.buffer = SpikeBuffer(path)
        self._dims = np.zeros(32, dtype=np.uint64)
        self._dims_at = self._dims.ctypes.data
        self._deferred: list[tuple[int, int, int]] = []      # (buffer position, file offset, count)
        self._file = f.filename

    def units(self) -> np.ndarray:
        return self._refs(self.top, "spikes", close=False)

    def cells(self, addr, what: str) -> np.ndarray:
        return self._refs(self._open(addr), what)

    def _open(self, addr) -> int:
        oid = self.lib.H5Oopen_by_addr(self.fid, int(addr))
        if oid < 0:
            raise NwbItError(f"cannot open the object at address {int(addr)} (file truncated or corrupt)", self.path)
        return oid

    def _class(self, oid: int, ieee: list[bool] | None = None, integer: list[str] | None = None) -> int:
        tid = self.lib.H5Dget_type(oid)
        if tid < 0:
            self.lib.H5Oclose(oid)
            raise NwbItError(STRUCT_INSIDE, self.path)
        cls = self.lib.H5Tget_class(tid)
        if ieee is not None and cls == H5T_FLOAT:
            ieee.append(any(self.lib.H5Tequal(tid, t) > 0 for t in self.lib.ieee_floats))
        if integer is not None and cls == H5T_INTEGER:
            integer.append(integer_name(self.lib.H5Tget_size(tid), self.lib.H5Tget_sign(tid) == H5T_SGN_2))
        self.lib.H5Tclose(tid)
        return cls

    def _is_empty(self, oid: int) -> bool:
        return self.lib.H5Aexists(oid, b"MATLAB_empty") > 0

    def _refs(self, oid: int, what: str, close: bool = True) -> np.ndarray:
        lib = self.lib
        try:
            cls = self._class(oid)
            if cls != H5T_REFERENCE:
                if cls == H5T_INTEGER and self._is_empty(oid):
                    return np.zeros(0, dtype=np.uint64)
                raise NwbItError(not_a_cell_message(what), self.path)
            space = lib.H5Dget_space(oid)
            ndim = lib.H5Sget_simple_extent_dims(space, self._dims_at, None)
            n = lib.H5Sget_simple_extent_npoints(space)
            lib.H5Sclose(space)
            dims = self._dims[:ndim]
            if ndim > 2 or (ndim == 2 and dims.min() > 1):
                raise NwbItError(not_a_vector_message(what, int(dims[-1]), int(dims[0])), self.path)
            out = np.empty(n, dtype=np.uint64)
            if lib.H5Dread(oid, lib.ref_t, 0, 0, 0, out.ctypes.data) < 0:
                raise NwbItError(f"cannot read {what} (file truncated or corrupt)", self.path)
            return out
        finally:
            if close:
                lib.H5Oclose(oid)

    def repeats(self, handles: np.ndarray, where: str) -> list[int]:
        """Spike counts of one clip's repeats (``where`` is ``{u}{k}``); contiguous doubles are read later."""
        lib, fid, path, buffer, deferred = self.lib, self.fid, self.path, self.buffer, self._deferred
        open_addr, get_type, get_class, equal, close_type = (lib.H5Oopen_by_addr, lib.H5Dget_type, lib.H5Tget_class,
                                                             lib.H5Tequal, lib.H5Tclose)
        get_space, npoints, close_space, close = (lib.H5Dget_space, lib.H5Sget_simple_extent_npoints, lib.H5Sclose,
                                                  lib.H5Oclose)
        get_offset, storage_size, f64le = lib.H5Dget_offset, lib.H5Dget_storage_size, lib.ieee_floats[0]
        counts = []
        for i, addr in enumerate(handles.tolist()):
            oid = open_addr(fid, addr)
            if oid < 0:
                raise NwbItError(f"cannot open the object at address {addr} (file truncated or corrupt)", path)
            try:
                tid = get_type(oid)
                if tid < 0:
                    raise NwbItError(STRUCT_INSIDE, path)
                little_double = get_class(tid) == H5T_FLOAT and equal(tid, f64le) > 0
                close_type(tid)
                if not little_double:                      # single, big-endian, empty or not spike times
                    counts.append(self._spikes_read(oid, f"{where}{{{i + 1}}}"))
                    continue
                space = get_space(oid)
                n = npoints(space)
                close_space(space)
                offset = get_offset(oid)
                if n <= 0 or offset == HADDR_UNDEF or storage_size(oid) != 8 * n:
                    counts.append(self._spikes_read(oid, f"{where}{{{i + 1}}}"))
                    continue
                at = buffer.reserve(n, f"{where}{{{i + 1}}}")
                deferred.append((at, offset, n))
                buffer.used += n
                counts.append(n)
            finally:
                close(oid)
        return counts

    def _spikes_read(self, oid: int, where: str) -> int:
        """One repeat's spike times through ``H5Dread`` (any float type and layout, converted to double)."""
        lib = self.lib
        ieee: list[bool] = []
        integer: list[str] = []
        cls = self._class(oid, ieee, integer)
        if cls != H5T_FLOAT:
            if cls == H5T_INTEGER and self._is_empty(oid):
                return 0
            found = "a cell" if cls == H5T_REFERENCE else integer[0] if integer else "non-float data"
            raise NwbItError(not_spike_times_message(where, found), self.path)
        if not ieee[0]:
            raise NwbItError(damaged_float_message(where), self.path)
        space = lib.H5Dget_space(oid)
        n = lib.H5Sget_simple_extent_npoints(space)
        lib.H5Sclose(space)
        at = self.buffer.reserve(n, where)
        if lib.H5Dread(oid, lib.double_t, 0, 0, 0, self.buffer.values.ctypes.data + 8 * at) < 0:
            raise NwbItError(f"cannot read spikes{where} (file truncated or corrupt)", self.path)
        self.buffer.used += n
        return n

    def times(self) -> np.ndarray:
        """Every spike time: the deferred contiguous blocks gathered from the file, then the buffer."""
        if self._deferred:
            at, offset, n = (np.array(c, dtype=np.int64) for c in zip(*self._deferred))
            self._deferred = []
            gather_doubles(self._file, offset, n, at, self.buffer.values, self.path)
        return self.buffer.times()


def gather_doubles(filename: str, offset: np.ndarray, n: np.ndarray, at: np.ndarray, out: np.ndarray, path) -> None:
    """``out[at[i]:at[i] + n[i]] = float64-LE values at byte ``offset[i]`` of the file``, for every i at once."""
    size = os.path.getsize(filename)
    if offset.size and int((offset + 8 * n).max()) > size:
        raise NwbItError("a spike dataset lies beyond the end of the file (file truncated or corrupt)", path)
    raw = np.memmap(filename, dtype=np.uint8, mode="r")
    try:
        rank = np.arange(int(n.sum())) - np.repeat(np.cumsum(n) - n, n)           # position inside each block
        src_start, dst = np.repeat(offset, n), np.repeat(at, n) + rank
        for shift in np.unique(offset % 8).tolist():          # blocks at one alignment share a float64 view
            view = np.frombuffer(raw, dtype="<f8", offset=shift, count=(size - shift) // 8)
            pick = src_start % 8 == shift
            out[dst[pick]] = view[(src_start[pick] - shift) // 8 + rank[pick]]
    finally:
        del raw
