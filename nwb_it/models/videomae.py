"""VideoMAE (the lab's model): windows of ``num_frames``; "now" = the last tubelet's patch tokens.

``last_hidden_state`` has ``num_frames / tubelet_size`` tubelets of
``(image_size / patch_size)**2`` tokens each, time-major, so the last tubelet is the
last ``(image_size / patch_size)**2`` tokens; they are pooled over space (mean, as the
lab's script, or max). Layers: ``last`` is ``last_hidden_state`` (after the final
LayerNorm when ``use_mean_pooling`` is false, as in videomae-base: what the lab
stored); ``layerI`` is ``hidden_states[I]`` (0 = the embeddings, ``num_hidden_layers``
= the last block *before* that LayerNorm).
"""
from __future__ import annotations

from .base import FeatureExtractor, pool_tokens


class VideoMAEExtractor(FeatureExtractor):
    """``VideoMAEModel`` with its ``VideoMAEImageProcessor``.

    Examples
    --------
    >>> ext = VideoMAEExtractor.load("path/to/videomae-base")     # doctest: +SKIP
    >>> ext.num_frames, ext.tokens_now                            # doctest: +SKIP
    (16, 196)
    """

    family = "videomae"
    tokens = "the last tubelet's patch tokens (the last (image_size/patch_size)^2 tokens)"
    model_class, processor_class = "VideoMAEModel", "VideoMAEImageProcessor"
    ignore_missing = ("decoder",)     # a VideoMAEForPreTraining checkpoint loads without its decoder, as it should

    @property
    def tokens_now(self) -> int:
        """Tokens of the last tubelet: (image_size / patch_size)**2."""
        cfg = self.net.config
        return (cfg.image_size // cfg.patch_size) ** 2

    def now(self, hidden, pool: str):
        return pool_tokens(hidden[:, -self.tokens_now:], pool)

    def provenance(self) -> dict:
        return {**super().provenance(), "tokens_pooled": self.tokens_now}
