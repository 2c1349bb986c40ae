"""Randomly initialised checkpoints of every supported family, saved to a local folder (tests, demo, benchmarks).

No weights can be downloaded at run time; these folders load through exactly the same
``from_pretrained`` path as real checkpoints.
"""
from __future__ import annotations

from pathlib import Path

from ..models.base import pil_processor, quiet_transformers
from ..models.vjepa2 import FrameNormalizer

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
TINY = dict(image_size=32, patch_size=8, num_frames=4, tubelet_size=2, hidden_size=32, num_hidden_layers=2,
            num_attention_heads=2, intermediate_size=64)
SIDE = 32
TRANSFORMER = dict(hidden_size=32, num_hidden_layers=2, num_attention_heads=2)


def save_random_videomae(folder: str | Path, seed: int = 0, **config) -> Path:
    """Save a random ``VideoMAEModel`` (default: the tiny TINY sizes) with an ImageNet-normalizing processor.

    ``save_random_videomae(d, base=True)`` gives the videomae-base architecture. Returns the folder.

    Examples
    --------
    >>> import tempfile
    >>> from nwb_it.examples.random_model import save_random_videomae
    >>> folder = save_random_videomae(tempfile.mkdtemp())
    >>> (folder / "config.json").is_file()
    True
    """

    with quiet_transformers():       # the import itself notes the PIL fallback
        from transformers import VideoMAEConfig, VideoMAEModel

    sizes = {**TINY, **config} if config.get("base") is not True else {}
    sizes.pop("base", None)
    cfg = VideoMAEConfig(use_mean_pooling=False, **sizes)
    side = cfg.image_size
    processor = pil_processor("VideoMAEImageProcessor")(size={"shortest_edge": side},
                                                        crop_size={"height": side, "width": side},
                                                        image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD)
    return _save(folder, lambda: VideoMAEModel(cfg), processor, seed)


def _save(folder, make_net, processor, seed: int) -> Path:
    """Seed, then build the model (its random weights depend on the seed alone), then save it with its processor."""
    import torch


    folder = Path(folder)
    with torch.random.fork_rng(devices=[]):       # seeded for this model only: the caller's RNG state is kept
        torch.manual_seed(seed)
        net = make_net()
    with quiet_transformers():
        net.eval().save_pretrained(folder)
        processor.save_pretrained(folder)
    return folder


def save_random_model(folder: str | Path, family: str, seed: int = 0) -> Path:
    """A tiny random checkpoint of ``family`` (any of ``nwb_it.models.registry.FAMILIES``), 32 px frames.

    Examples
    --------
    >>> import tempfile
    >>> folder = save_random_model(tempfile.mkdtemp(), "dinov2")
    >>> (folder / "config.json").is_file()
    True
    """

    with quiet_transformers():
        import transformers as t
    vit_processor, videomae_processor = pil_processor("ViTImageProcessor"), pil_processor("VideoMAEImageProcessor")
    square = {"height": SIDE, "width": SIDE}
    plain = dict(size=square, image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD)
    if family == "videomae":
        return save_random_videomae(folder, seed)
    if family == "timesformer":
        cfg = t.TimesformerConfig(image_size=SIDE, patch_size=8, num_frames=4, intermediate_size=64, **TRANSFORMER)
        proc = videomae_processor(size={"shortest_edge": SIDE}, crop_size=square, image_mean=IMAGENET_MEAN,
                                        image_std=IMAGENET_STD)
        return _save(folder, lambda: t.TimesformerModel(cfg), proc, seed)
    if family == "vivit":
        cfg = t.VivitConfig(image_size=SIDE, num_frames=4, tubelet_size=[2, 8, 8], intermediate_size=64, **TRANSFORMER)
        proc = pil_processor("VivitImageProcessor")(size={"shortest_edge": SIDE}, crop_size=square)
        return _save(folder, lambda: t.VivitModel(cfg), proc, seed)
    if family == "vjepa2":

        cfg = t.VJEPA2Config(crop_size=SIDE, patch_size=8, frames_per_clip=4, tubelet_size=2, mlp_ratio=2,
                             pred_hidden_size=16, pred_num_hidden_layers=1, pred_num_attention_heads=2, **TRANSFORMER)
        return _save(folder, lambda: t.VJEPA2Model(cfg), FrameNormalizer(IMAGENET_MEAN, IMAGENET_STD), seed)
    if family == "vit":
        cfg = t.ViTConfig(image_size=SIDE, patch_size=8, intermediate_size=64, **TRANSFORMER)
        return _save(folder, lambda: t.ViTModel(cfg, add_pooling_layer=False), vit_processor(**plain),
                     seed)
    if family == "dinov2":
        cfg = t.Dinov2Config(image_size=SIDE, patch_size=8, mlp_ratio=2, **TRANSFORMER)
        return _save(folder, lambda: t.Dinov2Model(cfg), vit_processor(**plain), seed)
    if family in ("clip_vision_model", "clip"):
        cfg = t.CLIPVisionConfig(image_size=SIDE, patch_size=8, intermediate_size=64, **TRANSFORMER)
        return _save(folder, lambda: t.CLIPVisionModel(cfg), vit_processor(**plain), seed)
    if family == "resnet":
        cfg = t.ResNetConfig(embedding_size=8, hidden_sizes=[8, 16], depths=[1, 1], layer_type="basic")
        return _save(folder, lambda: t.ResNetModel(cfg), vit_processor(**plain), seed)
    raise ValueError(f"no tiny configuration for family {family!r}")
