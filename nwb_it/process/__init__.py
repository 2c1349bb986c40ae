"""Pure analyses: numpy/scipy/Elephant/neo in, arrays and result objects out.

Nothing here reads or writes a file, imports pynwb/hdmf/h5py or draws: the
``steps`` runners read an NWB file through ``nwb``, call these, and write back.
"""
from .banded import banded_ridge_cv_predict, variance_partition
from .binning import bin_aligned, nested_spikes
from .brainscore import cross_regressed_correlation, reliability_ceiling, splithalf_reliability
from .ceilings import Ceilings, clip_ceilings
from .encoding import clip_folds, encoding_model, onset_only
from .lab_reliability import lab_reliability
from .rates import normalize, population_rates
from .reliability import agreement, permutation_p, reliability
from .ridge import ridge_cv_predict
from .rsa import rdm, rsa
from .scores import bin_scores, pooled_r, score_intervals
from .selection import select_units
from .splits import draw_keys, presentation_ranks, split_half_r, split_half_r_by_presentation, split_positions
from .stats import benjamini_hochberg, group_means, group_sums, pca, pearson_columns, spearman_brown

__all__ = [
    "agreement", "banded_ridge_cv_predict", "benjamini_hochberg", "bin_aligned", "bin_scores", "Ceilings",
    "clip_ceilings", "clip_folds", "cross_regressed_correlation", "draw_keys", "encoding_model", "group_means",
    "group_sums", "lab_reliability", "nested_spikes", "normalize", "onset_only", "pca", "pearson_columns",
    "permutation_p", "pooled_r", "population_rates", "presentation_ranks", "rdm", "reliability",
    "reliability_ceiling", "ridge_cv_predict", "rsa", "score_intervals", "select_units", "spearman_brown",
    "split_half_r", "split_half_r_by_presentation", "split_positions", "splithalf_reliability", "variance_partition"
]
