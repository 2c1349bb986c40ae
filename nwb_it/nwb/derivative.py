"""A derivative NWB file: the results of a file nwb_it may not change (remote, read-only, or asked for).

It sits in a DANDI-layout folder (``sub-<subject>/sub-<subject>_ses-<session>_desc-nwbit_ecephys.nwb``:
the BIDS ``desc`` entity marks a derivative of the session's own file) and holds what the
analyses need and make: the session's metadata and subject, the units (spike times,
observation intervals, names), the presentations table that was analysed, and a
``nwb_it_source`` table in ``processing/misc`` naming the source (location, identifier,
object id, SHA-256 where the file is local; size, ETag and first block's SHA-256 as
served where it is remote). Every verb reads it like any NWB file and
adds its results to it.
"""
from __future__ import annotations

import re
import uuid
from pathlib import Path

import numpy as np
from hdmf.common import DynamicTable, VectorData
from pynwb import NWBFile
from pynwb.epoch import TimeIntervals
from pynwb.file import Subject
from pynwb.misc import Units

from ..core.errors import NwbItError
from ..core.locations import redact_location
from ..core.params import MISC_DESCRIPTION, MISC_MODULE, PresentationSpec
from ..core.provenance import generated_by
from .presentation_sources import ColumnsTable, presentations_table
from .recording import read_spike_trains

DESC = "nwbit"
SOURCE_TABLE = "nwb_it_source"
_SUBJECT_FIELDS = ("subject_id", "species", "sex", "age", "description", "strain", "genotype", "date_of_birth")


def _entity(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9-]+", "-", str(text)).strip("-") or "unknown"


def derivative_path(source: NWBFile, out_dir: str | Path) -> Path:
    """``out_dir/sub-<subject>/sub-<subject>_ses-<session>_desc-nwbit_ecephys.nwb`` for ``source``."""
    subject = _entity(source.subject.subject_id if source.subject is not None else "unknown")
    session = _entity(source.session_id or source.identifier)
    return Path(out_dir) / f"sub-{subject}" / f"sub-{subject}_ses-{session}_desc-{DESC}_ecephys.nwb"


def _scalar_columns(table) -> dict[str, np.ndarray | list]:
    """Columns with one scalar (number, bool or string) per row, each read once: what a derivative copies."""
    out: dict[str, np.ndarray | list] = {}
    for name in table.colnames:
        col = table[name]
        if type(col).__name__ != "VectorData" or name in ("start_time", "stop_time"):
            continue
        data = np.asarray(col.data[:])
        if data.ndim != 1 or data.dtype.kind not in "biufUSO":
            continue
        if data.dtype.kind in "SO":
            if not all(isinstance(v, (str, bytes, int, float, bool, np.generic)) for v in data):
                continue                                  # references, nested objects: not copied
            out[name] = [v.decode() if isinstance(v, bytes) else str(v) for v in data]
        else:
            out[name] = data
    return out


def _columns_intervals(table: ColumnsTable, name: str) -> TimeIntervals:
    """Events or an index series read as presentations, kept as an intervals table of the same name."""
    columns = [VectorData(name=col, description=f"{col} (from {type(table).__name__} {table.name}).",
                          data=_plain(table[col].data)) for col in ("start_time", "stop_time", *table.colnames)]
    return TimeIntervals(name=name, description=table.description or f"Presentations from {table.name}.",
                         columns=columns)


def _plain(values: np.ndarray):
    return [str(v) for v in values] if np.asarray(values).dtype.kind in "OSU" else np.asarray(values)


def _copy_intervals(table, name: str) -> TimeIntervals:
    columns = [VectorData(name="start_time", description="Start time (s).", data=np.asarray(table["start_time"][:])),
               VectorData(name="stop_time", description="Stop time (s).", data=np.asarray(table["stop_time"][:]))]
    columns += [VectorData(name=col, description=table[col].description, data=data)
                for col, data in _scalar_columns(table).items()]
    return TimeIntervals(name=name, description=table.description, columns=columns)


#: What identifies a derivative's source, compared before a derivative is reused (empty / -1 = not known).
IDENTITY_FIELDS = ("identifier", "source_object_id", "sha256", "size", "etag", "head_sha256")


