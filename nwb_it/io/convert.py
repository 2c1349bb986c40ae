"""MAT session -> one DANDI-ready NWB file (trials = presentations, units = spikes on one clock)."""
from __future__ import annotations

import re
import uuid
from datetime import datetime
from pathlib import Path
from typing import Any

import numpy as np
from hdmf.backends.hdf5 import H5DataIO
from hdmf.common import DynamicTableRegion, ElementIdentifiers, VectorData, VectorIndex
from pynwb import NWBHDF5IO, NWBFile
from pynwb.epoch import TimeIntervals
from pynwb.file import Subject
from pynwb.misc import Units

from .. import __version__
from ..core.session import Session
from ..errors import NwbItError
from .atomic import atomic_output, refuse_existing
from .metadata import build_metadata, load_metadata_yaml, parse_session_name
from .read_session import SourceLayout, read_session
from .source_fields import source_fields_table
from .timeline import Timeline, make_timeline, per_presentation_values

TRIAL_COLUMNS = ("start_time", "stop_time", "stimulus_onset", "stimulus_name", "stimulus_index", "repeat")


def dandi_path(out_dir: str | Path, subject_id: str, session_id: str) -> Path:
    """``OUT/sub-<subject>/sub-<subject>_ses-<session>_ecephys.nwb``."""
    return Path(out_dir) / f"sub-{subject_id}" / f"sub-{subject_id}_ses-{session_id}_ecephys.nwb"


def unit_channels(unit_names: list[str]) -> tuple[np.ndarray, str]:
    """Electrode of each unit: the first integer in every unit name, when all names have one.

    ``ch012_u1`` and ``ch012_u2`` share channel 12. If any name has no digits, each
    unit gets an electrode of its own, numbered from 1 in unit order.
    """
    numbers = [re.search(r"\d+", name) for name in unit_names]
    if unit_names and all(numbers):
        return np.array([int(m.group()) for m in numbers]), "first integer in the unit name (neuron_id)"
    return np.arange(1, len(unit_names) + 1), "one electrode per unit, numbered in unit order"


def _add_electrodes(nwb: NWBFile, session: Session, meta: dict) -> np.ndarray:
    eco = meta["Ecephys"]
    device = nwb.create_device(**eco["Device"])
    group_meta = dict(eco["ElectrodeGroup"])
    group = nwb.create_electrode_group(device=device, **group_meta)
    channels, rule = unit_channels(session.unit_names)
    nwb.add_electrode_column("channel", f"Recording channel number ({rule}).")
    unique = np.unique(channels)
    for ch in unique:
        nwb.add_electrode(group=group, location=group_meta["location"], channel=int(ch))
    return np.searchsorted(unique, channels)


def _trials(session: Session, timeline: Timeline, layout: SourceLayout) -> TimeIntervals:
    """One row per presentation in trial order, columns built from arrays (no per-row add_trial)."""
    order = timeline.order
    clip, rep = session.presentation_clip[order], session.presentation_repeat[order]
    columns = [
        VectorData(name="start_time", description="Start of the presentation's window (s).",
                   data=timeline.start[order]),
        VectorData(name="stop_time", description="End of the presentation's window (s).", data=timeline.stop[order]),
        VectorData(name="stimulus_onset", description="Clip onset on the session clock (s): the source's spike "
                   "times are relative to this instant.", data=timeline.onset[order]),
        VectorData(name="stimulus_name", description=f"Clip name (source field {layout.itemnames}).",
                   data=[session.clip_names[c] for c in clip]),
        VectorData(name="stimulus_index", description="0-based index of the clip in the source's item list.",
                   data=clip.astype(np.int64)),
        VectorData(name="repeat", description="0-based index of this presentation among the clip's repeats in "
                   "the source.", data=rep.astype(np.int64)),
    ]
    for name, value in session.fields.items():
        values = per_presentation_values(session, value)
        if values is not None and values.size == session.n_presentations:
            columns.append(VectorData(
                name=name if name not in TRIAL_COLUMNS else f"source_{name}", data=values[order],
                description=f"Source field {layout.struct}.{name}: this presentation's value, as in the source "
                            "(one value per clip repeat there; meaning not documented)."))
    return TimeIntervals(name="trials", description="One row per clip presentation (clip x repeat), in trial "
                         "order on the session clock laid out by nwb_it (see general/stimulus).", columns=columns,
                         id=ElementIdentifiers(name="id", data=np.arange(order.size)))


