"""VideoMAE activations over sliding windows of grey-padded clips (the lab's videomae_grey_screen_extract.py).

Per clip: ``pad`` grey frames, the clip's frames, ``pad`` grey frames; windows of
``num_frames`` (from the model config) at stride 1, ``n + 2 pad - num_frames + 1`` of
them. Per window: the chosen hidden state's last tubelet, i.e. its last
``(image_size / patch_size)**2`` tokens, pooled over space (mean, or max).

Faster than the seed, same numbers: every frame goes through the image processor
once (it works frame by frame, so windows built by indexing are bit-identical);
windows are batched across clips; the all-grey windows, identical for every clip,
are computed once per run.
"""
from __future__ import annotations

import contextlib
import hashlib
import os
from dataclasses import dataclass, field
from pathlib import Path
from typing import Sequence

import numpy as np
from tqdm.auto import tqdm

from ..errors import NwbItError
from .frames import Clip, grey_frame, load_frame

DEFAULT_MODEL = "MCG-NJU/videomae-base"


@dataclass
class ExtractionSettings:
    model: str = DEFAULT_MODEL
    layers: str = "last"          # "last", "all" or "I,J,..." (hidden_states indices; 0 = embeddings)
    pool: str = "mean"
    pad: int = 16
    grey: int | str = 128
    fps: float = 30.0
    device: str = "auto"
    dtype: str = "float32"
    batch_size: int | None = None


@dataclass
class Activations:
    """Pooled activations of every window of every clip, in the seed's order."""

    clip_keys: list[str]
    clip_of_window: np.ndarray      # (n_windows,) index into clip_keys
    window: np.ndarray              # window index within its clip
    last_frame: np.ndarray          # index of the window's last frame within the clip (negative in leading grey)
    layers: dict[str, np.ndarray]   # layer name -> (n_windows, hidden)
    provenance: dict[str, str] = field(default_factory=dict)
    n_forward_windows: int = 0      # windows actually run through the model
    n_model_calls: int = 0


@contextlib.contextmanager
def quiet_transformers():
    """transformers at error level, no progress bars (e.g. its note that the processor falls back to PIL
    without torchvision, which nwb_it expects: the project avoids torchvision)."""
    from transformers.utils import logging as hf_logging

    verbosity = hf_logging.get_verbosity()
    hf_logging.set_verbosity_error()
    hf_logging.disable_progress_bar()
    try:
        yield
    finally:
        hf_logging.set_verbosity(verbosity)


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise NwbItError("--device cuda asked for, but torch sees no CUDA GPU")
    return device


def load_videomae(model: str | Path = DEFAULT_MODEL, device: str = "cpu", dtype: str = "float32"):
    """VideoMAEModel + its image processor, from a local folder or the local Hugging Face cache.

    Never downloads. A checkpoint whose encoder weights are missing is refused (the
    decoder of a ``VideoMAEForPreTraining`` checkpoint is dropped, as it should be).
    """
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    import torch

    with quiet_transformers():       # the import itself notes the PIL fallback
        from transformers import VideoMAEImageProcessor, VideoMAEModel

    local = Path(model).expanduser()
    source = str(local) if local.exists() else str(model)
    hint = ("nwb_it never downloads at run time: pass --model /path/to/folder holding config.json, the weights "
            "and preprocessor_config.json (e.g. saved with save_pretrained), or fill the Hugging Face cache first")
    if not local.exists() and (str(model).startswith((".", "/", "~")) or str(model).count("/") > 1):
        raise NwbItError(f"model folder not found; {hint}", local)
    if local.exists() and not (local / "config.json").is_file():
        raise NwbItError(f"not a model folder (no config.json); {hint}", local)
    try:
        with quiet_transformers():
            net, info = VideoMAEModel.from_pretrained(source, local_files_only=True, output_loading_info=True)
            processor = VideoMAEImageProcessor.from_pretrained(source, local_files_only=True)
    except OSError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NwbItError(f"model '{model}' not found locally ({first}); {hint}") from None
    missing = [k for k in info.get("missing_keys", []) if "decoder" not in k]
    if missing:
        raise NwbItError(f"model '{model}' lacks {len(missing)} encoder weights (e.g. {missing[0]}): they would be "
                         "random; check the checkpoint")
    if dtype != "float32":
        if device != "cuda":
            raise NwbItError(f"--dtype {dtype} is only offered on a GPU; use float32 on the CPU")
        net = net.to(getattr(torch, dtype))
    if device == "cuda":
        torch.backends.cudnn.allow_tf32 = False    # float32 parity with the CPU / the seed
        torch.backends.cuda.matmul.allow_tf32 = False
    return net.to(device).eval(), processor


def config_hash(net) -> str:
    return hashlib.sha256(net.config.to_json_string(use_diff=False).encode()).hexdigest()[:16]


def layer_names(spec: str, n_layers: int) -> list[str]:
    """'last' -> ['last'] (last_hidden_state, after the final LayerNorm when the model has one);
    'all' -> hidden_states 0..n_layers and 'last'; 'I,J' -> those hidden_states indices."""
    if spec == "last":
        return ["last"]
    if spec == "all":
        return [f"layer{i}" for i in range(n_layers + 1)] + ["last"]
    try:
        idx = [int(x) for x in spec.split(",")]
    except ValueError:
        raise NwbItError(f"--layers {spec!r}: use last, all, or comma-separated indices") from None
    bad = [i for i in idx if not 0 <= i <= n_layers]
    if bad:
        raise NwbItError(f"--layers: index {bad[0]} outside 0..{n_layers} (0 = embeddings, {n_layers} = last block)")
    return [f"layer{i}" for i in idx]


