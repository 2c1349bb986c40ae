"""Clips on disk <-> a session's trials and its stimulus templates.

Clip keys are matched to the trials' stimulus names exactly, through a clip map, or after
normalising both (lower case, extension dropped, runs of space/-/. turned into _, numbers
without leading zeros). ``convert --stimuli`` stores the clips as templates in the file;
``extract-activations`` without a frames folder reads them back.
"""
from __future__ import annotations

import csv
import re
import warnings
from pathlib import Path

from ..core.errors import NwbItError
from ..models.frames import Clip, discover_clips, video_clips
from ..models.stored import StoredImage
from ..models.video import VIDEO_EXTENSIONS
from ..nwb.io import reading
from ..nwb.stimuli import (
    StimulusTemplate,
    add_stimulus_templates,
    contained_file,
    read_stimulus_templates,
    relative_files,
    stored_images,
)


def _normalize_name(name: str) -> str:
    name = re.sub(r"\.(png|jpe?g|avi|mp4|mov|mat)$", "", name.strip().lower())
    name = re.sub(r"[\s\-.]+", "_", name)
    return re.sub(r"\d+", lambda m: str(int(m.group())), name)


def read_clip_map(path: str | Path) -> dict[str, str]:
    path = Path(path)
    try:
        with open(path, newline="") as fh:
            rows = [r for r in csv.reader(fh) if r and not r[0].startswith("#")]
    except OSError as exc:
        raise NwbItError(f"cannot read clip map ({exc.strerror})", path) from None
    if rows and [c.strip() for c in rows[0][:2]] == ["clip_key", "stimulus_name"]:
        rows = rows[1:]
    bad = [i for i, r in enumerate(rows) if len(r) != 2]
    if bad:
        raise NwbItError(f"line {bad[0] + 1}: expected two columns clip_key,stimulus_name", path)
    return {k.strip(): v.strip() for k, v in rows}


def match_clips(keys: list[str], names: list[str], clip_map: dict[str, str] | None = None,
                unmatched_ok: bool = False) -> list[str | None]:
    """The trials' stimulus_name for each clip key; an error lists every clip without one (with
    ``unmatched_ok``, such a clip gets None: a clip of the set that was never shown)."""
    exact = set(names)
    by_norm: dict[str, list[str]] = {}
    for n in exact:
        by_norm.setdefault(_normalize_name(n), []).append(n)
    out, missing = [], []
    for key in keys:
        if clip_map and key in clip_map:
            target = clip_map[key]
            (out if target in exact else missing).append(target if target in exact else f"{key} -> {target}")
        elif key in exact:
            out.append(key)
        elif len(by_norm.get(_normalize_name(key), [])) == 1:
            out.append(by_norm[_normalize_name(key)][0])
        else:
            missing.append(key)
    if missing and unmatched_ok:
        unmatched = set(missing)
        return [None if key in unmatched else out.pop(0) for key in keys]
    if missing:
        more = f" (and {len(missing) - 8} more)" if len(missing) > 8 else ""
        raise NwbItError(f"{len(missing)} clip(s) match no trials stimulus_name: {', '.join(missing[:8])}{more}; "
                         "pass `clip_map=MAP.csv` with lines clip_key,stimulus_name")
    return out


def templates_from_clips(clips: list[Clip], nwb_path: Path, fps: float) -> list[StimulusTemplate]:
    """One template per clip: its video (the video's rate) or its frame files (one frame each, at ``fps``)."""
    out = []
    for clip in clips:
        if clip.fps is not None:                         # a video: one file, frames from 0
            out.append(StimulusTemplate(clip.key, relative_files([clip.frames[0].path], nwb_path), [0], clip.fps,
                                        len(clip.frames)))
        else:
            out.append(StimulusTemplate(clip.key, relative_files(clip.frames, nwb_path),
                                        list(range(len(clip.frames))), fps, len(clip.frames)))
    return out


def add_clip_templates(nwb, stimuli: str | Path, nwb_path: Path, fps: float,
                       clip_map: dict[str, str] | None = None) -> None:
    """The clips under ``stimuli`` as templates of ``nwb`` (being written to ``nwb_path``), matched to its trials."""
    clips = discover_clips(stimuli)
    names = [str(n) for n in nwb.trials["stimulus_name"].data[:]]
    matched = match_clips([c.key for c in clips], sorted(set(names)), clip_map, unmatched_ok=True)
    never = [clip.key for clip, name in zip(clips, matched) if name is None]
    if len(never) == len(clips):
        match_clips([c.key for c in clips], sorted(set(names)), clip_map)      # none matches: the error line
    if never:      # the stimulus set holds clips this session did not show: stored, marked, and said
        warnings.warn(f"{stimuli}: {len(never)} clip(s) match no presentation and are stored as never shown: "
                      f"{', '.join(never[:8])}{' ...' if len(never) > 8 else ''}", stacklevel=2)
    key_of = {name: clip.key for clip, name in zip(clips, matched) if name is not None}
    add_stimulus_templates(nwb, templates_from_clips(clips, nwb_path, fps), [key_of.get(n, "") for n in names],
                           never_shown=set(never))


def clips_from_file(nwb_path: str | Path, vfr: str = "refuse", stimuli_root: str | Path | None = None) -> list[Clip]:
    """The clips an NWB file's stimulus templates point at (paths relative to the file's folder), in name order.

    Only files inside the NWB file's folder are read, or inside ``stimuli_root`` when it is given
    (:func:`nwb_it.nwb.stimuli.contained_file`)."""
    nwb_path = Path(nwb_path)
    with reading(nwb_path) as nwb:
        templates = read_stimulus_templates(nwb)
        stored = stored_images(nwb)
    if not templates and stored:                # the images themselves are in the file: one-frame clips
        return [Clip(key=key, frames=[StoredImage(nwb_path, dataset, index)]) for key, dataset, index in stored]
    if not templates:
        raise NwbItError("no stimulus templates with external files or stored images in the file: give the frames "
                         "folder (or convert with --stimuli DIR)", nwb_path)
    clips = []
    for key in sorted(templates):
        t = templates[key]
        files = [contained_file(f, nwb_path, stimuli_root) for f in t.files]
        missing = [f for f in files if not f.is_file()]
        if missing:
            raise NwbItError(f"stimulus template '{key}' points at {missing[0]}, which is not there (paths are "
                             "relative to the NWB file's folder)", nwb_path)
        if len(files) == 1 and files[0].suffix.lower() in VIDEO_EXTENSIONS:
            clip = video_clips(files[0].parent, only=files[0], vfr=vfr)[0]
            clips.append(Clip(key=key, frames=clip.frames, fps=clip.fps))
        else:
            clips.append(Clip(key=key, frames=files, fps=t.rate))       # the rate the file gives its frames
    return clips
