"""A content-addressed store of model activations: computed once per stimulus set, reused by every session.

The key is the SHA-256 of what decides the numbers:

- the model: every file of its folder (config, processor config, weights), by content;
- the frames: every clip's key and every frame file's name and content, in order;
- the settings: family, layers, pooling, padding (and the padding image's content),
  fps, precision and the device kind (GPU kernels round differently from the CPU's);
- the cache format and nwb_it's version (an upgrade recomputes rather than trust old numbers).

Not in the key, because they never change the numbers beyond float rounding of the
same arithmetic: batch size and decode threads. An entry is one ``.npz`` (no pickles)
written atomically, ``DIR/ab/abcdef....npz``; a damaged entry is a miss, rewritten.

Examples
--------
>>> key = activations_key("MCG-NJU/videomae-base", discover_clips("frames"), ExtractionSettings())  # doctest: +SKIP
>>> load_cached("cache", key) is None                                                            # doctest: +SKIP
True
"""
from __future__ import annotations

import hashlib
import json
import warnings
from collections.abc import Sequence
from pathlib import Path

import numpy as np

from ..core.errors import NwbItError
from ..core.params import ExtractionSettings
from ..core.provenance import package_version
from ..core.results import Activations
from .frames import Clip

CACHE_FORMAT = "nwb_it-activations-1"
SKIPPED = {"README.md", ".gitattributes"}     # model-card files: not what computes


def _file_digest(path: Path) -> str:
    try:
        with open(path, "rb") as fh:
            return hashlib.file_digest(fh, "sha256").hexdigest()
    except OSError as exc:
        raise NwbItError(f"cannot read ({exc.strerror})", path) from None


def model_folder(model: str | Path) -> Path:
    """The local folder of a model: the folder itself, or its snapshot in the Hugging Face cache."""
    local = Path(model).expanduser()
    if local.is_dir():
        return local
    try:
        from huggingface_hub import snapshot_download

        return Path(snapshot_download(str(model), local_files_only=True))
    except Exception:
        raise NwbItError(f"model '{model}' not found locally; pass a model folder (`model=PATH`) saved with "
                         "save_pretrained, or fill the Hugging Face cache on a machine with network") from None


def model_digest(model: str | Path) -> str:
    """SHA-256 over every file of the model's folder (names and contents)."""
    folder = model_folder(model)
    h = hashlib.sha256()
    for path in sorted(p for p in folder.rglob("*") if p.is_file() and p.name not in SKIPPED
                       and not any(part.startswith(".") for part in p.relative_to(folder).parts)):
        h.update(f"{path.relative_to(folder).as_posix()}\0{_file_digest(path)}\n".encode())
    return h.hexdigest()


def frames_digest(clips: Sequence[Clip]) -> str:
    """SHA-256 over every clip's key and its frames' names and contents, in order."""
    h = hashlib.sha256()
    for clip in clips:
        h.update(f"clip\0{clip.key}\n".encode())
        for frame in clip.frames:
            h.update(f"{frame.name}\0{_file_digest(frame)}\n".encode())
    return h.hexdigest()


def activations_key(model: str | Path, clips: Sequence[Clip], settings: ExtractionSettings, family: str,
                    device: str) -> str:
    """The cache key of these clips through this model with these settings."""
    grey = settings.grey if isinstance(settings.grey, int) else _file_digest(Path(settings.grey))
    numeric = {"family": family, "layers": settings.layers, "pool": settings.pool, "pad": settings.pad,
               "grey": grey, "fps": settings.fps, "dtype": settings.dtype, "device": device}
    record = {"format": CACHE_FORMAT, "nwb_it": package_version(), "model": model_digest(model),
              "frames": frames_digest(clips), "settings": numeric}
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def entry_path(cache_dir: str | Path, key: str) -> Path:
    return Path(cache_dir) / key[:2] / f"{key}.npz"


def store_cached(cache_dir: str | Path, key: str, acts: Activations) -> Path:
    """Write one entry atomically (a concurrent run writing the same key leaves one whole file)."""
    from ..nwb.atomic import atomic_output

    path = entry_path(cache_dir, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = {f"layer:{name}": values for name, values in acts.layers.items()}
    with atomic_output(path, overwrite=True) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, clip_keys=np.array(acts.clip_keys, dtype=str), clip_of_window=acts.clip_of_window,
                 window=acts.window, last_frame=acts.last_frame, layer_names=np.array(list(acts.layers), dtype=str),
                 provenance=np.array(json.dumps(acts.provenance, sort_keys=True)), **arrays)
    return path


def load_cached(cache_dir: str | Path, key: str) -> Activations | None:
    """The stored activations of ``key``, or None (a miss; a damaged entry warns and is a miss)."""
    path = entry_path(cache_dir, key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            layers = {str(name): z[f"layer:{name}"] for name in z["layer_names"]}
            return Activations(clip_keys=[str(k) for k in z["clip_keys"]], clip_of_window=z["clip_of_window"],
                               window=z["window"], last_frame=z["last_frame"], layers=layers,
                               provenance=json.loads(str(z["provenance"])), cached=True)
    except Exception as exc:  # a truncated or foreign file: recompute and rewrite it
        warnings.warn(f"{path}: unreadable cache entry ({type(exc).__name__}); computing again", stacklevel=2)
        return None


def cached_extract(clips: Sequence[Clip], settings: ExtractionSettings, cache_dir: str | Path | None,
                   compute, extractor=None) -> Activations:
    """``compute()`` unless ``cache_dir`` holds this key; a computed result is stored there.

    With an ``extractor`` already loaded its folder and device are the key's; otherwise
    they are resolved from ``settings`` without loading the model (a hit runs no model).
    """
    if cache_dir is None:
        return compute()
    from .base import resolve_device
    from .registry import family_of

    if extractor is not None:
        model, family, device = extractor.source, extractor.family, extractor.device
    else:
        model, family = settings.model, settings.family or family_of(settings.model)
        device = resolve_device(settings.device)
    key = activations_key(model, clips, settings, family, device)
    hit = load_cached(cache_dir, key)
    if hit is not None:
        return hit
    acts = compute()
    store_cached(cache_dir, key, acts)
    return acts
