"""Variance partitioning over layers: one banded ridge whose bands are layers, and each band's share.

Each layer's activations are reduced and lagged as in :mod:`nwb_it.process.encoding` (PCA
fitted on the training clips, the lags concatenated, standardised), and the layers become
the bands of one ridge model. himalaya's random search over band weights (``gammas`` drawn
from its Dirichlet sampler, ``concentration`` 0.1 and 1 alternating) picks, per unit, the
weights and the penalty with the smallest held-out squared error of inner folds
(:func:`banded_ridge_cv_predict`: the algorithm of himalaya's
``solve_banded_ridge_random_search``, tested equal, solved from one set of sums per fold).
On each outer fold's held-out clips, himalaya's ``r2_score_split`` (the product measure)
divides the joint model's R² among the bands: ``R²_joint = Σ R²_band``; a band's *share*
is its part over the joint R². Scores are per outer fold, averaged over folds.
"""
from __future__ import annotations

import numpy as np

from ..core.comparison import MIN_SHARE_UNITS, BandedResult
from ..core.numeric import nan_quiet
from ..core.params import CompareParams
from ..core.progress import progress_bar
from ..core.recording import AlignedCounts
from ..core.results import Activations, normalized_score
from .ceilings import Ceilings
from .encoding import Design, fold_components, layer_values
from .ridge import ALPHAS, RidgeSums, backend_module, group_splits, himalaya_backend, standardize
from .scores import pooled_r, within_fold_r


def band_weights(n_iter: int, n_bands: int, seed: int) -> np.ndarray:
    """(n_iter, n_bands) band weights on the simplex: himalaya's Dirichlet samples (concentration 0.1, 1)."""
    from himalaya.kernel_ridge import generate_dirichlet_samples  # heavy: only when bands are fitted

    with himalaya_backend("numpy"):
        return np.asarray(generate_dirichlet_samples(n_iter, n_bands, concentration=[0.1, 1.0], random_state=seed),
                          dtype=np.float64)


def banded_ridge_cv_predict(xs_train: list[np.ndarray], y_train: np.ndarray, xs_test: list[np.ndarray],
                            groups: np.ndarray, gammas: np.ndarray, alphas: np.ndarray = ALPHAS,
                            backend: str = "numpy") -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    """Banded ridge by random search: per target the band weights and penalty of least inner-fold error.

    Parameters
    ----------
    xs_train, xs_test : one (rows, features) array per band (standardised by the caller or not)
    y_train : (rows, targets)
    groups : (rows,) inner folds never split a group
    gammas : (candidates, bands) band weights tried, in order (a later one wins only if strictly better)

    Returns
    -------
    split predictions (bands, test rows, targets) without the intercept, the intercept (targets,), the chosen
    band weights (targets, bands) and penalty (targets,), all numpy float64.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> a, b = rng.normal(size=(60, 3)), rng.normal(size=(60, 3))
    >>> y = a @ np.ones((3, 1))
    >>> split, _, gamma, _ = banded_ridge_cv_predict([a[:50], b[:50]], y[:50], [a[50:], b[50:]],
    ...                                              np.repeat(np.arange(10), 5), band_weights(20, 2, 0))
    >>> bool(gamma[0, 0] > gamma[0, 1])
    True
    """
    widths = [x.shape[1] for x in xs_train]
    band_of = np.repeat(np.arange(len(widths)), widths)
    bk = backend_module(backend)
    to = lambda a: bk.asarray(np.ascontiguousarray(a, dtype=np.float64))  # noqa: E731
    sums = RidgeSums(bk, to(np.hstack(xs_train)), to(y_train), group_splits(groups))
    alphas_b, n_targets = to(alphas), y_train.shape[1]
    best = np.full(n_targets, -np.inf)
    chosen, alpha_of = np.zeros(n_targets, dtype=np.int64), np.ones(n_targets)
    for i, gamma in enumerate(gammas):
        scores = np.asarray(bk.to_numpy(sums.cv_scores(alphas_b, to(np.sqrt(gamma)[band_of]))))
        top = scores.argmax(0)
        score = scores[top, np.arange(n_targets)]
        better = score > best + np.finfo(np.float64).eps
        best[better], chosen[better], alpha_of[better] = score[better], i, np.asarray(alphas)[top[better]]
    x_test = np.hstack(xs_test)
    split = np.zeros((len(widths), x_test.shape[0], n_targets))
    intercept = np.zeros(n_targets)
    for i in np.unique(chosen):
        targets = np.flatnonzero(chosen == i)
        coef, xm, ym = (np.asarray(bk.to_numpy(a), dtype=np.float64) for a in sums.refit(
            to(alpha_of[targets]), to(np.sqrt(gammas[i])[band_of]), bk.asarray(targets)))
        centred = x_test - xm
        for band in range(len(widths)):
            cols = band_of == band
            split[band][:, targets] = centred[:, cols] @ coef[cols]
        intercept[targets] = ym
    return split, intercept, gammas[chosen], alpha_of


