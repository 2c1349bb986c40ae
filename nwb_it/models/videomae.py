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

from pathlib import Path

import numpy as np

from ..core.errors import NwbItError
from .base import FeatureExtractor, load_pretrained, prepare, quiet_transformers


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
        raise NwbItError(f"--layers {spec!r}: use last, all, or comma-separated indices") from None
    bad = [i for i in idx if not 0 <= i <= n_layers]
    if bad:
        raise NwbItError(f"--layers: index {bad[0]} outside 0..{n_layers} (0 = embeddings, {n_layers} = last block)")
    return [f"layer{i}" for i in idx]


def pool_tokens(hidden, n_tokens: int, how: str):
    """Pool the last ``n_tokens`` tokens (the last time step, in time-major order) over space."""
    last = hidden[:, -n_tokens:, :].float()
    return last.amax(dim=1) if how == "max" else last.mean(dim=1)


class VideoMAEExtractor(FeatureExtractor):
    """``VideoMAEModel`` with its ``VideoMAEImageProcessor``.

    Examples
    --------
    >>> ext = VideoMAEExtractor.load("path/to/videomae-base")     # doctest: +SKIP
    >>> ext.num_frames, ext.tokens_now                            # doctest: +SKIP
    (16, 196)
    """

    family = "videomae"

    @classmethod
    def load(cls, model: str | Path = "MCG-NJU/videomae-base", device: str = "cpu", dtype: str = "float32"
             ) -> VideoMAEExtractor:
        with quiet_transformers():       # the import itself notes the PIL fallback
            from transformers import VideoMAEImageProcessor, VideoMAEModel
        # a VideoMAEForPreTraining checkpoint loads without its decoder, as it should
        net, processor = load_pretrained(VideoMAEModel, VideoMAEImageProcessor, model, ignore_missing=("decoder",))
        return cls(prepare(net, device, dtype), processor, model)

    @property
    def num_frames(self) -> int:
        return int(self.net.config.num_frames)

    @property
    def image_size(self) -> int:
        return int(self.net.config.image_size)

    @property
    def hidden_size(self) -> int:
        return int(self.net.config.hidden_size)

    @property
    def tokens_now(self) -> int:
        """Tokens of the last tubelet: (image_size / patch_size)**2."""
        cfg = self.net.config
        return (cfg.image_size // cfg.patch_size) ** 2

    def layer_names(self, spec: str) -> list[str]:
        return hidden_state_layers(spec, int(self.net.config.num_hidden_layers))

    def forward(self, windows, layers: list[str], pool: str) -> dict[str, np.ndarray]:
        want_hidden = any(n != "last" for n in layers)
        res = self.net(pixel_values=windows.to(device=self.device, dtype=self.dtype), output_hidden_states=want_hidden)
        out = {}
        for name in layers:
            hidden = res.last_hidden_state if name == "last" else res.hidden_states[int(name[5:])]
            out[name] = pool_tokens(hidden, self.tokens_now, pool).cpu().numpy()
        return out

    def provenance(self) -> dict:
        return {**super().provenance(), "tokens": f"last tubelet's {self.tokens_now} patch tokens",
                "tokens_pooled": self.tokens_now}
