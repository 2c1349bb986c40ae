"""One walk over the MATLAB cell ``spikes{unit}{clip}{repeat}``, on three cell readers.

:func:`walk_spike_cells` owns the shape checks (every unit has the same clips, every
clip the same repeats in every unit) and their messages; a :class:`CellReader` only
says how to list a cell's elements and how to read one repeat's spike times:

* :class:`H5pyCells` — a v7.3 file through h5py's low-level API;
* ``h5fast.CCells`` — the same file through the HDF5 C library h5py loaded (faster);
* :class:`DecodedCells` — an already decoded value (v5 files, via ``scipy.io.loadmat``).

All three append spike times into one :class:`SpikeBuffer` (no Python object per
spike array) and raise the same messages (the ``*_message`` functions below).
"""
from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any, Protocol

import h5py
import numpy as np

from ...core.errors import NwbItError
from .limits import IEEE_FLOATS, max_bytes


def not_a_cell_message(what: str) -> str:
    return f"spikes is not a nested cell array ({what} is not a cell)"


def not_a_vector_message(what: str, rows: int, cols: int) -> str:
    return f"{what} is a {rows}x{cols} cell; expected a vector"


def integer_name(size: int, signed: bool) -> str:
    """What the messages call an integer type of ``size`` bytes (numpy's name: int32, uint8, ...)."""
    return f"{'' if signed else 'u'}int{8 * size}"


def not_spike_times_message(where: str, found: str) -> str:
    return f"spikes{where} holds {found} where spike times (double) are expected"


def damaged_float_message(where: str) -> str:
    return f"spikes{where} has a damaged floating-point type (not IEEE 754): file corrupt"


def too_many_values_message(where: str, n: int) -> str:
    return f"spikes{where} declares {n} values, more than the file could hold: file corrupt"


STRUCT_INSIDE = "spikes is not a nested cell array (found a struct inside)"


class SpikeBuffer:
    """Spike times of every repeat, appended into one growing float64 array."""

    def __init__(self, path):
        self.path = path
        self.values = np.empty(1 << 16, dtype=np.float64)
        self.used = 0
        self.max_bytes = max_bytes(path)

    def reserve(self, n: int, where: str) -> int:
        """Room for ``n`` more values (checked against the file's size first); returns the offset to write at."""
        if n < 0 or 8 * n > self.max_bytes:
            raise NwbItError(too_many_values_message(where, n), self.path)
        if self.used + n > self.values.size:
            self.values = np.resize(self.values, max(2 * self.values.size, self.used + n))
        return self.used

    def times(self) -> np.ndarray:
        return self.values[:self.used].copy()


class CellReader(Protocol):
    """What :func:`walk_spike_cells` needs of a backend."""

    buffer: SpikeBuffer

    def units(self) -> Sequence[Any]:
        """The top cell's elements (one handle per unit)."""

    def cells(self, handle: Any, what: str) -> Sequence[Any]:
        """The elements of the cell vector ``handle`` (empty for MATLAB's empty value)."""

    def repeats(self, handles: Sequence[Any], where: str) -> list[int]:
        """Append the spike times of one clip's repeats (``where``: ``{u}{k}``); return how many each."""

    def times(self) -> np.ndarray:
        """Every spike time appended, in order."""


class ReadEachRepeat:
    """``repeats`` and ``times`` for readers that read one repeat at a time (``spikes(handle, where)``)."""

    buffer: SpikeBuffer

    def repeats(self, handles: Sequence[Any], where: str) -> list[int]:
        return [self.spikes(h, f"{where}{{{i + 1}}}") for i, h in enumerate(handles)]

    def times(self) -> np.ndarray:
        return self.buffer.times()


def part_bounds(n_units: int, part: tuple[int, int]) -> tuple[int, int]:
    """Units ``[lo, hi)`` of part ``k`` of ``n`` (``part = (k, n)``): contiguous, sizes differing by at most one."""
    k, n = part
    return k * n_units // n, (k + 1) * n_units // n


