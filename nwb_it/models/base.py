"""The feature-extractor interface and what every model family shares: offline loading, devices, hashing.

A family (VideoMAE, ...) is one class implementing :class:`FeatureExtractor`: how
frames are preprocessed, how many frames a window holds, which layers exist and
which tokens stand for "now". The sliding windows, grey padding, batching and the
clock are the same for every family (:mod:`nwb_it.models.windows`).
"""
from __future__ import annotations

import contextlib
import hashlib
from abc import ABC, abstractmethod
from collections.abc import Iterator
from pathlib import Path
from typing import Any, ClassVar

import numpy as np

from ..core.errors import NwbItError
from ..core.logs import quiet_records

OFFLINE_HINT = ("nwb_it never downloads at run time: pass `model=/path/to/folder` holding config.json, the weights "
                "and preprocessor_config.json (e.g. saved with save_pretrained), or fill the Hugging Face cache first")


@contextlib.contextmanager
def quiet_transformers() -> Iterator[None]:
    """transformers' records below ERROR dropped while this thread runs the block (e.g. its note that the processor
    falls back to PIL without torchvision, which nwb_it expects: the project avoids torchvision).

    Its verbosity is not changed (process-wide: another thread's, or the user's, records would go too). Its
    progress bars ("Loading weights") have only a process-wide switch, so the library leaves them alone; the
    command line turns them off at start-up (``HF_HUB_DISABLE_PROGRESS_BARS``).
    """
    from transformers.utils import logging as hf_logging

    hf_logging.get_logger()                      # transformers' own handler exists before the filter goes on it
    with quiet_records("transformers"):
        yield


def pil_processor(name: str):
    """transformers' image processor class ``name`` on its PIL backend (``<name>Pil`` where there is one).

    transformers 5 backs the plain names with torchvision and falls back to PIL with a warning
    when torchvision is missing, as it is beside the CPU torch build; naming the PIL class
    chooses the same arithmetic without the warning.
    """
    import transformers

    return getattr(transformers, f"{name}Pil", None) or getattr(transformers, name)


def resolve_device(device: str) -> str:
    import torch

    if device == "auto":
        return "cuda" if torch.cuda.is_available() else "cpu"
    if device == "cuda" and not torch.cuda.is_available():
        raise NwbItError("`device=cuda` asked for, but torch sees no CUDA GPU")
    return device


def load_pretrained(model_cls, processor_cls, model: str | Path, ignore_missing: tuple[str, ...] = ()):
    """A transformers model and its processor from a local folder or the local Hugging Face cache.

    Never downloads. A checkpoint whose weights are missing (they would be random)
    is refused, except keys containing one of ``ignore_missing`` (e.g. a pre-training decoder).
    """
    local = Path(model).expanduser()
    source = str(local) if local.exists() else str(model)
    if not local.exists() and (str(model).startswith((".", "/", "~")) or str(model).count("/") > 1):
        raise NwbItError(f"model folder not found; {OFFLINE_HINT}", local)
    if local.exists() and not (local / "config.json").is_file():
        raise NwbItError(f"not a model folder (no config.json); {OFFLINE_HINT}", local)
    try:
        with quiet_transformers():
            net, info = model_cls.from_pretrained(source, local_files_only=True, output_loading_info=True)
            backend = {"backend": "pil"} if processor_cls.__name__ == "AutoImageProcessor" else {}
            processor = processor_cls.from_pretrained(source, local_files_only=True, **backend)
    except OSError as exc:
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise NwbItError(f"model '{model}' not found locally ({first}); {OFFLINE_HINT}") from None
    except Exception as exc:  # e.g. torch refusing a pickle payload in pytorch_model.bin
        first = str(exc).strip().splitlines()[0][:200] if str(exc).strip() else ""
        raise NwbItError(f"model '{model}' could not be loaded safely ({type(exc).__name__}: {first})") from None
    missing = [k for k in info.get("missing_keys", []) if not any(part in k for part in ignore_missing)]
    if missing:
        raise NwbItError(f"model '{model}' lacks {len(missing)} weights (e.g. {missing[0]}): they would be "
                         "random; check the checkpoint")
    return net, processor


def prepare(net, device: str, dtype: str):
    """The model on its device, in eval mode, at the asked precision (reduced precision only on a GPU)."""
    import torch

    if dtype != "float32":
        if device != "cuda":
            raise NwbItError(f"`dtype={dtype}` is only offered on a GPU; use float32 on the CPU")
        net = net.to(getattr(torch, dtype))
    return net.to(device).eval()


@contextlib.contextmanager
def exact_float32(device: str) -> Iterator[None]:
    """float32 matmuls without TF32 on a GPU (parity with the CPU and the lab's script) while the block runs;
    torch's process-wide TF32 flags are restored after, so a caller's own setting survives."""
    if device != "cuda":
        yield
        return
    import torch

    saved = torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    try:
        yield
    finally:
        torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32 = saved


def config_hash(net) -> str:
    """First 16 hex digits of the SHA-256 of the model's full config."""
    return hashlib.sha256(net.config.to_json_string(use_diff=False).encode()).hexdigest()[:16]