def r2_split(measured: np.ndarray, split: np.ndarray, fold: np.ndarray) -> np.ndarray:
    """(bands, units) each band's part of the held-out R² (himalaya's ``r2_score_split``), mean over outer folds.

    ``measured`` (units, clips, bins), ``split`` (bands, units, clips, bins); on each fold's (clip, bin) cells,
    both centred on the fold's means (the parts sum to the joint R² of the centred prediction).
    """
    from himalaya.scoring import r2_score_split  # heavy: only when bands are fitted

    out = []
    with himalaya_backend("numpy"):
        for f in np.unique(fold):
            y = measured[:, fold == f].reshape(measured.shape[0], -1).T                      # (cells, units)
            parts = split[:, :, fold == f].reshape(*split.shape[:2], -1).transpose(0, 2, 1)   # (bands, cells, units)
            y = y - y.mean(0)
            with nan_quiet():
                r2 = np.asarray(r2_score_split(y, parts - parts.mean(1, keepdims=True)), dtype=np.float64)
            r2[:, (y ** 2).sum(0) <= 0] = np.nan            # a unit silent (or constant) in the fold: no R² there
            out.append(r2)
    with nan_quiet():
        return np.nanmean(np.stack(out), 0)


def variance_partition(aligned: AlignedCounts, acts: Activations, layers: list[str],
                       params: CompareParams = CompareParams(),
                       ceilings: tuple[Ceilings, np.ndarray] | None = None) -> BandedResult:
    """One banded ridge over ``layers`` (a band each) per unit, and each band's part of the held-out R².

    Folds, lags, PCs, penalties and ceilings as in :func:`~nwb_it.process.encoding.encoding_model`;
    ``params.banded_iter`` band weights are tried; a bar over the outer folds under
    :func:`nwb_it.core.progress.verbose`;
    ``ceilings``: :func:`~nwb_it.process.encoding.encoding_ceilings` when already computed.
    """
    design = Design.of(aligned, acts, params)
    psth, rows, fold = design.psth, design.rows, design.fold                  # psth: (units, clips, bins)
    n_units, n_clips, n_bins = psth.shape
    band_pcs = [fold_components(layer_values(acts, layer), rows, fold, params.n_pcs) for layer in layers]
    y = psth.transpose(1, 2, 0).reshape(n_clips * n_bins, n_units)
    row_clip = np.repeat(np.arange(n_clips), n_bins)
    gammas = band_weights(params.banded_iter, len(layers), params.seed)
    split = np.zeros((len(layers), n_clips * n_bins, n_units))
    intercept, chosen = np.zeros_like(y), np.zeros((fold.max() + 1, n_units, len(layers)))
    for f in progress_bar(range(fold.max() + 1), desc="banded ridge", unit="fold"):
        train, test = fold[row_clip] != f, fold[row_clip] == f
        xs = [standardize(x[train], x[test]) for x in
              (pcs[f][rows].reshape(n_clips * n_bins, -1) for pcs in band_pcs)]     # lags concatenated per band
        split[:, test], intercept[test], chosen[f], _ = banded_ridge_cv_predict(
            [a for a, _ in xs], y[train], [b for _, b in xs], row_clip[train], gammas, backend=params.backend)
    as_cube = lambda a: a.reshape(n_clips, n_bins, n_units).transpose(2, 0, 1)  # noqa: E731
    parts = np.stack([as_cube(s) for s in split])
    ceil, weights = design.ceilings(aligned, params) if ceilings is None else ceilings
    joint = parts.sum(0) + as_cube(intercept)
    y_c, parts_c = _fold_centred(psth, fold), np.stack([_fold_centred(p, fold) for p in parts])
    r2 = r2_split(y_c, parts_c, np.zeros(n_clips, dtype=np.int64))            # all clips, each fold centred
    joint_boot = normalized_score(within_fold_r(joint, psth, fold, weights, np.float32)[0], ceil.pooled_boot)
    with nan_quiet():
        joint_ci = np.nanpercentile(joint_boot, [2.5, 97.5], axis=0).T                  # (units, 2)
        included = (joint_ci[:, 0] > 0) & (ceil.pooled_ci[:, 0] > params.min_ceiling) & (r2.sum(0) > 0)
        shares = r2_parts_weighted(y_c, parts_c, weights)                              # (resamples, bands, units)
        total = shares.sum(1, keepdims=True)
        shares = np.where(total > 0, shares / total, np.nan)
        share_ci = np.nanpercentile(np.nanmedian(shares[:, :, included], axis=2), [2.5, 97.5], axis=0).T \
            if included.sum() >= MIN_SHARE_UNITS else np.full((len(layers), 2), np.nan)
    return BandedResult(unit_ids=aligned.unit_ids, unit_names=aligned.unit_names, bands=list(layers),
                        r2=r2, r=pooled_r(joint, psth, fold), ceiling=ceil.pooled, gamma=chosen.mean(0), params=params,
                        joint_ci=joint_ci, included_units=included, share_ci=share_ci)


