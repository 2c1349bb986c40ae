"""``nwb-it extract-videomae``: model activations of the clips, stored in the session's NWB file.

The table is ``processing/misc/videomae_activations`` (see :mod:`nwb_it.nwb.activations`).
Clips are matched to the trials' ``stimulus_name`` (or the source's ``itemnames``, for
clips never shown): exactly; else through a CSV ``clip_key,stimulus_name``; else after
normalizing both (lower case, extension dropped, runs of space/-/. turned into _,
leading zeros of numbers dropped).
"""
from __future__ import annotations

import csv
import re
import warnings
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path

import numpy as np

from ..core.errors import NwbItError
from ..core.params import DEFAULT_ACTIVATIONS, ExtractionParams, PresentationSpec
from ..core.results import Activations
from ..io.atomic import atomic_output, check_updatable, refuse_existing, refuse_same_file
from ..models.cache import cached_extract
from ..models.frames import discover_clips
from ..models.windows import extract
from ..nwb.activations import MODULE, MODULE_DESCRIPTION, activations_table
from ..nwb.io import reading, replace_in_module
from ..nwb.recording import file_clips, read_presentations
from .batch import Outcome, run_job


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


def match_clips(keys: list[str], names: list[str], clip_map: dict[str, str] | None = None) -> list[str]:
    """The trials' stimulus_name for each clip key; an error lists every clip without one."""
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
    if missing:
        more = f" (and {len(missing) - 8} more)" if len(missing) > 8 else ""
        raise NwbItError(f"{len(missing)} clip(s) match no trials stimulus_name: {', '.join(missing[:8])}{more}; "
                         "pass `clip_map=MAP.csv` with lines clip_key,stimulus_name")
    return out


def write_npy(acts: Activations, path: str | Path, layer: str = "last", overwrite: bool = False,
              force: bool = False) -> None:
    """The lab's hidden_states.npy: (total windows, hidden), clips in order, windows in order."""
    with atomic_output(Path(path), overwrite, force) as tmp, open(tmp, "wb") as fh:
        np.save(fh, acts.layers[layer])


def session_clips(nwb_path: str | Path, presentations: PresentationSpec = PresentationSpec()) -> dict[str, int]:
    """Every clip name of the session -> its clip index (shown clips, and for nwb_it's files the source's items)."""
    with reading(nwb_path) as nwb:
        return file_clips(nwb, read_presentations(nwb, presentations))


def _target_names(nwb_path: Path, keys: list[str], clip_map: dict[str, str] | None, frames: Path,
                  presentations: PresentationSpec) -> tuple[list[str], dict[str, int]]:
    index = session_clips(nwb_path, presentations)
    try:
        return match_clips(keys, sorted(index), clip_map), index
    except NwbItError as exc:
        raise NwbItError(exc.problem, exc.path or frames) from None


def run_extract_batch(frames: str | Path, params: ExtractionParams = ExtractionParams(), *,
                      nwb_paths: Sequence[str | Path] = (), npy_path: str | Path | None = None,
                      clip_map: str | Path | None = None, activations: str = DEFAULT_ACTIVATIONS,
                      presentations: PresentationSpec = PresentationSpec(), cache_dir: str | Path | None = None,
                      overwrite: bool = False, progress: bool = False, force: bool = False, extractor=None,
                      debug: bool = False) -> tuple[Activations | None, list[Outcome]]:
    """Activations of the clips under ``frames``, computed once, written into every NWB file of ``nwb_paths``.

    Every file is matched to the clips first; a file that does not match (or cannot be
    written) fails alone: its :class:`~nwb_it.steps.batch.Outcome` says why and the
    others are written. ``cache_dir`` reuses (or stores) the activations of this model,
    these frames and these params (:mod:`nwb_it.models.cache`). Returns the activations
    (None when no file matched and no ``npy_path`` was asked for) and one outcome per file.

    Examples
    --------
    >>> acts, outcomes = run_extract_batch("frames", ExtractionParams(model="videomae_folder"),
    ...                                    nwb_paths=["ses-1.nwb", "ses-2.nwb"], cache_dir="cache")  # doctest: +SKIP
    """
    frames = Path(frames)
    if npy_path is not None:
        refuse_same_file(npy_path, *nwb_paths, clip_map)
        refuse_existing(Path(npy_path), overwrite, force)       # before the slow part
    clips = discover_clips(frames)
    keys = [c.key for c in clips]
    mapping = read_clip_map(clip_map) if clip_map else None
    matched: dict[Path, tuple[list[str], dict[str, int]]] = {}

    def match(path: Path) -> str:
        check_updatable(path, force)                    # updated in place: not if its owner made it read-only
        matched[path] = _target_names(path, keys, mapping, frames, presentations)
        return ""
    outcomes = {Path(p): run_job(match, Path(p), debug) for p in nwb_paths}     # fail fast, before the model runs
    if not matched and npy_path is None:
        return None, list(outcomes.values())
    acts = cached_extract(clips, params, cache_dir, lambda: extract(clips, params, extractor, progress),
                          extractor)
    if npy_path is not None:
        write_npy(acts, npy_path, overwrite=overwrite, force=force)

    def write(path: Path) -> str:
        names, index = matched[path]
        one = replace(acts, stimulus_names=names, stimulus_index=np.array([index[n] for n in names]))
        replace_in_module(path, MODULE, MODULE_DESCRIPTION, lambda f: [activations_table(one, activations)], force)
        return f"{path} (table {activations})"
    for path in matched:
        outcomes[path] = run_job(write, path, debug)
    return acts, list(outcomes.values())


def run_extract(frames: str | Path, params: ExtractionParams = ExtractionParams(), *,
                nwb_paths: Sequence[str | Path] = (), npy_path: str | Path | None = None,
                clip_map: str | Path | None = None, activations: str = DEFAULT_ACTIVATIONS,
                presentations: PresentationSpec = PresentationSpec(), cache_dir: str | Path | None = None,
                overwrite: bool = False, progress: bool = False, force: bool = False, extractor=None) -> Activations:
    """Extract activations for every clip under ``frames``; write them into ``nwb_paths`` and/or ``npy_path``.

    Clips are matched to every NWB file's trials before the model runs, so a mismatch
    fails fast; the first file that fails raises (:func:`run_extract_batch` reports each
    file instead). Re-running replaces the previous table; units and trials are untouched.

    Examples
    --------
    >>> acts = run_extract("frames", ExtractionParams(model="videomae_folder"),
    ...                    nwb_paths=["sub-coco_ses-fixshortvid1_ecephys.nwb"])   # doctest: +SKIP
    """
    acts, outcomes = run_extract_batch(frames, params, nwb_paths=nwb_paths, npy_path=npy_path, clip_map=clip_map,
                                       activations=activations, presentations=presentations, cache_dir=cache_dir,
                                       overwrite=overwrite, progress=progress, force=force, extractor=extractor)
    for o in outcomes:
        for message in o.warnings:
            warnings.warn(message, stacklevel=2)
        if o.failed:
            raise NwbItError(o.message)
    return acts
