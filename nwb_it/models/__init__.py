"""Feature extractors: model activations of the clips' sliding windows (extra ``model``: torch, transformers).

:class:`~nwb_it.models.base.FeatureExtractor` is the plug-in point for a model family;
:class:`~nwb_it.models.videomae.VideoMAEExtractor` the first family; :func:`~nwb_it.models.windows.extract`
runs any of them over grey-padded sliding windows. Names are imported on first use (:mod:`nwb_it.core.lazy`).
"""
from __future__ import annotations

from ..core.lazy import lazy_attributes

_LAZY = {"FeatureExtractor": ".base", "cached_extract": ".cache", "check_cache_dir": ".cache", "Clip": ".frames",
         "discover_clips": ".frames", "FAMILIES": ".registry", "family_of": ".registry",
         "load_extractor": ".registry", "extract": ".windows"}
__getattr__, __dir__ = lazy_attributes(__name__, _LAZY)

__all__ = sorted(_LAZY)
