"""Frame-wise image models: every window is one frame (``num_frames`` = 1), on the same clock.

"Now" is the frame itself: the CLS token where the model has one (ViT, DINOv2, CLIP's
vision tower), the spatial average of the feature map for ResNet. Layers as the video
models': ``last`` = ``last_hidden_state`` (ResNet: the last stage's feature map),
``layerI`` = ``hidden_states[I]`` (ResNet: 0 = the stem, then one per stage).
"""
from __future__ import annotations

from .base import FeatureExtractor


class ImageExtractor(FeatureExtractor):
    """One frame per window; subclasses name the transformers classes and the "now" tokens."""

    ignore_missing = ("pooler",)       # the pooler head is never used: "now" is read before it

    @property
    def num_frames(self) -> int:
        return 1

    def run(self, windows, want_hidden: bool):
        return self.net(pixel_values=windows[:, -1].to(device=self.device, dtype=self.dtype),
                        output_hidden_states=want_hidden)

    def now(self, hidden, pool: str):
        return hidden[:, 0].float()                     # the CLS token


class ViTExtractor(ImageExtractor):
    family, model_class, tokens = "vit", "ViTModel", "the CLS token"


class Dinov2Extractor(ImageExtractor):
    family, model_class, tokens = "dinov2", "Dinov2Model", "the CLS token"


class CLIPVisionExtractor(ImageExtractor):
    family, model_class, tokens = "clip_vision_model", "CLIPVisionModel", "the CLS token (before post_layernorm)"


class ResNetExtractor(ImageExtractor):
    family, model_class = "resnet", "ResNetModel"
    tokens = "the feature map averaged over space (mean) or its maximum (max)"

    @property
    def n_layers(self) -> int:
        return len(self.net.config.depths)

    @property
    def image_size(self) -> int:
        size = getattr(self.processor, "crop_size", None) or getattr(self.processor, "size", {})
        return int(size.get("height") or size.get("shortest_edge") or 224)

    def now(self, hidden, pool: str):
        flat = hidden.float().flatten(2)                # (batch, channels, positions)
        return flat.amax(dim=2) if pool == "max" else flat.mean(dim=2)
