"""A session in an NWB file: trials = presentations, units = spikes on one clock, electrodes, source fields."""
from __future__ import annotations

import re
import uuid
from datetime import datetime
from typing import Any

import numpy as np
from hdmf.backends.hdf5 import H5DataIO
from hdmf.common import DynamicTableRegion, ElementIdentifiers, VectorData, VectorIndex
from pynwb import NWBFile
from pynwb.epoch import TimeIntervals
from pynwb.file import Subject
from pynwb.misc import Units

from ..core.errors import NwbItError
from ..core.params import MISC_DESCRIPTION, MISC_MODULE
from ..core.provenance import generated_by, package_version
from ..core.session import Session
from .source_fields import source_fields_table
from .timeline import Timeline, make_timeline, per_presentation_values

TRIAL_COLUMNS = ("start_time", "stop_time", "stimulus_onset", "stimulus_name", "stimulus_index", "repeat")


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
    eco = meta.get("Ecephys", {})
    if "Device" not in eco or "ElectrodeGroup" not in eco:
        raise NwbItError("metadata has no Ecephys.Device and Ecephys.ElectrodeGroup (name, description, location): "
                         "give them in the source's get_metadata or in the metadata YAML", session.source_path)
    device = nwb.create_device(**eco["Device"])
    group_meta = dict(eco["ElectrodeGroup"])
    group = nwb.create_electrode_group(device=device, **group_meta)
    channels, rule = unit_channels(session.unit_names)
    nwb.add_electrode_column("channel", f"Recording channel number ({rule}).")
    unique = np.unique(channels)
    for ch in unique:
        nwb.add_electrode(group=group, location=group_meta["location"], channel=int(ch))
    return np.searchsorted(unique, channels)


def _trials(session: Session, timeline: Timeline) -> TimeIntervals:
    """One row per presentation in trial order, columns built from arrays (no per-row add_trial)."""
    order = timeline.order
    clip, rep = session.presentation_clip[order], session.presentation_repeat[order]
    columns = [
        VectorData(name="start_time", description="Start of the presentation's window (s).",
                   data=timeline.start[order]),
        VectorData(name="stop_time", description="End of the presentation's window (s).", data=timeline.stop[order]),
        VectorData(name="stimulus_onset", description="Clip onset on the session clock (s): the source's spike "
                   "times are relative to this instant.", data=timeline.onset[order]),
        VectorData(name="stimulus_name", description=f"Clip name (source field {session.clip_field}).",
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
                description=f"Source field {session.struct}.{name}: this presentation's value, as in the source "
                            "(one value per clip repeat there; meaning not documented)."))
    return TimeIntervals(name="trials", description="One row per clip presentation (clip x repeat), in trial "
                         "order on the session clock laid out by nwb_it (see general/stimulus).", columns=columns,
                         id=ElementIdentifiers(name="id", data=np.arange(order.size)))


def _add_units(nwb: NWBFile, session: Session, timeline: Timeline, electrode: np.ndarray, resolution: float) -> None:
    unit, pres = session.spike_owner()
    times = timeline.onset[pres] + session.spike_times
    bounds = np.searchsorted(unit, np.arange(session.n_units + 1))
    if np.all(unit[:-1] <= unit[1:]):          # unit-major already: sort each unit's times (3x a lexsort)
        order = np.concatenate([lo + np.argsort(times[lo:hi], kind="stable")
                                for lo, hi in zip(bounds[:-1], bounds[1:])] or [np.zeros(0, dtype=np.int64)])
    else:
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


def new_nwbfile(metadata: dict) -> NWBFile:
    """An empty NWB file carrying the validated metadata's NWBFile and Subject sections."""
    nwb_meta: dict[str, Any] = dict(metadata["NWBFile"])
    nwb_meta.setdefault("identifier", str(uuid.uuid4()))
    subject_meta = dict(metadata["Subject"])
    if isinstance(subject_meta.get("date_of_birth"), str):
        subject_meta["date_of_birth"] = datetime.fromisoformat(subject_meta["date_of_birth"])
    return NWBFile(subject=Subject(**subject_meta), was_generated_by=generated_by(nwb_meta.pop("was_generated_by",
                                                                                               None)), **nwb_meta)


def add_session(nwb: NWBFile, session: Session, meta: dict) -> None:
    """Electrodes, units, trials (presentations on one clock) and the source's other fields of ``session``.

    Format-neutral: what it needs of the source (names for descriptions, the trial-order
    field) comes from the :class:`~nwb_it.core.session.Session` itself.
    """
    if session.n_presentations == 0:
        raise NwbItError("the session has no presentation (every clip has zero repeats)", session.source_path)
    timeline = make_timeline(session, session.order_field)
    if not nwb.stimulus_notes:
        nwb.stimulus_notes = (
            f"The source has no absolute clock. nwb_it laid the presentations on one: in {timeline.ordered_by} "
            f"order, onsets every {timeline.stride:g} s, each trial window from onset{timeline.lo:+g} s to "
            f"onset+{timeline.hi:g} s (it holds all of the presentation's spikes; windows never overlap).")
    if not nwb.notes:
        name = session.source_path.name if session.source_path else "?"
        nwb.notes = (f"Converted by nwb_it {package_version()} from {name} ({session.format}; "
                               f"header: {session.header!r}).")
    nwb.trials = _trials(session, timeline)
    electrode = _add_electrodes(nwb, session, meta)
    _add_units(nwb, session, timeline, electrode, float(meta["Units"]["resolution"]))
    table = source_fields_table(session.fields, session.struct)
    if len(table):
        misc = nwb.processing.get(MISC_MODULE) or nwb.create_processing_module(MISC_MODULE, MISC_DESCRIPTION)
        misc.add(table)


def build_nwbfile(session: Session, meta: dict) -> NWBFile:
    """The in-memory NWB file for a session and validated metadata (see ``nwb.metadata.build_metadata``)."""
    nwb = new_nwbfile(meta)
    add_session(nwb, session, meta)
    return nwb
