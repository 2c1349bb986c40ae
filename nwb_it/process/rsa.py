"""Representational similarity analysis of IT responses and model activations over clips.

Neural RDM: 1 - Pearson between the population's mean rates in the response window
(optionally with each unit z-scored across clips); model RDM: 1 - Pearson between each
clip's activations averaged over its windows in the same response window (by default;
``rsa_windows="all"`` averages all of a clip's windows). ``rho``: Spearman between
their upper triangles.

Ceiling, on the same ρ scale: RDMs of two random halves of the repeats agree at ρ_AB;
the full-data RDM's reliability is SB(ρ_AB), and a perfect model's expected ρ with it
is ``sqrt(SB(ρ_AB))`` (mean over 10 splits), so ``rho / ceiling`` is ~1 for a perfect
model. rsatoolbox-style bounds at the half level are kept beside it: lower = ρ(A, B),
upper = mean of ρ(A, mean RDM) and ρ(B, mean RDM).
"""
from __future__ import annotations

import numpy as np
from scipy.stats import spearmanr

from ..core.numeric import nan_quiet
from ..core.params import CompareParams
from ..core.results import Activations, AlignedCounts, RSAResult
from .encoding import layer_values
from .splits import half_means
from .stats import spearman_brown

N_SPLITS = 10


def rdm(x: np.ndarray) -> np.ndarray:
    """Representational dissimilarity matrix of the rows of ``x``: 1 - Pearson r."""
    return 1.0 - np.corrcoef(x)


def _population(rates: np.ndarray, zscore: bool) -> np.ndarray:
    """(units, clips) -> (clips, units), each unit z-scored across clips when asked."""
    x = rates.T
    if zscore:
        with nan_quiet():
            x = (x - x.mean(0)) / x.std(0)
        x = np.nan_to_num(x)
    return x


def model_patterns(acts: Activations, clips: np.ndarray, params: CompareParams) -> np.ndarray:
    """(clips, hidden): each clip's activations averaged over its windows in the response window (or all)."""
    values = layer_values(acts, params.layer)
    act_clip, time = acts.window_stimulus_index, acts.time + params.time_offset
    lo, hi = params.response_window
    inside = (time >= lo) & (time < hi) if params.rsa_windows == "response" else np.ones(time.size, dtype=bool)
    out = []
    for c in clips:
        rows = act_clip == c
        chosen = rows & inside if (rows & inside).any() else rows       # a clip too short for the window
        out.append(values[chosen].mean(0))
    return np.stack(out)


def rsa(aligned: AlignedCounts, acts: Activations, params: CompareParams = CompareParams()) -> RSAResult:
    """Neural vs model RDM over the clips both have, with a noise ceiling on the ρ scale."""
    keep = np.isin(aligned.clip_index, acts.window_stimulus_index) & (aligned.mask.sum(1) >= 2)
    clips = aligned.clip_index[keep]
    centres = aligned.bin_centres
    in_resp = (centres >= params.response_window[0]) & (centres < params.response_window[1])
    with nan_quiet():
        neural = _population(np.nanmean(aligned.mean_rates()[:, keep][:, :, in_resp], axis=2), params.rsa_zscore)
    iu = np.triu_indices(clips.size, 1)
    n_rdm, m_rdm = rdm(neural), rdm(model_patterns(acts, clips, params))
    rho = spearmanr(n_rdm[iu], m_rdm[iu]).statistic
    rng = np.random.default_rng([params.seed, 98])
    between, upper = [], []
    for _ in range(N_SPLITS):
        ma, mb = half_means(aligned, keep, rng)
        ra = rdm(_population(ma[:, :, in_resp].mean(2), params.rsa_zscore))[iu]
        rb = rdm(_population(mb[:, :, in_resp].mean(2), params.rsa_zscore))[iu]
        mean = (ra + rb) / 2
        between.append(spearmanr(ra, rb).statistic)
        upper.append((spearmanr(ra, mean).statistic + spearmanr(rb, mean).statistic) / 2)
    with nan_quiet():
        lower = float(np.nanmean(between))
        ceiling = float(np.sqrt(spearman_brown(lower))) if lower > 0 else np.nan
        return RSAResult(rho=float(rho), ceiling=ceiling, neural_rdm=n_rdm, model_rdm=m_rdm, ceiling_lower=lower,
                         ceiling_upper=float(np.nanmean(upper)),
                         clip_names=[n for n, k in zip(aligned.clip_names, keep) if k])