def _pool(hidden, n_tokens: int, how: str):
    last = hidden[:, -n_tokens:, :].float()          # the last tubelet: time-major token order
    return last.amax(dim=1) if how == "max" else last.mean(dim=1)


def extract(clips: Sequence[Clip], settings: ExtractionSettings = ExtractionSettings(),
            net=None, processor=None, progress: bool = False) -> Activations:
    """Pooled VideoMAE activations of every sliding window of every clip.

    Examples
    --------
    >>> from nwb_it.model.frames import discover_clips
    >>> acts = extract(discover_clips("frames"), ExtractionSettings(model="tiny_videomae"))  # doctest: +SKIP
    >>> acts.layers["last"].shape                                                              # doctest: +SKIP
    (64, 768)
    """
    import torch

    if settings.pool not in ("mean", "max"):
        raise NwbItError(f"--pool must be mean or max, not {settings.pool!r}")
    if settings.pad < 0:
        raise NwbItError(f"--pad must be >= 0, not {settings.pad}")
    device = resolve_device(settings.device)
    if net is None:
        net, processor = load_videomae(settings.model, device, settings.dtype)
    cfg = net.config
    size, n_frames = int(cfg.image_size), int(cfg.num_frames)
    n_tokens = (cfg.image_size // cfg.patch_size) ** 2
    names = layer_names(settings.layers, cfg.num_hidden_layers)
    want_hidden = any(n != "last" for n in names)
    model_dtype = next(net.parameters()).dtype
    batch = settings.batch_size or (32 if device == "cuda" else 4)
    torch.manual_seed(0)

    def pixels(images) -> "torch.Tensor":
        return processor(images, return_tensors="pt")["pixel_values"][0]        # (n, 3, H, W)

    grey = pixels([grey_frame(size, settings.grey)])[0]
    per_clip, rows = [], []           # rows: (clip, window, last frame) of every output row
    jobs, grey_rows = [], []          # windows to run: (row, clip, window); all-grey rows, run once
    for c, clip in enumerate(tqdm(clips, desc="frames", unit="clip", disable=not progress, leave=False)):
        if not clip.frames:
            raise NwbItError(f"clip '{clip.key}' has no frames")
        frames = pixels([load_frame(f, size) for f in clip.frames])
        padded = torch.cat([grey.expand(settings.pad, -1, -1, -1), frames, grey.expand(settings.pad, -1, -1, -1)])
        n_windows = len(clip.frames) + 2 * settings.pad - n_frames + 1
        if n_windows < 1:
            raise NwbItError(f"clip '{clip.key}' has {len(clip.frames)} frames: with pad {settings.pad} that is "
                             f"shorter than one {n_frames}-frame window")
        per_clip.append(padded)
        for w in range(n_windows):
            row = len(rows)
            rows.append((c, w, w + n_frames - 1 - settings.pad))
            if w + n_frames <= settings.pad or w >= settings.pad + len(clip.frames):
                grey_rows.append(row)
            else:
                jobs.append((row, c, w))

    out = {n: np.empty((len(rows), cfg.hidden_size), dtype=np.float32) for n in names}
    todo = list(jobs)
    if grey_rows:
        todo.append((grey_rows[0], -1, 0))              # one all-grey window stands for all of them
    calls = 0
    grey_window = grey.expand(n_frames, -1, -1, -1)
    with torch.inference_mode(), tqdm(total=len(todo), desc="windows", unit="win", disable=not progress,
                                      leave=False) as bar:
        for lo in range(0, len(todo), batch):
            part = todo[lo:lo + batch]
            x = torch.stack([grey_window if c < 0 else per_clip[c][w:w + n_frames] for _, c, w in part])
            res = net(pixel_values=x.to(device=device, dtype=model_dtype), output_hidden_states=want_hidden)
            calls += 1
            for name in names:
                hidden = res.last_hidden_state if name == "last" else res.hidden_states[int(name[5:])]
                pooled = _pool(hidden, n_tokens, settings.pool).cpu().numpy()
                out[name][[r for r, _, _ in part]] = pooled
            bar.update(len(part))
    if grey_rows:
        for name in names:
            out[name][grey_rows] = out[name][grey_rows[0]]
    rows_arr = np.asarray(rows, dtype=np.int64).reshape(-1, 3)
    provenance = {"model": str(settings.model), "config_sha256_16": config_hash(net), "layers": ",".join(names),
                  "pool": settings.pool, "pad": str(settings.pad), "grey": str(settings.grey),
                  "dtype": str(model_dtype).replace("torch.", ""), "fps": f"{settings.fps:g}",
                  "num_frames": str(n_frames), "image_size": str(size), "tokens_pooled": str(n_tokens),
                  "image_mean": ",".join(f"{v:g}" for v in processor.image_mean),
                  "image_std": ",".join(f"{v:g}" for v in processor.image_std), "device": device}
    return Activations(clip_keys=[c.key for c in clips], clip_of_window=rows_arr[:, 0], window=rows_arr[:, 1],
                       last_frame=rows_arr[:, 2], layers=out, provenance=provenance,
                       n_forward_windows=len(todo), n_model_calls=calls)
