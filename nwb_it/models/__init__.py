"""Feature extractors: model activations of the clips' sliding windows (extra ``model``: torch, transformers).

:class:`~nwb_it.models.base.FeatureExtractor` is the plug-in point for a model family;
:class:`~nwb_it.models.videomae.VideoMAEExtractor` the first family; :func:`~nwb_it.models.windows.extract`
runs any of them over grey-padded sliding windows.
"""
from .base import FeatureExtractor
from .cache import cached_extract, check_cache_dir
from .frames import Clip, discover_clips
from .registry import FAMILIES, family_of, load_extractor
from .windows import extract

__all__ = ["FAMILIES", "Clip", "FeatureExtractor", "cached_extract", "check_cache_dir", "discover_clips", "extract",
           "family_of", "load_extractor"]