def _fold_centred(x: np.ndarray, fold: np.ndarray) -> np.ndarray:
    """(units, clips, bins) minus each outer fold's mean over its cells (as the scores pool folds)."""
    out = np.array(x, dtype=np.float64)
    for f in np.unique(fold):
        out[:, fold == f] -= out[:, fold == f].mean((1, 2), keepdims=True)
    return out


def r2_parts_weighted(measured: np.ndarray, parts: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """Each band's part of the R² (the product measure of :func:`r2_split` on all clips) under clip ``weights``
    (resamples, clips): (resamples, bands, units), from per-clip sums (one product per term, no loop over
    resamples). With a row of ones it equals :func:`r2_split` on one fold."""
    p_all = parts.sum(0)                                                          # (units, clips, bins)
    n = weights.sum(1) * measured.shape[2]                                       # cells per resample
    s_y, s_yy = measured.sum(2) @ weights.T, (measured ** 2).sum(2) @ weights.T  # (units, resamples)
    s_p = parts.sum(3) @ weights.T                                               # (bands, units, resamples)
    s_pall = p_all.sum(2) @ weights.T
    s_yp = (parts * measured[None]).sum(3) @ weights.T
    s_ppall = (parts * p_all[None]).sum(3) @ weights.T
    var_y = s_yy - s_y ** 2 / n
    cov_yp = s_yp - s_p * s_y[None] / n
    cov_pp = s_ppall - s_p * s_pall[None] / n
    with nan_quiet():
        out = np.where(var_y[None] > 0, (2 * cov_yp - cov_pp) / var_y[None], np.nan)
    return np.moveaxis(out, -1, 0)
