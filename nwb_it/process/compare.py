"""The ``compare`` step: VideoMAE activations vs IT responses on the same clock.

Encoding model, per unit: predict the repeat-averaged PSTH (clip x bin, spikes/s)
from the activations of the windows preceding each bin. For a bin centred at ``t``
and each lag ``L`` the feature is the activation of the latest window whose last
frame began at or before ``t - L`` (window times from the activations table); the
activations are reduced by PCA fitted on the training clips only, the lags
concatenated, and a ridge regression fitted with its penalty chosen per unit by
inner cross-validation over training clips. Outer folds split by clip, never by
bins of one clip. Score: Pearson r between the held-out predictions and the PSTH;
noise ceiling: Spearman-Brown corrected split-half reliability of the PSTH
(``2 r_half / (1 + r_half)``, mean over random splits); normalised score
``r**2 / ceiling`` (the ceiling is on the r**2 scale: Brain-Score's 2026 convention).

RSA: neural RDM over clips (1 - Pearson between the population's mean responses in a
response window), model RDM (1 - Pearson between activations averaged over each
clip's windows); Spearman rho between their upper triangles; ceiling: Spearman between
RDMs of two halves of the repeats, Spearman-Brown corrected.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import numpy as np
from scipy.stats import spearmanr

from .aligned import AlignedCounts
from .reliability import split_positions

ALPHAS = np.logspace(-3, 5, 17)


@dataclass
class CompareParams:
    window: tuple[float, float] = (0.0, 0.40)
    bin_size: float = 0.05
    lags: tuple[float, ...] = (0.0, 0.025, 0.05, 0.075, 0.1)
    folds: int = 10
    seed: int = 0
    n_pcs: int = 20
    response_window: tuple[float, float] = (0.05, 0.30)
    layer: str = "last"
    time_offset: float = 0.0      # shifts the activations' clock (to test the alignment)

    def describe(self) -> str:
        return (f"window={self.window[0]:g}..{self.window[1]:g} s, bin={self.bin_size:g} s, "
                f"lags={','.join(f'{x:g}' for x in self.lags)} s, folds={self.folds}, seed={self.seed}, "
                f"n_pcs={self.n_pcs}, response_window={self.response_window[0]:g}..{self.response_window[1]:g} s, "
                f"layer={self.layer}, time_offset={self.time_offset:g} s")


@dataclass
class EncodingResult:
    unit_ids: np.ndarray
    r: np.ndarray                 # (units,) held-out Pearson r
    ceiling: np.ndarray           # (units,) split-half reliability (Spearman-Brown)
    alpha: np.ndarray             # (units,) ridge penalty chosen most often
    predicted: np.ndarray         # (units, clips, bins) held-out predictions
    measured: np.ndarray          # (units, clips, bins)
    fold_of_clip: np.ndarray      # (clips,) outer fold of every clip
    bin_centres: np.ndarray
    clip_names: list[str] = field(default_factory=list)

    @property
    def normalized(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"):
            return np.where(self.ceiling > 0, self.r ** 2 / self.ceiling, np.nan)


@dataclass
class RSAResult:
    rho: float
    ceiling: float
    neural_rdm: np.ndarray
    model_rdm: np.ndarray
    clip_names: list[str] = field(default_factory=list)


def window_features(act_values: np.ndarray, act_clip: np.ndarray, act_time: np.ndarray, clips: np.ndarray,
                    centres: np.ndarray, lags: tuple[float, ...]) -> np.ndarray:
    """Row index into the activations for every (clip, bin, lag): (clips, bins, lags)."""
    out = np.empty((clips.size, centres.size, len(lags)), dtype=np.int64)
    for i, c in enumerate(clips):
        rows = np.flatnonzero(act_clip == c)
        rows = rows[np.argsort(act_time[rows], kind="stable")]
        t = act_time[rows]
        for j, lag in enumerate(lags):
            out[i, :, j] = rows[np.clip(np.searchsorted(t, centres - lag, side="right") - 1, 0, rows.size - 1)]
    return out


def _pearson_cols(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    a = a - a.mean(0)
    b = b - b.mean(0)
    with np.errstate(invalid="ignore", divide="ignore"):
        return (a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0))


def _ridge_path(x_train, y_train, x_test, alphas):
    """Predictions of ridge regression for every alpha: (alphas, test rows, units). Intercept via centring."""
    mx, my = x_train.mean(0), y_train.mean(0)
    u, s, vt = np.linalg.svd(x_train - mx, full_matrices=False)
    uty = u.T @ (y_train - my)
    xt = (x_test - mx) @ vt.T
    shrink = s[None, :] / (s[None, :] ** 2 + alphas[:, None])           # (alphas, k)
    return np.einsum("tk,ak,ku->atu", xt, shrink, uty) + my


def _pca_features(values: np.ndarray, train_rows: np.ndarray, n_pcs: int) -> np.ndarray:
    mean = values[train_rows].mean(0)
    _, _, vt = np.linalg.svd(values[train_rows] - mean, full_matrices=False)
    return (values - mean) @ vt[:n_pcs].T


def clip_folds(n_clips: int, n_folds: int, seed: int) -> np.ndarray:
    """Outer fold of every clip (folds split clips, never bins of one clip)."""
    folds = min(n_folds, n_clips)
    return np.random.default_rng(seed).permutation(np.arange(n_clips) % folds)


def encoding_model(aligned: AlignedCounts, acts: dict, params: CompareParams = CompareParams()) -> EncodingResult:
    """Cross-validated ridge encoding of every unit's PSTH from lagged, PCA-reduced activations."""
    values = acts[f"activations_{params.layer}"].astype(np.float64)
    act_clip, act_time = acts["stimulus_index"], acts["time"] + params.time_offset
    keep = np.isin(aligned.clip_index, act_clip)
    clips = aligned.clip_index[keep]
    psth = aligned.mean_rates()[:, keep]                                  # (units, clips, bins)
    centres = 0.5 * (aligned.edges[:-1] + aligned.edges[1:])
    rows = window_features(values, act_clip, act_time, clips, centres, params.lags)
    n_units, n_clips, n_bins = psth.shape
    y = psth.transpose(1, 2, 0).reshape(n_clips * n_bins, n_units)
    fold = clip_folds(n_clips, params.folds, params.seed)
    predicted = np.zeros_like(y)
    chosen = np.zeros((fold.max() + 1, n_units))
    for f in range(fold.max() + 1):
        train_clips = np.flatnonzero(fold != f)
        used = np.unique(rows[train_clips])
        pcs = _pca_features(values, used, min(params.n_pcs, used.size - 1, values.shape[1]))
        x = pcs[rows].reshape(n_clips * n_bins, -1)                       # lags concatenated
        row_clip = np.repeat(np.arange(n_clips), n_bins)
        train = np.isin(row_clip, train_clips)
        inner = clip_folds(train_clips.size, 3, params.seed + 1 + f)
        inner_of_row = np.full(row_clip.size, -1)
        inner_of_row[train] = inner[np.searchsorted(train_clips, row_clip[train])]
        score = np.zeros((ALPHAS.size, n_units))
        for g in range(inner.max() + 1):
            fit, held = train & (inner_of_row != g), inner_of_row == g
            pred = _ridge_path(x[fit], y[fit], x[held], ALPHAS)
            score += np.nan_to_num(np.stack([_pearson_cols(p, y[held]) for p in pred]), nan=-1.0)
        best = score.argmax(0)
        chosen[f] = ALPHAS[best]
        test = ~train
        pred = _ridge_path(x[train], y[train], x[test], ALPHAS)
        predicted[test] = pred[best, :, np.arange(n_units)].T
    r = _pearson_cols(predicted, y)
    ceiling = psth_ceiling(aligned, keep, params.seed)
    alpha = np.array([np.bincount(np.searchsorted(ALPHAS, chosen[:, u])).argmax() for u in range(n_units)])
    return EncodingResult(unit_ids=aligned.unit_ids, r=r, ceiling=ceiling, alpha=ALPHAS[alpha],
                          predicted=predicted.reshape(n_clips, n_bins, n_units).transpose(2, 0, 1), measured=psth,
                          fold_of_clip=fold, bin_centres=centres,
                          clip_names=[n for n, k in zip(aligned.clip_names, keep) if k])


