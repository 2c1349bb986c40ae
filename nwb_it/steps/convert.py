"""``nwb-it convert``: one source session -> one DANDI-layout NWB file, written atomically."""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from pathlib import Path

from ..core.errors import NwbItError
from ..core.output import OutputPolicy
from ..core.params import DEFAULT_FPS
from ..formats.base import SourceInterface
from ..formats.l2str import L2StrSource, SourceLayout
from ..formats.l2str.reader import MAX_SPIKE_TIME_S
from ..io.atomic import atomic_output, refuse_existing
from ..nwb.io import write_nwb
from ..nwb.metadata import (
    MetadataWarning,
    build_metadata,
    deep_merge,
    load_metadata_yaml,
    metadata_error,
    metadata_problems,
)
from ..nwb.session_file import new_nwbfile
from ..nwb.session_table import load_session_table, rows_for
from .stimuli import add_clip_templates, read_clip_map


def dandi_path(out_dir: str | Path, subject_id: str, session_id: str) -> Path:
    """``OUT/sub-<subject>/sub-<subject>_ses-<session>_ecephys.nwb``."""
    return Path(out_dir) / f"sub-{subject_id}" / f"sub-{subject_id}_ses-{session_id}_ecephys.nwb"


def _user_metadata(metadata: dict | str | Path | None) -> tuple[dict, str | None]:
    if metadata is None or isinstance(metadata, dict):
        return dict(metadata or {}), None
    return load_metadata_yaml(Path(metadata)), str(metadata)


def _planned_path(source: SourceInterface, user: dict, out_dir: str | Path) -> Path | None:
    """Where ``source`` will be written, from the ids known before it is read (None if they are not valid yet)."""
    meta = deep_merge(source.get_metadata(), user)
    subject, session = meta.get("Subject", {}).get("subject_id"), meta.get("NWBFile", {}).get("session_id")
    if isinstance(subject, str) and isinstance(session, str):
        return dandi_path(out_dir, subject, session)
    return None


@dataclass(frozen=True)
class PlannedConversion:
    """One source of a batch, its metadata (the YAML with its session-table row merged in) and its output."""

    source: Path
    metadata: dict
    output: Path | None          # None: the file is not a session file (its conversion will say so)
    origin: str | None


def plan_conversions(sources: list[str | Path], out_dir: str | Path, metadata: dict | str | Path | None = None,
                     session_table: str | Path | None = None) -> list[PlannedConversion]:
    """Check a whole batch before anything runs: every file's metadata, and one output per file.

    Each source's metadata is ``metadata`` (a dict or YAML path, shared) with its row of
    ``session_table`` (see :mod:`nwb_it.nwb.session_table`) merged over it. Every file's
    problems are reported at once; two sources that would be written to one file are
    refused (whatever ``overwrite`` says), naming both. The same path given twice counts once.

    Examples
    --------
    >>> from nwb_it import example_metadata_path, write_example_session
    >>> for day in ("20240301", "20240302"):
    ...     _ = write_example_session(f"{day}_fixshortvid1_coco.mat", n_units=4, n_clips=5, n_repeats=3)
    >>> plan = plan_conversions(["20240301_fixshortvid1_coco.mat", "20240302_fixshortvid1_coco.mat"],
    ...                         "out", example_metadata_path())
    >>> [p.output.name for p in plan]
    ['sub-coco_ses-20240301-fixshortvid1_ecephys.nwb', 'sub-coco_ses-20240302-fixshortvid1_ecephys.nwb']
    """
    shared, origin = _user_metadata(metadata)
    paths = list(dict.fromkeys(Path(s) for s in sources))
    unique = list({p.resolve(): p for p in reversed(paths)}.values())[::-1]     # one path, however written
    rows = {p: {} for p in unique}
    if session_table is not None:
        rows = rows_for(load_session_table(session_table), unique, Path(session_table))
    origins = ", ".join(str(o) for o in (origin, session_table) if o is not None) or None
    plans, problems = [], []
    for path in unique:
        source = L2StrSource(path)
        user = deep_merge(shared, rows[path])
        try:
            source.sniff()
        except NwbItError:              # not a session file: its own conversion fails alone, with that error
            plans.append(PlannedConversion(path, user, None, origins))
            continue
        found = metadata_problems(source.get_metadata(), user, start_may_come_later=True)
        if found:
            problems.append(metadata_error(found, user, path, origins))
            continue
        plans.append(PlannedConversion(path, user, _planned_path(source, user, out_dir), origins))
    if len(problems) == 1:
        raise problems[0]
    if problems:
        raise NwbItError(f"{len(problems)} of {len(unique)} sessions have invalid metadata, nothing was converted: "
                         + " | ".join(str(p) for p in problems))
    first: dict[Path, Path] = {}
    for plan in plans:
        if plan.output is None:
            continue
        other = first.setdefault(plan.output, plan.source)
        if other != plan.source:
            raise NwbItError(f"{other} and {plan.source} would both be written to {plan.output}: give each "
                             "session its own session_id (a row per file in `session_table`), nothing was converted")
    start = shared.get("NWBFile", {}).get("session_start_time")
    from_shared = [p for p in plans if "session_start_time" not in rows[p.source].get("NWBFile", {})]
    if start is not None and len(from_shared) > 1:
        warnings.warn(f"{len(from_shared)} sessions take NWBFile.session_start_time {start} from {origin}: "
                      "give each session its own in `session_table`", MetadataWarning, stacklevel=2)
    return plans


