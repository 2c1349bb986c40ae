"""A content-addressed store of model activations: computed once per stimulus set, reused by every session.

The key is the SHA-256 of what decides the numbers:

- the model: every file of its folder (config, processor config, weights), by content;
- the frames: every clip's key and every frame file's name and content, in order;
- the settings: family, layers, pooling, padding (and the padding image's content),
  fps, precision and the device kind (GPU kernels round differently from the CPU's);
- the cache format and nwb_it's version (an upgrade recomputes rather than trust old numbers).

Not in the key, because they never change the numbers beyond float rounding of the
same arithmetic: batch size and decode threads. An entry is one ``.npz`` (no pickles)
written atomically, ``DIR/ab/abcdef....npz``, with a manifest of what it was computed for
(the key, clip keys, windows per clip, window length and padding, every layer's shape and
dtype) and a SHA-256 digest of its arrays. On a hit all of it is checked against the
request and the arrays; an entry that fails any check warns and is recomputed, never used.

Examples
--------
>>> from nwb_it.examples import example_clip_names, write_example_frames
>>> from nwb_it.models.frames import discover_clips
>>> clips = discover_clips(write_example_frames("frames", example_clip_names(2), n_frames=4, size=16))
>>> from nwb_it.examples.random_model import save_random_videomae
>>> key = activations_key(save_random_videomae("tiny"), clips, ExtractionParams(), "videomae", "cpu")
>>> load_cached("cache", key, clips) is None                          # nothing stored under this key yet
True
"""
from __future__ import annotations

import hashlib
import json
import tempfile
import warnings
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import numpy as np

from ..core.errors import NwbItError
from ..core.logs import logger
from ..core.params import ExtractionParams
from ..core.provenance import package_version
from ..core.results import Activations
from ..io.atomic import atomic_output
from ..io.digest import file_sha256
from .base import resolve_device
from .frames import Clip
from .registry import family_of
from .windows import plan_windows

CACHE_FORMAT = "nwb_it-activations-2"     # 2: a manifest and a digest beside the arrays, verified on read
SKIPPED = {"README.md", ".gitattributes"}     # model-card files: not what computes


class CacheWarning(UserWarning):
    """A cache entry that was not used (damaged, or not what this run asks for), or could not be stored."""


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
        h.update(f"{path.relative_to(folder).as_posix()}\0{file_sha256(path)}\n".encode())
    return h.hexdigest()


def frames_digest(clips: Sequence[Clip]) -> str:
    """SHA-256 over every clip's key and its frames' names and contents, in order."""
    h = hashlib.sha256()
    for clip in clips:
        h.update(f"clip\0{clip.key}\n".encode())
        for frame in clip.frames:
            digest = frame.digest() if hasattr(frame, "digest") else file_sha256(getattr(frame, "path", frame))
            h.update(f"{frame.name}\0{digest}\n".encode())
    return h.hexdigest()


def activations_key(model: str | Path, clips: Sequence[Clip], settings: ExtractionParams, family: str,
                    device: str) -> str:
    """The cache key of these clips through this model with these settings."""
    grey = settings.grey if isinstance(settings.grey, int) else file_sha256(Path(settings.grey))
    numeric = {"family": family, "layers": settings.layers, "pool": settings.pool, "pad": settings.pad,
               "grey": grey, "fps": settings.fps, "dtype": settings.dtype, "device": device}
    record = {"format": CACHE_FORMAT, "nwb_it": package_version(), "model": model_digest(model),
              "frames": frames_digest(clips), "settings": numeric}
    return hashlib.sha256(json.dumps(record, sort_keys=True).encode()).hexdigest()


def entry_path(cache_dir: str | Path, key: str) -> Path:
    return Path(cache_dir) / key[:2] / f"{key}.npz"