def hidden_state_layers(spec: str, n_layers: int) -> list[str]:
    """'last' -> ['last']; 'all' -> hidden_states 0..n_layers and 'last'; 'I,J' -> those hidden_states.

    Examples
    --------
    >>> hidden_state_layers("all", 2)
    ['layer0', 'layer1', 'layer2', 'last']
    """
    if spec == "last":
        return ["last"]
    if spec == "all":
        return [f"layer{i}" for i in range(n_layers + 1)] + ["last"]
    try:
        idx = [int(x) for x in spec.split(",")]
    except ValueError:
        raise NwbItError(f"`layers={spec}`: use last, all, or comma-separated indices") from None
    bad = [i for i in idx if not 0 <= i <= n_layers]
    if bad:
        raise NwbItError(f"`layers`: index {bad[0]} outside 0..{n_layers} (0 = embeddings, {n_layers} = last block)")
    return [f"layer{i}" for i in idx]


def pool_tokens(tokens, how: str):
    """Pool (batch, tokens, dim) over the tokens: mean (the lab's choice) or max."""
    tokens = tokens.float()
    return tokens.amax(dim=1) if how == "max" else tokens.mean(dim=1)


class FeatureExtractor(ABC):
    """One model family: preprocessing, window length, layers and the pooled "now" tokens.

    Attributes
    ----------
    family : short name stored in the provenance ("videomae", ...)
    net, processor : the transformers model and its image processor
    source : the model id or folder it was loaded from
    """

    family: ClassVar[str]
    #: transformers class names of the model and its processor (a processor may also be a class of nwb_it's)
    model_class: ClassVar[str] = ""
    processor_class: ClassVar[str | type] = "AutoImageProcessor"
    #: weights a checkpoint may lack because nwb_it never uses them (a pre-training decoder, a pooler head)
    ignore_missing: ClassVar[tuple[str, ...]] = ()

    def __init__(self, net, processor, source: str | Path):
        self.net, self.processor, self.source = net, processor, str(source)

    @classmethod
    def load(cls, model: str | Path, device: str = "cpu", dtype: str = "float32") -> FeatureExtractor:
        """Load offline (see :func:`load_pretrained`) and :func:`prepare` for ``device``."""
        with quiet_transformers():       # the import itself notes the PIL fallback
            import transformers
        processor = cls.processor_class
        if isinstance(processor, str):
            processor = pil_processor(processor)
        net, proc = load_pretrained(getattr(transformers, cls.model_class), processor, model, cls.ignore_missing)
        return cls(prepare(net, device, dtype), proc, model)

    #: config keys of the window length and the frame side (families whose config names them otherwise override)
    frames_key: ClassVar[str] = "num_frames"
    size_key: ClassVar[str] = "image_size"

    @property
    def num_frames(self) -> int:
        """Frames per window (1 for frame-wise image models)."""
        return int(getattr(self.net.config, self.frames_key))

    @property
    def image_size(self) -> int:
        """Side of the square frames the model takes."""
        return int(getattr(self.net.config, self.size_key))

    #: what stands for "now" (documented in the README's Models table and stored in the provenance)
    tokens: ClassVar[str] = ""

    @property
    def n_layers(self) -> int:
        """Blocks of the model: ``hidden_states`` holds n_layers + 1 tensors (0 = the embeddings)."""
        return int(self.net.config.num_hidden_layers)

    def layer_names(self, spec: str) -> list[str]:
        """'last' -> ['last']; 'all' -> hidden_states 0..n_layers and 'last'; 'I,J' -> those hidden_states."""
        return hidden_state_layers(spec, self.n_layers)

    @abstractmethod
    def now(self, hidden, pool: str):
        """Pool the tokens that stand for "now" out of one layer's output: (batch, tokens, dim) -> (batch, dim)."""

    def run(self, windows, want_hidden: bool):
        """The model's output for a batch of windows (batch, num_frames, 3, H, W)."""
        return self.net(pixel_values=windows.to(device=self.device, dtype=self.dtype), output_hidden_states=want_hidden)

    def forward(self, windows, layers: list[str], pool: str) -> dict[str, np.ndarray]:
        """Pooled activations of a batch of windows ``(batch, num_frames, 3, H, W)``: layer -> (batch, dim)."""
        with exact_float32(self.device):
            res = self.run(windows, any(n != "last" for n in layers))
        out = {}
        for name in layers:
            hidden = res.last_hidden_state if name == "last" else res.hidden_states[int(name[5:])]
            out[name] = self.now(hidden, pool).float().cpu().numpy()
        return out

    def preprocess(self, images: list) -> Any:
        """RGB frames (PIL) -> float tensor (n, 3, H, W); per frame, so windows can be built by indexing."""
        pixels = self.processor(images, return_tensors="pt")["pixel_values"]
        return pixels[0] if pixels.ndim == 5 else pixels     # video processors add a batch axis

    @property
    def device(self) -> str:
        return str(next(self.net.parameters()).device.type)

    @property
    def dtype(self):
        return next(self.net.parameters()).dtype

    def provenance(self) -> dict[str, Any]:
        """What identifies the numbers this extractor makes."""
        return {"family": self.family, "model": self.source, "config_sha256_16": config_hash(self.net),
                "num_frames": self.num_frames, "image_size": self.image_size, "tokens": self.tokens,
                "n_layers": self.n_layers,
                "dtype": str(self.dtype).replace("torch.", ""), "device": self.device,
                "image_mean": [float(v) for v in self.processor.image_mean],
                "image_std": [float(v) for v in self.processor.image_std]}
