"""Representational similarity analysis of IT responses and model activations over clips.

Neural RDM: 1 - Pearson between the population's mean responses in a response window;
model RDM: 1 - Pearson between activations averaged over each clip's windows;
Spearman rho between their upper triangles; ceiling: Spearman between RDMs of two
halves of the repeats, Spearman-Brown corrected.
"""
from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from ..core.numeric import nan_quiet
from ..core.params import CompareParams
from ..core.results import Activations, AlignedCounts, RSAResult
from .encoding import half_means, layer_values
from .stats import spearman_brown


def rdm(x: np.ndarray) -> np.ndarray:
    """Representational dissimilarity matrix of the rows of ``x``: 1 - Pearson r."""
    return 1.0 - np.corrcoef(x)


def rsa(aligned: AlignedCounts, acts: Activations, params: CompareParams = CompareParams()) -> RSAResult:
    """Neural vs model RDM over the clips both have, with a split-half neural ceiling."""
    values = layer_values(acts, params.layer)
    act_clip = acts.window_stimulus_index
    keep = np.isin(aligned.clip_index, act_clip) & (aligned.mask.sum(1) >= 2)
    clips = aligned.clip_index[keep]
    centres = aligned.bin_centres
    in_resp = (centres >= params.response_window[0]) & (centres < params.response_window[1])
    with nan_quiet():
        neural = np.nanmean(aligned.mean_rates()[:, keep][:, :, in_resp], axis=2).T        # (clips, units)
    model = np.stack([values[act_clip == c].mean(0) for c in clips])
    iu = np.triu_indices(clips.size, 1)
    n_rdm, m_rdm = rdm(neural), rdm(model)
    rho = spearmanr(n_rdm[iu], m_rdm[iu]).statistic
    rng = np.random.default_rng([params.seed, 98])
    halves = []
    for _ in range(10):
        ma, mb = half_means(aligned, keep, rng)
        ra, rb = rdm(ma[:, :, in_resp].mean(2).T), rdm(mb[:, :, in_resp].mean(2).T)
        halves.append(spearman_brown(spearmanr(ra[iu], rb[iu]).statistic))
    with nan_quiet():
        ceiling = float(np.nanmean(halves))
    return RSAResult(rho=float(rho), ceiling=ceiling, neural_rdm=n_rdm, model_rdm=m_rdm,
                     clip_names=[n for n, k in zip(aligned.clip_names, keep) if k])