def check_cache_dir(cache_dir: str | Path) -> Path:
    """The cache folder, made if missing and checked writable, before any model runs."""
    folder = Path(cache_dir).expanduser()
    if folder.exists() and not folder.is_dir():
        raise NwbItError("the activations cache must be a folder, and this is a file", folder)
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryFile(dir=folder):
            pass
    except OSError as exc:
        raise NwbItError(f"the activations cache cannot be written ({exc.strerror}); choose another `cache_dir`",
                         folder) from None
    return folder


def _arrays(acts: Activations) -> dict[str, np.ndarray]:
    return {"clip_keys": np.array(acts.clip_keys, dtype=str), "clip_of_window": np.asarray(acts.clip_of_window),
            "window": np.asarray(acts.window), "last_frame": np.asarray(acts.last_frame),
            **{f"layer:{name}": np.asarray(values) for name, values in acts.layers.items()}}


def arrays_digest(arrays: dict[str, np.ndarray]) -> str:
    """SHA-256 over every array's name, dtype, shape and bytes, in name order."""
    h = hashlib.sha256()
    for name in sorted(arrays):
        a = np.ascontiguousarray(arrays[name])
        h.update(f"{name}\0{a.dtype.str}\0{a.shape}\n".encode())
        h.update(a.tobytes())
    return h.hexdigest()


def _manifest(key: str, acts: Activations, arrays: dict[str, np.ndarray]) -> dict[str, Any]:
    """What an entry was computed for, stored beside its arrays and checked on every read."""
    return {"format": CACHE_FORMAT, "key": key, "clip_keys": list(acts.clip_keys),
            "windows_per_clip": np.bincount(acts.clip_of_window, minlength=len(acts.clip_keys)).tolist(),
            "num_frames": int(acts.provenance.get("num_frames", 0)), "pad": int(acts.provenance.get("pad", 0)),
            "layers": {name: [int(v.shape[0]), int(v.shape[1]), str(v.dtype)] for name, v in acts.layers.items()},
            "digest": arrays_digest(arrays)}


def store_cached(cache_dir: str | Path, key: str, acts: Activations) -> Path:
    """Write one entry atomically (a concurrent run writing the same key leaves one whole file)."""

    path = entry_path(cache_dir, key)
    path.parent.mkdir(parents=True, exist_ok=True)
    arrays = _arrays(acts)
    with atomic_output(path, overwrite=True) as tmp, open(tmp, "wb") as fh:
        np.savez(fh, manifest=np.array(json.dumps(_manifest(key, acts, arrays), sort_keys=True)),
                 provenance=np.array(json.dumps(acts.provenance, sort_keys=True)), **arrays)
    return path


def expected_width(model: str | Path) -> int | None:
    """The hidden width every layer of a transformer family has (its config's ``hidden_size``); None if it varies."""
    try:
        config = json.loads((model_folder(model) / "config.json").read_text())
    except (OSError, ValueError, NwbItError):
        return None
    width = config.get("hidden_size", (config.get("vision_config") or {}).get("hidden_size"))
    return width if isinstance(width, int) and config.get("model_type") != "resnet" else None


def entry_problem(manifest: dict, arrays: dict[str, np.ndarray], key: str, clips: Sequence[Clip] | None,
                  width: int | None = None) -> str | None:
    """Why an entry cannot stand for this request (None: it can): key, digest, clips, windows, layer shapes.

    ``width``: the hidden width the request's model gives every layer, when it is known.
    """
    if manifest.get("format") != CACHE_FORMAT or manifest.get("key") != key:
        return "it was stored under another key"
    if arrays_digest(arrays) != manifest.get("digest"):
        return "its arrays do not match the digest stored with them"
    keys = [str(k) for k in arrays["clip_keys"]]
    if keys != manifest["clip_keys"] or (clips is not None and keys != [c.key for c in clips]):
        return "its clip keys are not this run's clips"
    if clips is not None and manifest["num_frames"] > 0:

        rows = plan_windows(clips, manifest["num_frames"], manifest["pad"])[0]
        if not all(np.array_equal(arrays[n], rows[:, i]) for i, n in enumerate(("clip_of_window", "window",
                                                                               "last_frame"))):
            return "its windows are not those of this run's frames"
    n_rows = arrays["window"].shape[0]
    if any(a.shape[0] != n_rows for a in (arrays["clip_of_window"], arrays["last_frame"])):
        return "its window columns differ in length"
    layers = {k.removeprefix("layer:"): v for k, v in arrays.items() if k.startswith("layer:")}
    if sorted(layers) != sorted(manifest["layers"]):
        return "its layers are not the ones it records"
    for name, values in layers.items():
        rows_, stored_width, dtype = manifest["layers"][name]
        wanted = (n_rows, width if width is not None else stored_width)
        if values.ndim != 2 or values.shape != wanted or rows_ != n_rows or str(values.dtype) != dtype:
            return f"layer {name} has shape {values.shape} ({values.dtype}), not {wanted} {dtype}"
        if not np.isfinite(values).all():
            return f"layer {name} holds NaN or infinite values"
    return None


