"""Feature extractors: model activations of the clips' sliding windows (extra ``model``: torch, transformers).

:class:`~nwb_it.models.base.FeatureExtractor` is the plug-in point for a model family;
:class:`~nwb_it.models.videomae.VideoMAEExtractor` the first family; :func:`~nwb_it.models.windows.extract`
runs any of them over grey-padded sliding windows.
"""
