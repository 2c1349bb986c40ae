"""ViViT: windows of ``num_frames``; "now" = the last tubelet's patch tokens.

Tokens are the CLS token, then tubelets time-major, ``(image_size / tubelet[1]) *
(image_size / tubelet[2])`` tokens each: the last tubelet is the last tokens.
"""
from __future__ import annotations

from .base import FeatureExtractor, pool_tokens


class VivitExtractor(FeatureExtractor):
    family = "vivit"
    tokens = "the last tubelet's patch tokens (the last (image_size/tubelet_h)(image_size/tubelet_w) tokens)"
    model_class, processor_class = "VivitModel", "VivitImageProcessor"

    def now(self, hidden, pool: str):
        _, th, tw = self.net.config.tubelet_size
        n = (self.image_size // th) * (self.image_size // tw)
        return pool_tokens(hidden[:, -n:], pool)