def _half_means(aligned: AlignedCounts, keep: np.ndarray, rng: np.random.Generator):
    mask = aligned.mask[keep]
    rank = split_positions(rng, mask, 1)[0]
    half = (mask.sum(1) // 2)[:, None]
    a, b = (rank < half) & mask, (rank >= half) & mask
    counts = aligned.counts[:, keep]
    with np.errstate(invalid="ignore", divide="ignore"):
        ma = (counts * a[None, :, :, None]).sum(2) / a.sum(1)[None, :, None]
        mb = (counts * b[None, :, :, None]).sum(2) / b.sum(1)[None, :, None]
    ok = mask.sum(1) >= 2
    return ma[:, ok], mb[:, ok]


def psth_ceiling(aligned: AlignedCounts, keep: np.ndarray, seed: int, n_splits: int = 20) -> np.ndarray:
    """Spearman-Brown corrected split-half reliability of each unit's PSTH, mean over splits."""
    rng = np.random.default_rng([seed, 99])
    out = []
    for _ in range(n_splits):
        ma, mb = _half_means(aligned, keep, rng)
        r = _pearson_cols(ma.reshape(ma.shape[0], -1).T, mb.reshape(mb.shape[0], -1).T)
        out.append(2 * r / (1 + r))
    with warnings.catch_warnings():           # a silent unit has no finite split: NaN, by design
        warnings.simplefilter("ignore", RuntimeWarning)
        return np.nanmean(np.stack(out), 0)


def _rdm(x: np.ndarray) -> np.ndarray:
    return 1.0 - np.corrcoef(x)


def rsa(aligned: AlignedCounts, acts: dict, params: CompareParams = CompareParams()) -> RSAResult:
    """Neural vs model RDM over the clips both have, with a split-half neural ceiling."""
    values = acts[f"activations_{params.layer}"].astype(np.float64)
    keep = np.isin(aligned.clip_index, acts["stimulus_index"]) & (aligned.mask.sum(1) >= 2)
    clips = aligned.clip_index[keep]
    centres = 0.5 * (aligned.edges[:-1] + aligned.edges[1:])
    in_resp = (centres >= params.response_window[0]) & (centres < params.response_window[1])
    neural = np.nanmean(aligned.mean_rates()[:, keep][:, :, in_resp], axis=2).T        # (clips, units)
    model = np.stack([values[acts["stimulus_index"] == c].mean(0) for c in clips])
    iu = np.triu_indices(clips.size, 1)
    n_rdm, m_rdm = _rdm(neural), _rdm(model)
    rho = spearmanr(n_rdm[iu], m_rdm[iu]).statistic
    rng = np.random.default_rng([params.seed, 98])
    halves = []
    for _ in range(10):
        ma, mb = _half_means(aligned, keep, rng)
        ra, rb = _rdm(ma[:, :, in_resp].mean(2).T), _rdm(mb[:, :, in_resp].mean(2).T)
        r = spearmanr(ra[iu], rb[iu]).statistic
        halves.append(2 * r / (1 + r))
    return RSAResult(rho=float(rho), ceiling=float(np.nanmean(halves)), neural_rdm=n_rdm, model_rdm=m_rdm,
                     clip_names=[n for n, k in zip(aligned.clip_names, keep) if k])
