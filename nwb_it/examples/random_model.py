"""Randomly initialised VideoMAE checkpoints saved to a local folder (tests, demo, benchmarks).

No weights can be downloaded at run time; these folders load through exactly the same
``from_pretrained`` path as real checkpoints.
"""
from __future__ import annotations

from pathlib import Path

IMAGENET_MEAN = [0.485, 0.456, 0.406]
IMAGENET_STD = [0.229, 0.224, 0.225]
TINY = dict(image_size=32, patch_size=8, num_frames=4, tubelet_size=2, hidden_size=32, num_hidden_layers=2,
            num_attention_heads=2, intermediate_size=64)


def save_random_videomae(folder: str | Path, seed: int = 0, **config) -> Path:
    """Save a random ``VideoMAEModel`` (default: the tiny TINY sizes) with an ImageNet-normalising processor.

    ``save_random_videomae(d, **{})`` with ``config=VideoMAEConfig()`` sizes gives the
    videomae-base architecture. Returns the folder.

    Examples
    --------
    >>> import tempfile
    >>> from nwb_it.examples.random_model import save_random_videomae
    >>> folder = save_random_videomae(tempfile.mkdtemp())
    >>> (folder / "config.json").is_file()
    True
    """
    import torch

    from ..models.base import quiet_transformers

    with quiet_transformers():       # the import itself notes the PIL fallback
        from transformers import VideoMAEConfig, VideoMAEImageProcessor, VideoMAEModel

    folder = Path(folder)
    sizes = {**TINY, **config} if config.get("base") is not True else {}
    sizes.pop("base", None)
    cfg = VideoMAEConfig(use_mean_pooling=False, **sizes)
    torch.manual_seed(seed)
    side = cfg.image_size
    with quiet_transformers():
        VideoMAEModel(cfg).eval().save_pretrained(folder)
        VideoMAEImageProcessor(size={"shortest_edge": side}, crop_size={"height": side, "width": side},
                               image_mean=IMAGENET_MEAN, image_std=IMAGENET_STD).save_pretrained(folder)
    return folder
