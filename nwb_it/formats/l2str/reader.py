"""Read an ``L2_str`` recording session (MATLAB v7.3 or v5/v7) into a :class:`Session`."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

import h5py
import numpy as np

from ...core.errors import NwbItError
from ...core.params import usable_cores
from ...core.progress import progress_bar
from ...core.session import Session
from . import h5fast
from .cells import DecodedCells, H5pyCells, cell_elements, part_bounds, walk_spike_cells
from .decode import decode_h5, decode_v5, struct_field_names
from .isolate import run_isolated, run_isolated_parts
from .limits import max_bytes

MAX_SPIKE_TIME_S = 60.0             # spike times are relative to a clip's onset: minutes away is a damaged value
V5_READER_BASE_BYTES = 4 << 30      # the child's address space: Python, numpy, scipy, plus the data
MAX_READERS = 4                     # processes reading one v7.3 file's spike cells at most
READER_MIN_BYTES = 16 << 20         # one reader per this much file: below, a fork costs more than it saves


@dataclass(frozen=True)
class SourceLayout:
    """Names of the struct and of the fields the converter gives a meaning to.

    Every other field of the struct is carried along under its own name.
    """

    struct: str = "L2_str"
    spikes: str = "spikes"
    itemnames: str = "itemnames"
    neuron_id: str = "neuron_id"
    trialnum: str = "trialnum"


def read_mat_header(path: Path) -> tuple[str, int]:
    """The 116-byte text header and the format version (0x0200 = v7.3, 0x0100 = v5)."""
    try:
        with open(path, "rb") as raw:
            head = raw.read(128)
    except OSError as exc:
        raise NwbItError(f"cannot read file ({exc.strerror})", path) from None
    if len(head) < 128 or not head.startswith(b"MATLAB"):
        raise NwbItError("not a MATLAB .mat file (no 'MATLAB ... MAT-file' header)", path)
    version = int.from_bytes(head[124:126], "little" if head[126:128] == b"IM" else "big")
    return head[:116].decode("latin-1").rstrip(" \x00"), version


def header_date(header: str) -> datetime | None:
    """The ``Created on:`` date of a MAT header (no timezone: MATLAB writes local time)."""
    match = re.search(r"Created on:\s*(\w{3} \w{3}\s+\d{1,2} \d\d:\d\d:\d\d \d{4})", header)
    if not match:
        return None
    try:
        return datetime.strptime(" ".join(match.group(1).split()), "%a %b %d %H:%M:%S %Y")
    except ValueError:
        return None


def _names(value: Any, what: str, path: Path) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, np.ndarray) and value.dtype != object:
        return [format(v, "g") if isinstance(v, float) else str(v) for v in value.reshape(-1, order="F").tolist()]
    out = []
    for item in cell_elements(value, what, path):
        if isinstance(item, np.ndarray) and item.size == 1:
            item = item.reshape(-1)[0]
        out.append(item if isinstance(item, str) else format(item, "g") if isinstance(item, float) else str(item))
    return out


def _check_spike_times(session: Session, path: Path, bound: float) -> None:
    """Refuse NaN/inf and implausible times: one absurd value would move every onset of the session clock."""
    bad = ~(np.abs(session.spike_times) <= bound)
    if bad.any():
        unit, pres = session.spike_owner()
        i = int(np.argmax(bad))
        clip = int(session.presentation_clip[pres[i]])
        rep = int(session.presentation_repeat[pres[i]])
        what = "non-finite" if not np.isfinite(session.spike_times[i]) else f"beyond +-{bound:g} s of clip onset"
        raise NwbItError(f"spikes{{{unit[i] + 1}}}{{{clip + 1}}}{{{rep + 1}}} holds a {session.spike_times[i]:g} s "
                         f"spike time ({int(bad.sum())} {what} in all; times are relative to clip onset, "
                         "--max-spike-time sets the bound)", path)


def v73_cells(f: h5py.File, spikes: h5py.Dataset, path, fast: bool = True):
    """The cell reader of a v7.3 file: the HDF5 C library's (``fast``, where it can be found), else h5py's."""
    lib = h5fast.load() if fast else None
    return h5fast.CCells(lib, f, spikes, path) if lib is not None else H5pyCells(f, spikes, path)


def _read_v73(path: Path, layout: SourceLayout, part: tuple[int, int] = (0, 1), ticks=None):
    """The struct's other fields (part 0 only; None in the others) and the spike cells of ``part``'s units."""
    f = h5py.File(path, "r")
    with f:
        if layout.struct not in f:
            found = [k for k in f if not k.startswith("#")]
            raise NwbItError(f"no '{layout.struct}' struct in the file (variables: {', '.join(found) or 'none'})", path)
        grp = f[layout.struct]
        if not isinstance(grp, h5py.Group):
            raise NwbItError(f"'{layout.struct}' is not a struct", path)
        if layout.spikes not in grp:
            raise NwbItError(f"'{layout.struct}' has no field '{layout.spikes}' (fields: {', '.join(grp)})", path)
        fields = ({name: decode_h5(grp[name]) for name in struct_field_names(grp) if name != layout.spikes}
                  if part[0] == 0 else None)
        spikes_ds = grp[layout.spikes]
        if not isinstance(spikes_ds, h5py.Dataset) or spikes_ds.attrs.get("MATLAB_class") != b"cell":
            raise NwbItError(f"'{layout.spikes}' is not a nested cell array", path)
        if ticks is not None:
            lo, hi = part_bounds(int(np.prod(spikes_ds.shape)), part)
            ticks.total(hi - lo)
        spikes = walk_spike_cells(v73_cells(f, spikes_ds, path), path, ticks, part)
    return fields, spikes


def readers_for(path: Path, readers: int | None) -> int:
    """How many processes read a v7.3 file's spike cells: ``readers``, or by default one per core this process
    may use, at most ``MAX_READERS``, one per ``READER_MIN_BYTES`` of file (a small file is not worth a fork)."""
    if readers is not None:
        if readers < 1:
            raise NwbItError(f"`readers={readers}`: at least 1")
        return readers
    try:
        size = path.stat().st_size
    except OSError:
        size = 0
    return max(1, min(usable_cores(), MAX_READERS, size // READER_MIN_BYTES))


def _read_v73_parts(path: Path, layout: SourceLayout, readers: int | None):
    """:func:`_read_v73` in ``readers`` children at once (each a contiguous share of the units), merged."""
    n = readers_for(path, readers)
    parts = [(_read_v73, path, layout, (k, n)) for k in range(n)]
    with progress_bar(desc=f"reading {path.name}", unit="unit") as bar:
        results = run_isolated_parts(_read_guarded, parts, path, "MATLAB v7.3 (HDF5)",
                                     bar=None if bar.disable else bar)
    fields = results[0][0]
    n_repeats = results[0][1][0]
    counts = np.concatenate([r[1][1] for r in results]) if n > 1 else results[0][1][1]
    times = np.concatenate([r[1][2] for r in results]) if n > 1 else results[0][1][2]
    return fields, (n_repeats, counts, times)


def _loadmat(path: Path) -> dict:
    import scipy.io

    return scipy.io.loadmat(path, struct_as_record=True, squeeze_me=False)


def loadmat_isolated(path: Path) -> dict:
    """``scipy.io.loadmat`` in a child process with a memory cap; a crash there is a clear error here."""
    return run_isolated(_loadmat, (path,), path, "MATLAB v5/v7", V5_READER_BASE_BYTES + max_bytes(path))


def _read_v5(path: Path, layout: SourceLayout):
    mat = loadmat_isolated(path)
    if layout.struct not in mat:
        found = [k for k in mat if not k.startswith("__")]
        raise NwbItError(f"no '{layout.struct}' struct in the file (variables: {', '.join(found) or 'none'})", path)
    struct = decode_v5(mat[layout.struct])
    if not isinstance(struct, dict):
        raise NwbItError(f"'{layout.struct}' is not a 1x1 struct", path)
    if layout.spikes not in struct:
        raise NwbItError(f"'{layout.struct}' has no field '{layout.spikes}' (fields: {', '.join(struct)})", path)
    fields = {k: v for k, v in struct.items() if k != layout.spikes}
    return fields, walk_spike_cells(DecodedCells(struct[layout.spikes], path), path)


def _read_guarded(reader, path: Path, *args):
    """Every failure of a reader on a damaged file becomes one NwbItError naming the file."""
    try:
        return reader(path, *args)
    except NwbItError as exc:
        raise NwbItError(exc.problem, exc.path or path) from None
    except MemoryError:
        raise NwbItError("declares more data than fits in memory: file corrupt", path) from None
    except Exception as exc:
        detail = str(exc).splitlines()[0] if str(exc) else ""
        raise NwbItError(f"cannot read the MAT data, file truncated or corrupt ({type(exc).__name__}: {detail})",
                         path) from None


def read_session(path: str | Path, layout: SourceLayout = SourceLayout(),
                 max_spike_time: float = MAX_SPIKE_TIME_S, readers: int | None = None) -> Session:
    """Read one recording session.

    Parameters
    ----------
    path : str or Path
        A MATLAB v7.3 (HDF5) or v5/v7 ``.mat`` file holding the ``layout.struct`` struct.
    layout : SourceLayout
        Struct and field names (defaults: ``L2_str``, ``spikes``, ``itemnames``, ``neuron_id``).
    max_spike_time : float
        Largest plausible |spike time| relative to clip onset, in seconds; beyond it the file is refused.
    readers : int, optional
        Processes reading a v7.3 file's spike cells at once, each a share of the units (default: one per
        core this process may use, for files of at least 16 MB each, at most 4). A batch gives each
        session one (its sessions run in parallel instead).

    Returns
    -------
    Session
        (A bar over units while reading spikes under :func:`nwb_it.core.progress.verbose`.)

    Raises
    ------
    NwbItError
        For a file that is not a MAT file, is corrupt, or lacks the expected layout.

    Examples
    --------
    >>> import tempfile, os
    >>> from nwb_it.examples import write_example_session
    >>> p = os.path.join(tempfile.mkdtemp(), "rec_fixshortvid1_coco.mat")
    >>> _ = write_example_session(p, n_units=3, n_clips=4, n_repeats=3)
    >>> s = read_session(p)
    >>> s.n_units, s.n_clips
    (3, 4)
    """
    path = Path(path)
    header, version = read_mat_header(path)
    if version == 0x0200:        # the HDF5 library can loop forever on a damaged file: a child with a time limit
        fields, (n_repeats, counts, times) = _read_v73_parts(path, layout, readers)
        fmt = "MATLAB v7.3 (HDF5)"
    else:
        fields, (n_repeats, counts, times) = _read_guarded(_read_v5, path, layout)
        fmt = "MATLAB v5/v7"
    for name in (layout.itemnames, layout.neuron_id):
        if name not in fields:
            raise NwbItError(f"'{layout.struct}' has no field '{name}'", path)
    clip_names = _names(fields[layout.itemnames], layout.itemnames, path)
    unit_names = _names(fields[layout.neuron_id], layout.neuron_id, path)
    if len(clip_names) != n_repeats.size:
        raise NwbItError(f"'{layout.itemnames}' names {len(clip_names)} clips but '{layout.spikes}' has "
                         f"{n_repeats.size}", path)
    if len(unit_names) != counts.shape[0]:
        raise NwbItError(f"'{layout.neuron_id}' names {len(unit_names)} units but '{layout.spikes}' has "
                         f"{counts.shape[0]}", path)
    session = Session(unit_names=unit_names, clip_names=clip_names, n_repeats=n_repeats,
                      spike_counts=counts, spike_times=times, fields=fields, source_path=path,
                      header=header, created=header_date(header), format=fmt, struct=layout.struct,
                      clip_field=layout.itemnames, order_field=layout.trialnum)
    _check_spike_times(session, path, max_spike_time)
    return session
