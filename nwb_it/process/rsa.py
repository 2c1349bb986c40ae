"""Representational similarity analysis of IT responses and model activations over clips (on rsatoolbox).

Neural RDM (``rsa_distance``):

* ``crossnobis`` (default): rsatoolbox's cross-validated distance with identity noise
  (cross-validated squared Euclidean) between clips' rate patterns in the response
  window, the two folds being two random halves of each clip's repeats, averaged over
  halvings. Noise is independent between the halves, so it adds no bias to any distance
  however many repeats a clip has (1 - Pearson of repeat means does: clips with fewer
  repeats look more distinct);
* ``poisson``: rsatoolbox's cross-validated symmetrised KL divergence for Poisson counts;
* ``correlation``: the old 1 - Pearson of repeat means, biased by unequal repeats.

Model RDM, of each clip's activations averaged over its windows in the response window
(``rsa_windows="all"``: all of them): squared Euclidean per feature beside a
cross-validated neural RDM (the distance crossnobis estimates), 1 - Pearson beside
``correlation``. ``rho``: Spearman between the
upper triangles. Ceiling, measured where it can be measured: two disjoint halves of the
repeats give two RDMs (each cross-validated within its half, so over clips with at least 4
repeats) that agree at ρ_AB; a perfect model's expected ρ with one half RDM is
``sqrt(ρ_AB)`` (the ``ceiling``), and the model's own mean ρ with the half RDMs
(``rho_halves``) over it is the normalized score; rsatoolbox's ``boot_noise_ceiling`` gives
the lower/upper bounds on the same half RDMs. (Scaling ρ_AB up to the full data with
Spearman-Brown does not hold for cross-validated distances, whose noise has a product term.)
Intervals: clips
resampled with replacement (pairs of a clip with itself left out, ranks of the full
data kept); p-value: clip labels of the model RDM permuted.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..core.numeric import nan_quiet
from ..core.params import CompareParams
from ..core.recording import AlignedCounts
from ..core.results import Activations, RSAResult
from .encoding import layer_values
from .splits import half_means, presentation_ranks_in_clip
from .stats import pearson_from_moments

N_SPLITS = 10
BLOCK = 100          # resamples/permutations gathered at once: memory ~ BLOCK x clip pairs, whatever their number
#: rsatoolbox's method for each cross-validated ``rsa_distance``.
RSATOOLBOX_METHODS = {"crossnobis": "crossnobis", "poisson": "poisson_cv"}


def rdm(x: np.ndarray) -> np.ndarray:
    """Representational dissimilarity matrix of the rows of ``x``: 1 - Pearson r."""
    return 1.0 - np.corrcoef(x)


def euclidean_rdm(x: np.ndarray) -> np.ndarray:
    """Squared Euclidean distance of the rows of ``x`` per feature (what crossnobis estimates without noise)."""
    sq = (x * x).sum(1)
    return np.maximum(sq[:, None] + sq[None, :] - 2 * x @ x.T, 0) / x.shape[1]


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


def cv_rdm(patterns: np.ndarray, clip: np.ndarray, fold: np.ndarray, n_clips: int, distance: str) -> np.ndarray:
    """rsatoolbox's cross-validated RDM (n_clips x n_clips) of presentation ``patterns`` (presentations, units)."""
    from rsatoolbox.data import Dataset  # heavy: only when RSA runs
    from rsatoolbox.rdm import calc_rdm

    ds = Dataset(patterns, obs_descriptors={"clip": clip, "fold": fold})
    with nan_quiet():                    # rsatoolbox casts its NaN-filled pattern buffers: nothing to report
        rdms = calc_rdm(ds, method=RSATOOLBOX_METHODS[distance], descriptor="clip", cv_descriptor="fold")
    order = np.asarray(rdms.pattern_descriptors["clip"], dtype=np.int64)
    out = np.full((n_clips, n_clips), np.nan)
    out[np.ix_(order, order)] = rdms.get_matrices()[0]
    return out


