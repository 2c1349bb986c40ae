"""Where a file keeps its presentations: an intervals table, an ``EventsTable`` or an ``IndexSeries``.

* ``/intervals/<name>`` (``trials`` included): one row per presentation, as nwb_it writes them;
* an ``EventsTable`` (NWB core 2.10+, ``nwbfile.events``): the ``timestamp`` column holds the
  onsets; a ``duration`` column, where there is one, the presentation's length;
* an ``IndexSeries`` in ``/stimulus/presentation``: its timestamps are the onsets and its data
  index the images shown (an ``Images`` container, its ``order_of_images``; or an
  ``ImageSeries``). The stimulus of a presentation is the indexed image's name
  (``stimulus_name``) and the index itself (``stimulus_index``); a presentation lasts until
  the next onset (the last one as long as the median).

Events and index series are read as a table with the columns an intervals table has
(``start_time``, ``stop_time`` and their own), so every check of
:mod:`nwb_it.nwb.presentations` applies to them. ``presentations.intervals`` names the
source; where the file has no table of that name and exactly one other candidate, that one
is used with a line saying so.

Examples
--------
>>> from pynwb import NWBHDF5IO
>>> from nwb_it import example_metadata_path, run_convert, write_example_session
>>> _ = write_example_session("p_fixshortvid1_coco.mat", n_units=3, n_clips=4, n_repeats=3)
>>> nwb = run_convert("p_fixshortvid1_coco.mat", example_metadata_path(), out_dir="nwb")
>>> with NWBHDF5IO(str(nwb), "r") as io:                # nwb_it's own file: its trials
...     sorted(presentation_sources(io.read()))
['trials']
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np
from pynwb import NWBFile

from ..core.errors import NwbItError


@dataclass
class _Data:
    data: np.ndarray
    description: str = ""


class ColumnsTable:
    """A table built from columns (an ``EventsTable`` or ``IndexSeries`` read as presentations): what
    :func:`nwb_it.nwb.presentations.read_presentations` reads of an intervals table."""

    def __init__(self, name: str, description: str, columns: dict[str, np.ndarray]):
        self.name, self.description = name, description
        self.columns = {k: _Data(np.asarray(v)) for k, v in columns.items()}
        self.colnames = tuple(k for k in self.columns if k not in ("start_time", "stop_time"))

    def __len__(self) -> int:
        return len(self.columns["start_time"].data)

    def __getitem__(self, name: str) -> _Data:
        return self.columns[name]


def _stops(onsets: np.ndarray) -> np.ndarray:
    """Each presentation until the next onset; the last one as long as the median (the only guess there is)."""
    if onsets.size < 2:
        return onsets + 1.0
    gaps = np.diff(onsets)
    return onsets + np.r_[gaps, np.median(gaps)]


def _events(table) -> ColumnsTable:
    onsets = np.asarray(table["timestamp"].data[:], dtype=float)
    columns = {"start_time": onsets}
    if "duration" in table.colnames:
        duration = np.asarray(table["duration"].data[:], dtype=float)
        columns["stop_time"] = onsets + np.where(np.isfinite(duration), duration, 0.0)
    else:
        columns["stop_time"] = _stops(onsets)
    for name in table.colnames:
        if name not in ("timestamp", "duration") and type(table[name]).__name__ in ("VectorData",):
            values = np.asarray(table[name].data[:])
            if values.ndim == 1:
                columns[name] = values
    return ColumnsTable(table.name, table.description, columns)


def _image_names(series) -> list[str] | None:
    images = getattr(series, "indexed_images", None)
    if images is not None:
        order = getattr(images, "order_of_images", None)
        if order is not None:
            return [img.name for img in order.data]
        return list(images.images)
    return None


def _index_series(series) -> ColumnsTable:
    onsets = np.asarray(series.get_timestamps(), dtype=float)
    index = np.asarray(series.data[:], dtype=np.int64)
    names = _image_names(series)
    columns = {"start_time": onsets, "stop_time": _stops(onsets), "stimulus_index": index}
    if names is not None:
        if index.size and (index.min() < 0 or index.max() >= len(names)):
            raise NwbItError(f"/stimulus/presentation/{series.name} indexes image {int(index.max())}, but its images "
                             f"hold {len(names)}")
        columns["stimulus_name"] = np.asarray([names[i] for i in index], dtype=object)
    else:                                       # an ImageSeries: the frame index is the stimulus
        columns["stimulus_name"] = index.astype(str).astype(object)
    return ColumnsTable(series.name, series.description or "", columns)


def presentation_sources(nwb: NWBFile) -> dict[str, object]:
    """Every table that can hold presentations, by name: intervals tables, events tables, index series."""
    out: dict[str, object] = dict(nwb.intervals or {})
    if nwb.trials is not None:
        out["trials"] = nwb.trials
    for name, table in (getattr(nwb, "events", None) or {}).items():
        out.setdefault(name, table)
    for name, series in (nwb.stimulus or {}).items():
        if type(series).__name__ == "IndexSeries":
            out.setdefault(name, series)
    return out


def as_table(source):
    """An intervals table as it is; an ``EventsTable`` or ``IndexSeries`` as a :class:`ColumnsTable`."""
    kind = type(source).__name__
    if kind == "EventsTable":
        return _events(source)
    if kind == "IndexSeries":
        return _index_series(source)
    return source


def presentations_table(nwb: NWBFile, name: str):
    """The presentations ``name`` (an intervals table, events table or index series); the only candidate when
    the file has none of that name and exactly one other; else an error listing what the file has."""
    sources = presentation_sources(nwb)
    if name in sources:
        return as_table(sources[name])
    if len(sources) == 1:
        (only, source), = sources.items()
        warnings.warn(f"no presentations table '{name}': using '{only}', the file's only one "
                      f"({type(source).__name__}); choose one with `presentations.intervals`", stacklevel=3)
        return as_table(source)
    raise NwbItError(f"no presentations table '{name}' under /intervals, the events tables or "
                     f"/stimulus/presentation (candidates: {', '.join(sorted(sources)) or 'none'}); choose one with "
                     "`presentations.intervals`")
