"""TimeSformer: windows of ``num_frames``; "now" = the last frame's patch tokens.

Tokens are the CLS token, then patch-major and time-minor (patch p of frame t at
``1 + p * num_frames + t``: checked by perturbing only the last frame), so the last
frame's tokens are ``1 + p * num_frames + num_frames - 1``. Layers as VideoMAE's
(``last`` = after the final LayerNorm).
"""
from __future__ import annotations

from pathlib import Path

from .base import FeatureExtractor, load_pretrained, pool_tokens, prepare, quiet_transformers


class TimesformerExtractor(FeatureExtractor):
    family = "timesformer"
    tokens = "the last frame's patch tokens (patch-major order after CLS: every num_frames-th token)"

    @classmethod
    def load(cls, model: str | Path, device: str = "cpu", dtype: str = "float32") -> TimesformerExtractor:
        with quiet_transformers():
            from transformers import TimesformerModel, VideoMAEImageProcessor
        net, processor = load_pretrained(TimesformerModel, VideoMAEImageProcessor, model)
        return cls(prepare(net, device, dtype), processor, model)

    def now(self, hidden, pool: str):
        t = self.num_frames
        return pool_tokens(hidden[:, 1 + t - 1::t], pool)
