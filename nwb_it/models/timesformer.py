"""TimeSformer: windows of ``num_frames``; "now" = the last frame's patch tokens.

Tokens are the CLS token, then patch-major and time-minor (patch p of frame t at
``1 + p * num_frames + t``: checked by perturbing only the last frame), so the last
frame's tokens are ``1 + p * num_frames + num_frames - 1``. Layers as VideoMAE's
(``last`` = after the final LayerNorm).
"""
from __future__ import annotations

from .base import FeatureExtractor, pool_tokens


class TimesformerExtractor(FeatureExtractor):
    family = "timesformer"
    tokens = "the last frame's patch tokens (patch-major order after CLS: every num_frames-th token)"
    model_class, processor_class = "TimesformerModel", "VideoMAEImageProcessor"

    def now(self, hidden, pool: str):
        t = self.num_frames
        return pool_tokens(hidden[:, 1 + t - 1::t], pool)