def convert_source(source: SourceInterface, metadata: dict | str | Path | None = None, *, out_dir: str | Path,
                   output: OutputPolicy = OutputPolicy(), strict: bool = False,
                   metadata_origin: str | None = None, stimuli: str | Path | None = None,
                   stimuli_fps: float = DEFAULT_FPS, clip_map: str | Path | None = None) -> Path:
    """Write ``source`` as ``OUT/sub-<subject>/sub-<subject>_ses-<session>_ecephys.nwb``; return the path.

    The metadata (a dict or a YAML file) is deep-merged over what the source gives and
    validated before anything is written; the write is atomic. ``strict`` refuses what
    ``dandi validate`` would flag (no subject age, ...) instead of warning. ``stimuli`` (a frames
    or video folder, as ``extract-activations`` takes) stores every clip as a template in
    ``/stimulus/templates`` with its files relative to the output and links each trial to it
    (:mod:`nwb_it.nwb.stimuli`); frame files play at ``stimuli_fps``, videos at their own rate.
    """

    user, yaml_path = _user_metadata(metadata)
    origin = metadata_origin or yaml_path
    planned = _planned_path(source, user, out_dir)
    if planned is not None:
        refuse_existing(planned, output.overwrite, output.force)                 # before the slow read
    data = source.read()
    meta = build_metadata(source.get_metadata(), user, origin, data.source_path, source.session_start_fallback(),
                          strict)
    out = dandi_path(out_dir, meta["Subject"]["subject_id"], meta["NWBFile"]["session_id"])
    nwb = new_nwbfile(meta)
    source.add_to_nwbfile(nwb, meta)
    if stimuli is not None:
        add_clip_templates(nwb, stimuli, out, stimuli_fps, read_clip_map(clip_map) if clip_map else None)
    with atomic_output(out, output.overwrite, output.force) as tmp:
        write_nwb(nwb, tmp)
    return out


def run_convert(mat_path: str | Path, metadata: dict | str | Path | None = None, *, out_dir: str | Path,
                output: OutputPolicy = OutputPolicy(),
                layout: SourceLayout = SourceLayout(), max_spike_time: float = MAX_SPIKE_TIME_S, strict: bool = False,
                metadata_origin: str | None = None, stimuli: str | Path | None = None,
                stimuli_fps: float = DEFAULT_FPS, clip_map: str | Path | None = None, readers: int | None = None
                ) -> Path:
    """Convert one ``L2_str`` MAT session into ``OUT/sub-<subject>/sub-<subject>_ses-<session>_ecephys.nwb``.

    Parameters
    ----------
    mat_path : path of the ``.mat`` session (v7.3 or v5/v7)
    metadata : dict or path of a YAML file with ``NWBFile:``/``Subject:``/``Ecephys:``/``Units:`` sections
    out_dir : folder of the DANDI-layout output
    output : :class:`~nwb_it.core.output.OutputPolicy`: ``overwrite`` replaces an existing output file, ``force``
        with it even one its owner made read-only
    layout : struct and field names of the source
    readers : processes reading a v7.3 file's spike cells (default: this process's cores, for large files;
        :func:`~nwb_it.formats.l2str.reader.read_session`)

    Returns
    -------
    Path of the written NWB file. The write is atomic: on any failure no partial
    file is left and an existing file is untouched.

    Examples
    --------
    >>> import tempfile, os
    >>> from nwb_it.examples import write_example_session
    >>> d = tempfile.mkdtemp(); mat = os.path.join(d, "rec_fixshortvid1_coco.mat")
    >>> _ = write_example_session(mat, n_units=3, n_clips=4, n_repeats=3)
    >>> meta = {"NWBFile": {"session_start_time": "2024-01-01T10:00:00+00:00"}, "Subject": {"age": "P7Y"}}
    >>> run_convert(mat, meta, out_dir=d).name
    'sub-coco_ses-rec-fixshortvid1_ecephys.nwb'
    """
    return convert_source(L2StrSource(mat_path, layout, max_spike_time, readers), metadata, out_dir=out_dir,
                          output=output, strict=strict,
                          metadata_origin=metadata_origin, stimuli=stimuli, stimuli_fps=stimuli_fps, clip_map=clip_map)


def convert_job(mat: Path, out_dir: Path, metadata: dict[Path, dict], origin: str | None, layout,
                max_spike_time: float, strict: bool, output: OutputPolicy = OutputPolicy(),
                stimuli: Path | None = None, stimuli_fps: float = DEFAULT_FPS, clip_map: Path | None = None,
                readers: int | None = None) -> dict:
    """Convert one planned session; ``metadata`` maps each (absolute) source path to its checked metadata.
    ``readers``: processes reading its spike cells (None: its cores, :func:`~nwb_it.steps.convert.run_convert`)."""
    return {"nwb": str(run_convert(mat, metadata[Path(mat).absolute()], out_dir=out_dir, output=output, layout=layout,
                                   max_spike_time=max_spike_time, strict=strict, metadata_origin=origin,
                                   stimuli=stimuli, stimuli_fps=stimuli_fps, clip_map=clip_map, readers=readers))}