def source_identity(source: NWBFile, sha256: str = "", served: dict | None = None) -> dict[str, str | int]:
    """The identity of ``source``: its NWB identifier and object id, the SHA-256 of a local file, and for a remote
    one what the server served (size, ETag, SHA-256 of the first 64 KiB; :meth:`HttpRangeFile.identity`)."""
    served = served or {}
    return {"identifier": str(source.identifier), "source_object_id": str(source.object_id), "sha256": sha256,
            "size": int(served.get("size", -1)), "etag": str(served.get("etag", "")),
            "head_sha256": str(served.get("head_sha256", ""))}


def read_source_identity(nwb: NWBFile) -> dict[str, str | int] | None:
    """The ``nwb_it_source`` row of a derivative (its ``location`` included), None if ``nwb`` is no derivative."""
    module = nwb.processing.get(MISC_MODULE)
    if module is None or SOURCE_TABLE not in module.data_interfaces:
        return None
    table = module[SOURCE_TABLE]
    row = {name: table[name].data[0] for name in table.colnames}
    return {k: (v.decode() if isinstance(v, bytes) else v.item() if isinstance(v, np.generic) else v)
            for k, v in row.items()}


def identity_differences(stored: dict, current: dict) -> list[str]:
    """The identity fields known on both sides that differ (a derivative of an older nwb_it lacks some)."""
    unknown = ("", -1, None)
    return [f for f in IDENTITY_FIELDS if stored.get(f) not in unknown and current.get(f) not in unknown
            and str(stored[f]) != str(current[f])]


def _source_table(location: str, identity: dict, bytes_read: int) -> DynamicTable:
    described = {"identifier": "Its NWBFile identifier.", "source_object_id": "Its NWBFile object id.",
                 "sha256": "SHA-256 of the file where it was local (empty for a remote file).",
                 "size": "Its size in bytes as served over HTTP (-1 for a local file).",
                 "etag": "Its HTTP ETag as served (empty if none).",
                 "head_sha256": "SHA-256 of its first 64 KiB as served over HTTP (empty for a local file)."}
    columns = [VectorData(name="location", description="URL (without credentials or signed query), DANDI asset "
                          "or path.", data=[redact_location(location)])]
    columns += [VectorData(name=f, description=described[f], data=[identity[f]]) for f in IDENTITY_FIELDS]
    columns.append(VectorData(name="bytes_read", description="Bytes read from a remote source to make this file "
                              "(HTTP ranges; 0 for a local one).", data=[int(bytes_read)]))
    return DynamicTable(name=SOURCE_TABLE, description="The NWB file these results were computed from (nwb_it); "
                        "a derivative is reused only for a source of the same identity.", columns=columns)


def build_derivative(source: NWBFile, location: str, presentations: PresentationSpec = PresentationSpec(),
                     identity: dict | None = None, bytes_read: int = 0) -> NWBFile:
    """The derivative of ``source``: metadata, subject, units, the presentations table, the source's reference."""
    out = NWBFile(session_description=source.session_description, identifier=str(uuid.uuid4()),
                  was_generated_by=generated_by(),
                  session_start_time=source.session_start_time, session_id=source.session_id,
                  experimenter=source.experimenter, lab=source.lab, institution=source.institution,
                  experiment_description=source.experiment_description,
                  notes=f"Derivative of {redact_location(location)} by nwb_it: its units and presentations, and "
                        "nwb_it's results.")
    if source.subject is not None:
        out.subject = Subject(**{f: getattr(source.subject, f) for f in _SUBJECT_FIELDS
                                 if getattr(source.subject, f, None) is not None})
    spikes = read_spike_trains(source)              # one read of all spike times (a few HTTP ranges, not one a unit)
    units = source.units
    out.units = Units(name="units", description=units.description, resolution=units.resolution)
    out.add_unit_column("unit_name", "Unit name (the source's unit_name, else its unit id).")
    for i, uid in enumerate(np.asarray(units.id.data[:])):
        extra = {} if spikes.obs_intervals is None else {"obs_intervals": spikes.obs_intervals[i]}
        out.add_unit(spike_times=spikes.unit(i), id=int(uid), unit_name=spikes.names[i], **extra)
    try:
        table = presentations_table(source, presentations.intervals)      # intervals, events or an index series
    except NwbItError:
        table = None                                                       # the verb says so when it reads them
    if table is not None:
        copied = (_columns_intervals(table, presentations.intervals) if isinstance(table, ColumnsTable)
                  else _copy_intervals(table, presentations.intervals))
        if presentations.intervals == "trials":
            out.trials = copied
        else:
            out.add_time_intervals(copied)
    out.create_processing_module(MISC_MODULE, MISC_DESCRIPTION).add(
        _source_table(location, identity or source_identity(source), bytes_read))
    return out