def _add_units(nwb: NWBFile, session: Session, timeline: Timeline, electrode: np.ndarray, resolution: float) -> None:
    unit, pres = session.spike_owner()
    times = timeline.onset[pres] + session.spike_times
    order = np.lexsort((times, unit))
    times = times[order]
    ends = np.searchsorted(unit[order], np.arange(1, session.n_units + 1))
    n = session.n_units
    # columns built from numpy arrays: add_unit would turn 10^6 spike times into a Python list,
    # which hdmf then checks element by element when writing (~20 s for a full session)
    spike_times = VectorData(name="spike_times", description="Spike times on the session clock (s).",
                             data=H5DataIO(times, compression="gzip", compression_opts=4,
                                           chunks=(max(1, min(times.size, 1 << 16)),)) if times.size else times)
    observed = np.tile([[float(timeline.start.min()), float(timeline.stop.max())]], (n, 1))
    obs = VectorData(name="obs_intervals", description="Observation interval of each unit: the whole session.",
                     data=observed)
    region = DynamicTableRegion(name="electrodes", description="Electrode each unit was recorded on.",
                                data=electrode.astype(np.int64), table=nwb.electrodes)
    names = VectorData(name="unit_name", description="Unit name in the source (neuron_id).",
                       data=list(session.unit_names))
    one_each = np.arange(1, n + 1)
    columns = [spike_times, VectorIndex(name="spike_times_index", data=ends, target=spike_times),
               obs, VectorIndex(name="obs_intervals_index", data=one_each, target=obs),
               region, VectorIndex(name="electrodes_index", data=one_each, target=region), names]
    nwb.units = Units(name="units", description=(
        "Units of the source session; spike_times are on the session clock: trial stimulus_onset + the source's "
        "onset-aligned time."), resolution=resolution, electrode_table=nwb.electrodes, columns=columns,
        id=ElementIdentifiers(name="id", data=np.arange(n)))


def build_nwbfile(session: Session, meta: dict, layout: SourceLayout = SourceLayout()) -> NWBFile:
    """The in-memory NWB file for a session and validated metadata (see ``build_metadata``)."""
    if session.n_presentations == 0:
        raise NwbItError("the session has no presentation (every clip has zero repeats)", session.source_path)
    timeline = make_timeline(session, layout.trialnum)
    nwb_meta: dict[str, Any] = dict(meta["NWBFile"])
    nwb_meta.setdefault("identifier", str(uuid.uuid4()))
    nwb_meta.setdefault("stimulus_notes", (
        f"The source has no absolute clock. nwb_it laid the presentations on one: in {timeline.ordered_by} order, "
        f"onsets every {timeline.stride:g} s, each trial window from onset{timeline.lo:+g} s to onset+{timeline.hi:g} s "
        "(it holds all of the presentation's spikes; windows never overlap)."))
    nwb_meta.setdefault("notes", f"Converted by nwb_it {__version__} from {session.source_path.name if session.source_path else '?'}"
                        f" ({session.format}; header: {session.header!r}).")
    subject_meta = dict(meta["Subject"])
    if isinstance(subject_meta.get("date_of_birth"), str):
        subject_meta["date_of_birth"] = datetime.fromisoformat(subject_meta["date_of_birth"])
    nwb = NWBFile(subject=Subject(**subject_meta), trials=_trials(session, timeline, layout), **nwb_meta)
    electrode = _add_electrodes(nwb, session, meta)
    _add_units(nwb, session, timeline, electrode, float(meta["Units"]["resolution"]))
    misc = nwb.create_processing_module("misc", "Source data kept verbatim by nwb_it.")
    table = source_fields_table(session.fields, layout.struct)
    if len(table):
        misc.add(table)
    return nwb


def convert_session(mat_path: str | Path, out_dir: str | Path, metadata: dict | str | Path | None = None,
                    overwrite: bool = False, layout: SourceLayout = SourceLayout(), progress: bool = False) -> Path:
    """Convert one MAT session into ``OUT/sub-<subject>/sub-<subject>_ses-<session>_ecephys.nwb``.

    Parameters
    ----------
    mat_path : path of the ``.mat`` session (v7.3 or v5/v7)
    out_dir : folder of the DANDI-layout output
    metadata : dict or path of a YAML file with ``NWBFile:``/``Subject:``/``Ecephys:``/``Units:`` sections
    overwrite : replace an existing output file
    layout : struct and field names of the source

    Returns
    -------
    Path of the written NWB file. The write is atomic: on any failure no partial
    file is left and an existing file is untouched.

    Examples
    --------
    >>> import tempfile, os
    >>> from nwb_it.io.example import write_example_session
    >>> d = tempfile.mkdtemp(); mat = os.path.join(d, "rec_fixshortvid1_coco.mat")
    >>> _ = write_example_session(mat, n_units=3, n_clips=4, n_repeats=3)
    >>> meta = {"NWBFile": {"session_start_time": "2024-01-01T10:00:00+00:00"}, "Subject": {"age": "P7Y"}}
    >>> convert_session(mat, d, meta).name
    'sub-coco_ses-fixshortvid1_ecephys.nwb'
    """
    mat_path = Path(mat_path)
    meta_path = None
    if metadata is None or isinstance(metadata, dict):
        user = dict(metadata or {})
    else:
        meta_path = Path(metadata)
        user = load_metadata_yaml(meta_path)
    session_id, subject_id = parse_session_name(mat_path)
    early = dandi_path(out_dir, (user.get("Subject") or {}).get("subject_id", subject_id),
                       (user.get("NWBFile") or {}).get("session_id", session_id))
    refuse_existing(early, overwrite)          # before the slow read
    session = read_session(mat_path, layout, progress=progress)
    meta = build_metadata(session, user, meta_path)
    out = dandi_path(out_dir, meta["Subject"]["subject_id"], meta["NWBFile"]["session_id"])
    nwb = build_nwbfile(session, meta, layout)
    with atomic_output(out, overwrite) as tmp:
        with NWBHDF5IO(tmp, "w") as io:
            io.write(nwb)
    return out
