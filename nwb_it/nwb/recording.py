"""Reading what analyses need from an NWB file: the units' spike trains and the presentations table."""
from __future__ import annotations

import numpy as np
from pynwb import NWBFile

from ..core.errors import NwbItError
from ..core.params import RESPONSE_BIN, RESPONSE_WINDOW, PresentationSpec
from ..core.recording import Presentations, SpikeTrains
from ..core.results import AlignedCounts

NWB_IT_ONSET = "stimulus_onset"


def presentations_table(nwb: NWBFile, name: str):
    """The table ``/intervals/<name>`` (``trials`` included), or an error listing the tables there."""
    tables = dict(nwb.intervals or {})
    if nwb.trials is not None:
        tables["trials"] = nwb.trials
    if name not in tables:
        raise NwbItError(f"no presentations table '{name}' under /intervals (tables: "
                         f"{', '.join(sorted(tables)) or 'none'}); choose one with `intervals`")
    return tables[name]


def _column(table, name: str, option: str) -> np.ndarray:
    if name not in table.colnames and name not in ("start_time", "stop_time"):
        raise NwbItError(f"/intervals/{table.name} has no column '{name}' (columns: {', '.join(table.colnames)}); "
                         f"choose one with `{option}`")
    return np.asarray(table[name].data[:])


def _names(values: np.ndarray) -> np.ndarray:
    if values.dtype.kind in "SO":
        values = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in values])
    elif values.dtype.kind == "f" and np.all(values == np.round(values)):
        values = values.astype(np.int64)              # numeric stimulus ids stored as floats (Allen)
    return values.astype(str)


def occurrence_repeat(clip: np.ndarray, onset: np.ndarray) -> np.ndarray:
    """Repeat index of every presentation: its rank among its clip's presentations in time order.

    Examples
    --------
    >>> occurrence_repeat(np.array([1, 0, 1, 1]), np.array([5.0, 1.0, 2.0, 9.0]))
    array([1, 0, 0, 2])
    """
    order = np.lexsort((onset, clip))
    sorted_clip = clip[order]
    first = np.searchsorted(sorted_clip, sorted_clip, side="left")
    repeat = np.empty(clip.size, dtype=np.int64)
    repeat[order] = np.arange(clip.size) - first
    return repeat


def read_presentations(nwb: NWBFile, spec: PresentationSpec = PresentationSpec()) -> Presentations:
    """One row per presentation from any intervals table (see :class:`~nwb_it.core.params.PresentationSpec`).

    nwb_it's own trials keep their ``stimulus_index`` and ``repeat``; other tables get clips
    numbered by sorted stimulus value and repeats numbered by order of occurrence.
    """
    table = presentations_table(nwb, spec.intervals)
    onset_column = spec.onset_column or (NWB_IT_ONSET if NWB_IT_ONSET in table.colnames else "start_time")
    names = _names(_column(table, spec.stimulus_column, "stimulus_column"))
    onset = _column(table, onset_column, "onset_column").astype(float)
    if len(onset) == 0:
        raise NwbItError(f"/intervals/{table.name} has no rows")
    own = onset_column == NWB_IT_ONSET and {"stimulus_index", "repeat"} <= set(table.colnames) \
        and spec.stimulus_column == "stimulus_name"
    if own:
        clip = np.asarray(table["stimulus_index"].data[:], dtype=int)
        repeat = np.asarray(table["repeat"].data[:], dtype=int)
    else:
        _, clip = np.unique(names, return_inverse=True)
        repeat = occurrence_repeat(clip, onset)
    return Presentations(onset=onset, start=np.asarray(table["start_time"].data[:], dtype=float),
                         stop=np.asarray(table["stop_time"].data[:], dtype=float), clip=clip, repeat=repeat,
                         names=names, bounded=onset_column == NWB_IT_ONSET)


def read_spike_trains(nwb: NWBFile) -> SpikeTrains:
    """Every unit's spike times (flat) with the bounds of each unit's run, names and observation intervals."""
    if nwb.units is None or len(nwb.units) == 0:
        raise NwbItError("the file has no units")
    units = nwb.units
    times = np.asarray(units.spike_times.data[:], dtype=float)
    bounds = np.concatenate([[0], np.asarray(units.spike_times_index.data[:], dtype=np.int64)])
    if "unit_name" in units.colnames:
        names = [str(n) for n in units["unit_name"].data[:]]
    else:
        names = [str(i) for i in units.id.data[:]]
    obs = None
    if "obs_intervals" in units.colnames:
        flat = np.asarray(units.obs_intervals.data[:], dtype=float).reshape(-1, 2)
        ends = np.asarray(units.obs_intervals_index.data[:], dtype=np.int64)
        obs = np.split(flat, ends[:-1])
    return SpikeTrains(times=times, bounds=bounds, names=names, obs_intervals=obs)


def read_aligned(nwb: NWBFile, window: tuple[float, float] = RESPONSE_WINDOW, bin_size: float = RESPONSE_BIN,
                 units: np.ndarray | None = None, spec: PresentationSpec = PresentationSpec()) -> AlignedCounts:
    """Onset-aligned binned counts of an open NWB file (see :func:`nwb_it.process.binning.bin_aligned`).

    Examples
    --------
    >>> from pynwb import NWBHDF5IO                                          # doctest: +SKIP
    >>> with NWBHDF5IO("sub-coco_ses-fixshortvid1_ecephys.nwb") as io:      # doctest: +SKIP
    ...     read_aligned(io.read(), (-0.05, 0.30), 0.05).counts.shape     # units, clips, repeats, bins
    (256, 199, 8, 7)
    """
    from ..process.binning import bin_aligned

    return bin_aligned(read_spike_trains(nwb), read_presentations(nwb, spec), window, bin_size, units)
