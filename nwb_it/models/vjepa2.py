"""V-JEPA 2 (its encoder): windows of ``frames_per_clip``; "now" = the last tubelet's patch tokens.

No CLS token; tubelets time-major, ``(crop_size / patch_size)**2`` tokens each. Its
video processor needs torchvision, which nwb_it avoids: frames (already resized to
``crop_size``) are rescaled and normalized with the mean and std the checkpoint's
``video_preprocessor_config.json`` (or ``preprocessor_config.json``) gives.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from ..core.errors import NwbItError
from .base import FeatureExtractor, pool_tokens

CONFIG_FILES = ("video_preprocessor_config.json", "preprocessor_config.json")


class FrameNormalizer:
    """Per-frame rescale and normalize, as the checkpoint's preprocessor config says."""

    def __init__(self, image_mean, image_std, rescale_factor: float = 1 / 255):
        self.image_mean, self.image_std, self.rescale_factor = list(image_mean), list(image_std), rescale_factor

    @classmethod
    def from_pretrained(cls, folder, **_) -> FrameNormalizer:
        for name in CONFIG_FILES:
            path = Path(folder) / name
            if path.is_file():
                cfg = json.loads(path.read_text())
                return cls(cfg["image_mean"], cfg["image_std"], cfg.get("rescale_factor", 1 / 255))
        raise NwbItError(f"no {' or '.join(CONFIG_FILES)} with image_mean/image_std in the model folder", folder)

    def __call__(self, images, return_tensors="pt"):
        import torch

        x = np.stack([np.asarray(img, dtype=np.float32) for img in images]) * self.rescale_factor
        x = (x - np.asarray(self.image_mean, np.float32)) / np.asarray(self.image_std, np.float32)
        return {"pixel_values": torch.from_numpy(x.transpose(0, 3, 1, 2))[None]}

    def save_pretrained(self, folder) -> None:
        Path(folder, CONFIG_FILES[0]).write_text(json.dumps(
            {"image_mean": self.image_mean, "image_std": self.image_std, "rescale_factor": self.rescale_factor}))


class VJEPA2Extractor(FeatureExtractor):
    family = "vjepa2"
    frames_key, size_key = "frames_per_clip", "crop_size"
    model_class, processor_class, ignore_missing = "VJEPA2Model", FrameNormalizer, ("predictor",)
    tokens = "the last tubelet's patch tokens (no CLS; the last (crop_size/patch_size)^2 tokens)"

    def run(self, windows, want_hidden: bool):
        return self.net(pixel_values_videos=windows.to(device=self.device, dtype=self.dtype),
                        output_hidden_states=want_hidden, skip_predictor=True)

    def now(self, hidden, pool: str):
        n = (self.image_size // self.net.config.patch_size) ** 2
        return pool_tokens(hidden[:, -n:], pool)
