"""The ``extract-videomae`` step: activations into the session's NWB file (and the seed's .npy).

Table ``processing/misc/videomae_activations``, one row per (clip, window):
``clip_key``, ``stimulus_name`` and ``stimulus_index`` of the matching trials clip,
``window`` (index within the clip), ``last_frame`` (index of the window's last
frame within the clip; negative inside the leading grey), ``time`` (that frame's
onset relative to clip onset, ``last_frame / fps`` seconds) and one 2-D column per
layer, ``activations_<layer>`` (rows x hidden). The provenance (model, config hash,
layers, pooling, padding, grey, dtype, fps, ...) is in the table's description.

Clips are matched to the trials' ``stimulus_name``: exactly; else through a CSV
``clip_key,stimulus_name``; else after normalising both (lower case, extension
dropped, runs of space/-/. turned into _, leading zeros of numbers dropped).
"""
from __future__ import annotations

import csv
import re
from pathlib import Path

import numpy as np
from hdmf.common import DynamicTable, VectorData

from ..errors import NwbItError
from ..io.append import open_nwb, read_nwb, replace_in_module
from ..io.atomic import atomic_output
from .frames import discover_clips
from .videomae import Activations, ExtractionSettings, extract

MODULE, TABLE = "misc", "videomae_activations"


def normalise_name(name: str) -> str:
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
        by_norm.setdefault(normalise_name(n), []).append(n)
    out, missing = [], []
    for key in keys:
        if clip_map and key in clip_map:
            target = clip_map[key]
            (out if target in exact else missing).append(target if target in exact else f"{key} -> {target}")
        elif key in exact:
            out.append(key)
        elif len(by_norm.get(normalise_name(key), [])) == 1:
            out.append(by_norm[normalise_name(key)][0])
        else:
            missing.append(key)
    if missing:
        more = f" (and {len(missing) - 8} more)" if len(missing) > 8 else ""
        raise NwbItError(f"{len(missing)} clip(s) match no trials stimulus_name: {', '.join(missing[:8])}{more}; "
                         "pass --clip-map MAP.csv with lines clip_key,stimulus_name")
    return out


def write_npy(acts: Activations, path: str | Path, layer: str = "last", overwrite: bool = True) -> None:
    """The seed's hidden_states.npy: (total windows, hidden), clips in order, windows in order."""
    with atomic_output(Path(path), overwrite) as tmp:
        with open(tmp, "wb") as fh:
            np.save(fh, acts.layers[layer])


def _table(acts: Activations, stimulus_names: list[str], stimulus_index: dict[str, int]) -> DynamicTable:
    names = [stimulus_names[c] for c in acts.clip_of_window]
    fps = float(acts.provenance["fps"])
    columns = [
        VectorData(name="clip_key", description="Clip key from the frame files.",
                   data=[acts.clip_keys[c] for c in acts.clip_of_window]),
        VectorData(name="stimulus_name", description="The clip's stimulus_name in the trials table.", data=names),
        VectorData(name="stimulus_index", description="The clip's stimulus_index in the trials table.",
                   data=np.array([stimulus_index[n] for n in names], dtype=np.int64)),
        VectorData(name="window", description="Index of the sliding window within its clip.", data=acts.window),
        VectorData(name="last_frame", description="Index of the window's last frame within the clip (negative "
                   "inside the leading grey padding, >= the clip's frame count inside the trailing grey).",
                   data=acts.last_frame),
        VectorData(name="time", description=f"Onset of the window's last frame relative to clip onset, "
                   f"last_frame / fps (fps = {fps:g}), in seconds.", data=acts.last_frame / fps),
    ]
    for layer, values in acts.layers.items():
        what = ("last_hidden_state (after the model's final LayerNorm, as the lab's script)" if layer == "last"
                else f"hidden_states[{layer[5:]}] (0 = embeddings)")
        columns.append(VectorData(name=f"activations_{layer}", description=(
            f"VideoMAE {what}: the last tubelet's tokens pooled over space ({acts.provenance['pool']}); "
            "rows x hidden units."), data=values))
    prov = "; ".join(f"{k}={v}" for k, v in acts.provenance.items())
    return DynamicTable(name=TABLE, description=f"VideoMAE activations of the clips' sliding windows. {prov}",
                        columns=columns)


def _source_item_index(nwb) -> dict[str, int]:
    """Every item name of the source (field ``itemnames``) -> its 0-based index, when the file keeps it."""
    from ..io.source_fields import read_source_fields

    try:
        items = read_source_fields(nwb).get("itemnames")
    except KeyError:
        return {}
    if not isinstance(items, np.ndarray) or items.dtype != object:
        return {}
    return {str(name): i for i, name in enumerate(items.reshape(-1, order="F")) if isinstance(name, str)}


def run_extract(frames: str | Path, settings: ExtractionSettings = ExtractionSettings(),
                nwb_path: str | Path | None = None, npy_path: str | Path | None = None,
                clip_map: str | Path | None = None, progress: bool = False, net=None, processor=None
                ) -> Activations:
    """Extract activations for every clip under ``frames``; write them into ``nwb_path`` and/or ``npy_path``.

    Clips are matched to the NWB file's trials before the model runs, so a mismatch
    fails fast. Re-running replaces the previous table; units and trials are untouched.

    Examples
    --------
    >>> acts = run_extract("frames", ExtractionSettings(model="videomae_folder"),
    ...                    nwb_path="sub-coco_ses-fixshortvid1_ecephys.nwb")     # doctest: +SKIP
    """
    clips = discover_clips(frames)
    stimulus_names, index = None, {}
    if nwb_path is not None:
        with open_nwb(nwb_path) as io:
            nwb = read_nwb(io, nwb_path)
            if nwb.trials is None or "stimulus_name" not in nwb.trials.colnames:
                raise NwbItError("the file has no trials table with stimulus_name (convert it with nwb-it convert)",
                                 nwb_path)
            trial_names = np.asarray(nwb.trials["stimulus_name"].data[:]).astype(str)
            trial_index = np.asarray(nwb.trials["stimulus_index"].data[:])
            index = _source_item_index(nwb)      # clips never shown are in the source's item list only
        index.update(zip(trial_names, trial_index.tolist()))
        try:
            stimulus_names = match_clips([c.key for c in clips], sorted(index),
                                         read_clip_map(clip_map) if clip_map else None)
        except NwbItError as exc:
            raise NwbItError(exc.problem, exc.path or frames) from None
    acts = extract(clips, settings, net=net, processor=processor, progress=progress)
    if npy_path is not None:
        write_npy(acts, npy_path)
    if nwb_path is not None:
        replace_in_module(nwb_path, MODULE, "Source data kept verbatim, and model activations, by nwb_it.",
                          lambda f: [_table(acts, stimulus_names, index)])
    return acts


def read_activations(nwb) -> dict:
    """The activations table of an open NWB file as arrays (columns by name)."""
    try:
        table = nwb.processing[MODULE][TABLE]
    except KeyError:
        raise NwbItError("the file has no VideoMAE activations: run nwb-it extract-videomae first") from None
    out = {c: np.asarray(table[c].data[:]) for c in table.colnames}
    out["description"] = table.description
    return out
