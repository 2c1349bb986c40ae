"""Which extractor a model folder needs, from its ``config.json`` ``model_type``."""
from __future__ import annotations

import json
from pathlib import Path

from ..core.errors import NwbItError
from .base import FeatureExtractor, resolve_device
from .image import CLIPVisionExtractor, Dinov2Extractor, ImageExtractor, ResNetExtractor, ViTExtractor
from .timesformer import TimesformerExtractor
from .videomae import VideoMAEExtractor
from .vivit import VivitExtractor
from .vjepa2 import VJEPA2Extractor

FAMILIES: dict[str, type[FeatureExtractor]] = {
    cls.family: cls for cls in (VideoMAEExtractor, TimesformerExtractor, VivitExtractor, VJEPA2Extractor,
                                ViTExtractor, Dinov2Extractor, CLIPVisionExtractor, ResNetExtractor)}
ALIASES = {"clip": "clip_vision_model"}


def image_families() -> list[str]:
    """The families that read one frame a window (still images suit them)."""
    return [name for name, cls in FAMILIES.items() if issubclass(cls, ImageExtractor)]


def family_of(model: str | Path) -> str:
    """The family of a local model folder (its config's ``model_type``); VideoMAE for a cache id."""
    config = Path(model).expanduser() / "config.json"
    if not config.is_file():
        return VideoMAEExtractor.family
    kind = json.loads(config.read_text()).get("model_type", "")
    kind = ALIASES.get(kind, kind)
    if kind not in FAMILIES:
        raise NwbItError(f"model type '{kind}' has no extractor (families: {', '.join(FAMILIES)})", config)
    return kind


def load_extractor(model: str | Path, device: str = "auto", dtype: str = "float32",
                   family: str | None = None) -> FeatureExtractor:
    """The extractor of ``model``'s family, loaded offline on ``device``."""
    kind = family or family_of(model)
    if kind not in FAMILIES:
        raise NwbItError(f"`family={kind}`: use one of {', '.join(FAMILIES)}")
    return FAMILIES[kind].load(model, resolve_device(device), dtype)