def _halves(ranks: np.ndarray, n_in_clip: np.ndarray) -> np.ndarray:
    """Half (0/1) of every presentation from its random rank within its clip."""
    return (ranks >= n_in_clip // 2).astype(np.int64)


def _response_patterns(aligned: AlignedCounts, in_resp: np.ndarray) -> np.ndarray:
    """(presentations, units): each presentation's rate in the response window (spikes/s)."""
    width = float(np.diff(aligned.edges)[in_resp].sum())
    return aligned.presentation_counts[:, :, in_resp].sum(2).T / width


def neural_rdms(aligned: AlignedCounts, keep: np.ndarray, in_resp: np.ndarray, params: CompareParams,
                rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """The neural RDM over the kept clips and, per halving, the two disjoint halves' own RDMs."""
    kept = np.flatnonzero(keep)
    local = np.full(keep.size, -1)
    local[kept] = np.arange(kept.size)
    sel = keep[aligned.clip_of]
    clip, patterns = local[aligned.clip_of[sel]], _response_patterns(aligned, in_resp)[sel]
    if params.rsa_distance == "poisson":
        patterns = patterns * float(np.diff(aligned.edges)[in_resp].sum())   # back to counts
    elif params.rsa_zscore:                       # each unit scaled by its sd across clip means
        means = np.stack([patterns[clip == c].mean(0) for c in range(kept.size)])
        sd = means.std(0)
        patterns = patterns / np.where(sd > 0, sd, 1.0)
    n = np.bincount(clip, minlength=kept.size)
    full, halves = [], []
    for _ in range(N_SPLITS):
        rank = presentation_ranks_in_clip(clip, rng)
        half = _halves(rank, n[clip])
        full.append(cv_rdm(patterns, clip, half, kept.size, params.rsa_distance))
        quarter = rank % 2                                                  # two folds inside each half
        enough = n[clip] >= 4
        pair = tuple(cv_rdm(patterns[(half == h) & enough], clip[(half == h) & enough],
                            quarter[(half == h) & enough], kept.size, params.rsa_distance) for h in (0, 1))
        halves.append(pair)
    return np.mean(full, 0), halves


def _ranks(values: np.ndarray) -> np.ndarray:
    from scipy.stats import rankdata  # heavy-ish: scipy.stats only when RSA runs

    return rankdata(values)


def _weighted_pearson(a: np.ndarray, b: np.ndarray, pairs: tuple[np.ndarray, np.ndarray], counts: np.ndarray,
                      n: int) -> np.ndarray:
    """Pearson r of ``a`` and ``b`` (one value per clip pair ``(i, j)``, i < j) under each resample's pair weights
    ``counts[:, i] * counts[:, j]`` (counts: resamples x clips).

    Every weighted sum over pairs is a quadratic form, ``sum_{i<j} c_i c_j v_ij = c' V c / 2`` with ``V`` the
    symmetric clips x clips matrix of the pairs' values (0 on the diagonal and for pairs left out): a
    (resamples x clips) @ (clips x clips) product instead of gathering resamples x pairs weights (~20x faster).
    """
    i, j = pairs

    def weighted_sum(values: np.ndarray) -> np.ndarray:
        v = np.zeros((n, n))
        v[i, j] = values
        v[j, i] = values
        return np.einsum("bk,bk->b", counts @ v, counts) / 2

    w = weighted_sum(np.ones(i.size))
    with nan_quiet():                      # no pair left (too few clips): NaN
        ma, mb = weighted_sum(a) / w, weighted_sum(b) / w
        maa, mbb = weighted_sum(a * a) / w, weighted_sum(b * b) / w
        return pearson_from_moments(weighted_sum(a * b) / w - ma * mb, maa - ma ** 2, mbb - mb ** 2, maa, mbb)


def bootstrap_rho(x: np.ndarray, y: np.ndarray, n_boot: int, seed: int) -> np.ndarray:
    """ρ of two RDMs' upper triangles with clips resampled (pairs of a clip with itself left out): (n_boot,)."""
    n = x.shape[0]
    iu = np.triu_indices(n, 1)
    ok = np.isfinite(x[iu]) & np.isfinite(y[iu])
    i, j = iu[0][ok], iu[1][ok]
    rx, ry = _ranks(x[i, j]), _ranks(y[i, j])
    counts = np.random.default_rng([seed, 95]).multinomial(n, np.full(n, 1 / n), size=n_boot).astype(float)
    return _weighted_pearson(rx, ry, (i, j), counts, n)


def rdm_permutation_p(neural: np.ndarray, model: np.ndarray, rho: float, n_perm: int, seed: int) -> float:
    """(1 + #permutations with ρ >= observed) / (1 + n_perm), clip labels of the model RDM permuted.

    NaN when ρ or either RDM is not finite: no statistic, no p (it read as the most significant p before).
    """
    n = neural.shape[0]
    iu_all = np.triu_indices(n, 1)
    if not np.isfinite(rho) or not np.all(np.isfinite(neural[iu_all])) or not np.all(np.isfinite(model[iu_all])):
        return float("nan")
    iu = np.triu_indices(n, 1)
    rn = _ranks(neural[iu])
    full = np.zeros((n, n))
    full[iu] = _ranks(model[iu])
    full = full + full.T
    rn = (rn - rn.mean()) / rn.std()
    mean, sd = full[iu].mean(), full[iu].std()
    rng = np.random.default_rng([seed, 94])
    perms = np.stack([rng.permutation(n) for _ in range(n_perm)])
    null = np.concatenate([((full[p[:, iu[0]], p[:, iu[1]]] - mean) / sd) @ rn / rn.size   # permutations x pairs
                           for p in np.array_split(perms, max(1, n_perm // BLOCK))])
    return float((1 + np.sum(null >= rho - 1e-12)) / (1 + n_perm))


def _interval(estimate: float, values: np.ndarray) -> tuple[float, float]:
    """95 % bootstrap interval of ``estimate`` from resampled ``values``, centred on the estimate: the percentiles'
    distances from the resamples' median, around the estimate. Resampling clips repeats some and drops their
    pairs with themselves, which shifts a resampled ρ below the data's (the plain percentile interval of the RSA
    ceiling held its own estimate in 75 % of replicates; centred, in every one)."""
    with nan_quiet():
        low, mid, high = np.nanpercentile(values, [2.5, 50, 97.5])
    return float(estimate + low - mid), float(estimate + high - mid)


@dataclass(frozen=True)
class NeuralRDMs:
    """The neural side of the RSA, the same for every layer compared: the clips kept, the neural RDM, the
    half-repeat RDMs and the ceiling measured on them (:func:`neural_side`)."""

    keep: np.ndarray
    rdm: np.ndarray
    halves: list[tuple[np.ndarray, np.ndarray]]
    ceiling: float
    ceiling_lower: float
    ceiling_upper: float
    ceiling_ci: tuple[float, float]
    ceiling_note: str = ""


def neural_side(aligned: AlignedCounts, acts: Activations, params: CompareParams = CompareParams()) -> NeuralRDMs:
    """Neural RDM and ceiling over the clips the activations have (computed once for all layers of a table)."""
    from rsatoolbox.inference import boot_noise_ceiling  # heavy: only when RSA runs
    from rsatoolbox.rdm import RDMs

    keep = np.isin(aligned.clip_index, acts.window_stimulus_index) & (aligned.mask.sum(1) >= 2)
    centres = aligned.bin_centres
    in_resp = (centres >= params.response_window[0]) & (centres < params.response_window[1])
    rng = np.random.default_rng([params.seed, 98])
    if params.rsa_distance == "correlation":
        n_rdm, halves = _correlation_rdms(aligned, keep, in_resp, params, rng)
    else:
        n_rdm, halves = neural_rdms(aligned, keep, in_resp, params, rng)
    iu = np.triu_indices(int(keep.sum()), 1)
    between, lows, highs, boot = [], [], [], []
    for a, b in halves:
        ok = np.isfinite(a[iu]) & np.isfinite(b[iu])
        between.append(_spearman(a[iu][ok], b[iu][ok]))
        boot.append(bootstrap_rho(a, b, params.n_boot, params.seed))     # the same clip resamples for every halving
        with nan_quiet():
            bounds = boot_noise_ceiling(RDMs(np.stack([a[iu][ok], b[iu][ok]])), method="spearman")
        lows.append(bounds[0])
        highs.append(bounds[1])
    with nan_quiet():
        agreement = float(np.nanmean(between))
        low, high = _interval(agreement, np.nanmean(np.stack(boot), 0))  # of the mean over halvings, per resample
        lower, upper = float(np.nanmean(lows)), float(np.nanmean(highs))
    ceiling, note = ceiling_of(agreement, low)
    if note:
        warnings.warn(f"RSA: {note}", stacklevel=2)
    ceiling_ci = (float(np.sqrt(max(low, 0.0))), float(np.sqrt(max(high, 0.0)))) if np.isfinite(low) else \
        (np.nan, np.nan)
    return NeuralRDMs(keep=keep, rdm=n_rdm, halves=halves, ceiling=ceiling, ceiling_lower=lower,
                      ceiling_upper=upper, ceiling_ci=ceiling_ci, ceiling_note=note)


def ceiling_of(agreement: float, agreement_low: float) -> tuple[float, str]:
    """The RSA ceiling ``sqrt(mean ρ_AB)`` (a perfect model's ρ with one half's RDM), or NaN and why: no ceiling
    where the two halves' agreement is not reliably above 0 (its 95 % interval over clips reaches 0) — a chance
    ρ_AB of 0.01 would make a chance model ρ of 0.05 read as "half the ceiling".

    Examples
    --------
    >>> ceiling_of(0.25, 0.1)
    (0.5, '')
    >>> ceiling_of(0.04, -0.02)[1][:40]
    'the halves of the repeats give RDMs that'
    """
    if not np.isfinite(agreement) or not np.isfinite(agreement_low) or agreement_low <= 0 or agreement <= 0:
        return np.nan, (f"the halves of the repeats give RDMs that do not agree reliably (mean rho {agreement:.3f}, "
                        f"its 95 % interval reaching {agreement_low:.3f}): no ceiling, so no normalized rho")
    return float(np.sqrt(agreement)), ""


def rsa(aligned: AlignedCounts, acts: Activations, params: CompareParams = CompareParams(),
        neural: NeuralRDMs | None = None) -> RSAResult:
    """Neural vs model RDM over the clips both have, with a noise ceiling on the ρ scale, intervals and a p.

    ``neural``: :func:`neural_side` of the same session, activations table and parameters (reused across
    layers); computed here when not given.
    """
    neural = neural_side(aligned, acts, params) if neural is None else neural
    clips = aligned.clip_index[neural.keep]
    iu = np.triu_indices(clips.size, 1)
    patterns = model_patterns(acts, clips, params)
    m_rdm = rdm(patterns) if params.rsa_distance == "correlation" else euclidean_rdm(patterns)
    n_rdm = neural.rdm
    rho = float(_spearman(n_rdm[iu], m_rdm[iu]))
    if not np.isfinite(rho):
        bad = "the neural RDM" if not np.all(np.isfinite(n_rdm[iu])) else "the model RDM"
        warnings.warn(f"RSA: rho is NaN ({bad} is not finite or constant over {clips.size} clips; is the response "
                      f"window {params.response_window} empty of spikes?): its p-value is NaN", stacklevel=2)
    model_vs_half = []
    for a, b in neural.halves:
        ok = np.isfinite(a[iu]) & np.isfinite(b[iu])
        model_vs_half.append((_spearman(a[iu][ok], m_rdm[iu][ok]) + _spearman(b[iu][ok], m_rdm[iu][ok])) / 2)
    with nan_quiet():
        rho_halves = float(np.nanmean(model_vs_half))
    return RSAResult(rho=rho, ceiling=neural.ceiling, neural_rdm=n_rdm, model_rdm=m_rdm,
                     ceiling_lower=neural.ceiling_lower, ceiling_upper=neural.ceiling_upper, rho_halves=rho_halves,
                     clip_names=[n for n, k in zip(aligned.clip_names, neural.keep) if k],
                     rho_ci=_interval(rho, bootstrap_rho(n_rdm, m_rdm, params.n_boot, params.seed)),
                     ceiling_ci=neural.ceiling_ci,
                     p_value=rdm_permutation_p(n_rdm, m_rdm, rho, params.n_perm_rsa, params.seed),
                     distance=params.rsa_distance, ceiling_note=neural.ceiling_note)


def _spearman(a: np.ndarray, b: np.ndarray) -> float:
    with nan_quiet():
        return float(np.corrcoef(_ranks(a), _ranks(b))[0, 1])


def _population(rates: np.ndarray, zscore: bool) -> np.ndarray:
    """(units, clips) -> (clips, units), each unit z-scored across clips when asked."""
    x = rates.T
    if zscore:
        with nan_quiet():
            x = (x - x.mean(0)) / x.std(0)
        x = np.nan_to_num(x)
    return x


def _correlation_rdms(aligned: AlignedCounts, keep: np.ndarray, in_resp: np.ndarray, params: CompareParams,
                      rng: np.random.Generator) -> tuple[np.ndarray, list[tuple[np.ndarray, np.ndarray]]]:
    """The old neural RDMs: 1 - Pearson of repeat means (full data; two random halves per split)."""
    z = params.rsa_zscore
    with nan_quiet():
        full = rdm(_population(np.nanmean(aligned.mean_rates()[:, keep][:, :, in_resp], axis=2), z))
    halves = []
    for _ in range(N_SPLITS):
        ma, mb = half_means(aligned, keep, rng)
        halves.append((rdm(_population(ma[:, :, in_resp].mean(2), z)), rdm(_population(mb[:, :, in_resp].mean(2), z))))
    return full, halves
