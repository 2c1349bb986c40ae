"""ViViT: windows of ``num_frames``; "now" = the last tubelet's patch tokens.

Tokens are the CLS token, then tubelets time-major, ``(image_size / tubelet[1]) *
(image_size / tubelet[2])`` tokens each: the last tubelet is the last tokens.
"""
from __future__ import annotations

from pathlib import Path

from .base import FeatureExtractor, load_pretrained, pool_tokens, prepare, quiet_transformers


class VivitExtractor(FeatureExtractor):
    family = "vivit"
    tokens = "the last tubelet's patch tokens (the last (image_size/tubelet_h)(image_size/tubelet_w) tokens)"

    @classmethod
    def load(cls, model: str | Path, device: str = "cpu", dtype: str = "float32") -> VivitExtractor:
        with quiet_transformers():
            from transformers import VivitImageProcessor, VivitModel
        net, processor = load_pretrained(VivitModel, VivitImageProcessor, model)
        return cls(prepare(net, device, dtype), processor, model)

    def now(self, hidden, pool: str):
        _, th, tw = self.net.config.tubelet_size
        n = (self.image_size // th) * (self.image_size // tw)
        return pool_tokens(hidden[:, -n:], pool)