def load_cached(cache_dir: str | Path, key: str, clips: Sequence[Clip] | None = None, width: int | None = None
                ) -> Activations | None:
    """The stored activations of ``key``, verified against ``clips`` (see :func:`entry_problem`), or None.

    A miss is None; an entry that cannot be read or does not verify warns and is a miss
    (it is recomputed and rewritten, never used).
    """
    path = entry_path(cache_dir, key)
    if not path.is_file():
        return None
    try:
        with np.load(path, allow_pickle=False) as z:
            arrays = {name: z[name] for name in z.files if name not in ("manifest", "provenance")}
            manifest, provenance = json.loads(str(z["manifest"])), json.loads(str(z["provenance"]))
        problem = entry_problem(manifest, arrays, key, clips, width)
    except Exception as exc:  # a truncated or foreign file: recompute and rewrite it
        problem = f"unreadable ({type(exc).__name__})"
    if problem:
        warnings.warn(f"{path}: cache entry not used: {problem}; computing again", CacheWarning, stacklevel=2)
        return None
    layers = {k.removeprefix("layer:"): v for k, v in arrays.items() if k.startswith("layer:")}
    return Activations(clip_keys=[str(k) for k in arrays["clip_keys"]], clip_of_window=arrays["clip_of_window"],
                       window=arrays["window"], last_frame=arrays["last_frame"], layers=layers,
                       provenance=provenance, cached=True)


def cached_extract(clips: Sequence[Clip], settings: ExtractionParams, cache_dir: str | Path | None,
                   compute, extractor=None) -> Activations:
    """``compute()`` unless ``cache_dir`` holds a verified entry of this key; a computed result is stored there.

    With an ``extractor`` already loaded its folder and device are the key's; otherwise
    they are resolved from ``settings`` without loading the model (a hit runs no model).
    The provenance of a hit names this run's model. A failure to store is a warning:
    the result is still returned (and written where it was asked for).
    """
    if cache_dir is None:
        return compute()

    cache_dir = check_cache_dir(cache_dir)
    if extractor is not None:
        model, family, device = extractor.source, extractor.family, extractor.device
    else:
        model, family = settings.model, settings.family or family_of(settings.model)
        device = resolve_device(settings.device)
    key = activations_key(model, clips, settings, family, device)
    hit = load_cached(cache_dir, key, clips, expected_width(model))
    if hit is not None:
        hit.provenance["model"] = str(model)          # the same content, under this run's name
        logger.info("activations of %d clips read from the cache %s (key %s): no model run", len(clips), cache_dir,
                    key[:12])
        return hit
    acts = compute()
    try:
        store_cached(cache_dir, key, acts)
        logger.info("activations stored in the cache %s (key %s)", cache_dir, key[:12])
    except (OSError, NwbItError) as exc:
        warnings.warn(f"{cache_dir}: the activations could not be stored in the cache ({exc}); they are used "
                      "all the same", CacheWarning, stacklevel=2)
    return acts