def walk_spike_cells(reader: CellReader, path, progress: Callable[[int], Any] | None = None,
                     part: tuple[int, int] = (0, 1)) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Read ``spikes{u}{k}{r}`` through ``reader``, for the units of ``part`` (``(k, n)``: the k-th of n
    contiguous parts, so that n processes can each read one; the shape checks compare every unit with unit 1,
    whose cell lists a later part reads too).

    Returns
    -------
    n_repeats : (n_clips,) int
    counts : (units of the part, n_presentations) int
    times : float64 flat array, unit-major then clip, repeat
    """
    units = reader.units()
    lo, hi = part_bounds(len(units), part)
    n_repeats: np.ndarray | None = None
    if len(units) and not lo < 1 <= hi:           # unit 1 not in this part: its cell lists (not its spikes) are
                                                  # the shape every unit is checked against
        n_repeats = np.array([len(reader.cells(clip, f"spikes{{1}}{{{k + 1}}}"))
                              for k, clip in enumerate(reader.cells(units[0], "spikes{1}"))], dtype=np.int64)
    all_counts: list[int] = []
    for u in range(lo, hi):
        clips = reader.cells(units[u], f"spikes{{{u + 1}}}")
        if n_repeats is None:
            n_repeats = np.empty(len(clips), dtype=np.int64)
        elif len(clips) != n_repeats.size:
            raise NwbItError(f"spikes{{{u + 1}}} has {len(clips)} clips but spikes{{1}} has {n_repeats.size}", path)
        for k, clip in enumerate(clips):
            where = f"{{{u + 1}}}{{{k + 1}}}"
            repeats = reader.cells(clip, f"spikes{where}")
            if u == 0:
                n_repeats[k] = len(repeats)
            elif len(repeats) != n_repeats[k]:
                raise NwbItError(f"spikes{where} has {len(repeats)} repeats but spikes{{1}}{{{k + 1}}} has "
                                 f"{n_repeats[k]}", path)
            all_counts.extend(reader.repeats(repeats, where))
        if progress is not None:
            progress(1)
    if n_repeats is None:
        n_repeats = np.zeros(0, dtype=np.int64)
    counts = np.asarray(all_counts, dtype=np.int64).reshape(hi - lo, int(n_repeats.sum()))
    return n_repeats, counts, reader.times()


class H5pyCells(ReadEachRepeat):
    """A v7.3 file's cells through h5py's low-level API (one dereference + one read per element)."""

    def __init__(self, f: h5py.File, spikes: h5py.Dataset, path):
        self.fid, self.top, self.path = f.id, spikes.id, path      # holding the id keeps the dataset open
        self.buffer = SpikeBuffer(path)

    def units(self) -> np.ndarray:
        return self._refs(self.top, "spikes")

    def _open(self, ref) -> h5py.h5d.DatasetID:
        obj = h5py.h5r.dereference(ref, self.fid)
        if not isinstance(obj, h5py.h5d.DatasetID):
            raise NwbItError(STRUCT_INSIDE, self.path)
        return obj

    @staticmethod
    def _is_empty(dsid, tid) -> bool:
        return tid.get_class() == h5py.h5t.INTEGER and h5py.h5a.exists(dsid, b"MATLAB_empty")

    def cells(self, handle, what: str) -> np.ndarray:
        return self._refs(self._open(handle), what)

    def _refs(self, dsid, what: str) -> np.ndarray:
        tid = dsid.get_type()
        if tid.get_class() != h5py.h5t.REFERENCE:
            if self._is_empty(dsid, tid):
                return np.empty(0, dtype=h5py.ref_dtype)
            raise NwbItError(not_a_cell_message(what), self.path)
        shape = dsid.shape
        if len(shape) > 2 or (len(shape) == 2 and min(shape) > 1):
            raise NwbItError(not_a_vector_message(what, shape[1], shape[0]), self.path)
        out = np.empty(shape, dtype=h5py.ref_dtype)
        dsid.read(h5py.h5s.ALL, h5py.h5s.ALL, out)
        return out.reshape(-1)

    def spikes(self, handle, where: str) -> int:
        dsid = self._open(handle)
        tid = dsid.get_type()
        cls = tid.get_class()
        if cls != h5py.h5t.FLOAT:
            if self._is_empty(dsid, tid):
                return 0
            found = ("a cell" if cls == h5py.h5t.REFERENCE else
                     integer_name(tid.get_size(), tid.get_sign() == h5py.h5t.SGN_2) if cls == h5py.h5t.INTEGER else
                     "non-float data")
            raise NwbItError(not_spike_times_message(where, found), self.path)
        if not any(tid.equal(t) for t in IEEE_FLOATS):
            raise NwbItError(damaged_float_message(where), self.path)
        shape = dsid.shape
        n = int(np.prod(shape))
        at = self.buffer.reserve(n, where)
        view = self.buffer.values[at:at + n].reshape(shape)
        if tid.get_size() == 8:
            dsid.read(h5py.h5s.ALL, h5py.h5s.ALL, view)
        else:
            tmp = np.empty(shape, dtype=np.float32)
            dsid.read(h5py.h5s.ALL, h5py.h5s.ALL, tmp)
            view[...] = tmp
        self.buffer.used += n
        return n


class DecodedCells(ReadEachRepeat):
    """An already decoded ``spikes`` value (object arrays of object arrays of float arrays: v5 files)."""

    def __init__(self, spikes: Any, path):
        self.top, self.path = spikes, path
        self.buffer = SpikeBuffer(None)

    def units(self) -> list:
        return cell_elements(self.top, "spikes", self.path)

    def cells(self, handle, what: str) -> list:
        return cell_elements(handle, what, self.path) if _nonempty(handle) else []

    def spikes(self, handle, where: str) -> int:
        arr = np.asarray(handle)
        if arr.size and (arr.dtype == object or arr.dtype.kind != "f"):
            found = ("a cell" if arr.dtype == object else
                     integer_name(arr.dtype.itemsize, arr.dtype.kind == "i") if arr.dtype.kind in "iu" else
                     "non-float data")
            raise NwbItError(not_spike_times_message(where, found), self.path)
        at = self.buffer.reserve(arr.size, where)
        self.buffer.values[at:at + arr.size] = arr.reshape(-1, order="F")
        self.buffer.used += arr.size
        return arr.size


def cell_elements(value: Any, what: str, path) -> list:
    """Elements of a cell that must be a vector (n-by-1, 1-by-n or empty)."""
    if not isinstance(value, np.ndarray) or value.dtype != object:
        raise NwbItError(f"{what} is not a cell array", path)
    if value.ndim > 2 or (value.ndim == 2 and min(value.shape) > 1):
        raise NwbItError(not_a_vector_message(what, value.shape[0], value.shape[1]), path)
    return list(value.reshape(-1))


def _nonempty(value: Any) -> bool:
    return not (isinstance(value, np.ndarray) and value.size == 0 and value.dtype != object)
