"""Small statistics used by several analyses, each implemented once."""
from __future__ import annotations

import numpy as np
from scipy import sparse
from scipy.linalg import eigh

from ..core.numeric import nan_quiet


def spearman_brown(r: np.ndarray | float, factor: float = 2.0) -> np.ndarray:
    """Reliability of a measure ``factor`` times as long: ``factor r / (1 + (factor - 1) r)``.

    Examples
    --------
    >>> float(spearman_brown(0.5))
    0.6666666666666666
    """
    r = np.asarray(r, dtype=np.float64)
    with nan_quiet():
        return factor * r / (1.0 + (factor - 1.0) * r)


def group_sums(values: np.ndarray, group: np.ndarray, n_groups: int) -> tuple[np.ndarray, np.ndarray]:
    """The sum of the rows of ``values`` in each group, ``(n, ...) -> (n_groups, ...)``, and each group's row count
    (one sparse product, no loop over groups).

    Examples
    --------
    >>> sums, n = group_sums(np.array([[1.0], [3.0], [5.0]]), np.array([0, 0, 2]), 3)
    >>> sums.ravel().tolist(), n.tolist()
    ([4.0, 0.0, 5.0], [2, 0, 1])
    """
    values = np.asarray(values, dtype=np.float64)
    group = np.asarray(group, dtype=np.int64)
    onehot = sparse.csr_matrix((np.ones(group.size), (group, np.arange(group.size))), shape=(n_groups, group.size))
    sums = np.asarray(onehot @ values.reshape(group.size, -1)).reshape((n_groups, *values.shape[1:]))
    return sums, np.bincount(group, minlength=n_groups)


def group_means(values: np.ndarray, group: np.ndarray, n_groups: int) -> np.ndarray:
    """The mean of the rows of ``values`` in each group, NaN skipped: ``(n, ...) -> (n_groups, ...)`` (NaN where a
    group has no finite value).

    Examples
    --------
    >>> group_means(np.array([[1.0], [3.0], [np.nan], [5.0]]), np.array([0, 0, 1, 1]), 2)
    array([[2.],
           [5.]])
    """
    values = np.asarray(values, dtype=np.float64)
    seen = np.isfinite(values)
    sums, _ = group_sums(np.where(seen, values, 0.0), group, n_groups)
    counts, _ = group_sums(seen, group, n_groups)
    with nan_quiet():
        return sums / counts


#: A variance below this share of its (uncentred) sum of squares is rounding of a constant, not spread.
FLAT_RTOL = 1e-10


def is_flat(var: np.ndarray, sum_squares: np.ndarray, rtol: float = FLAT_RTOL) -> np.ndarray:
    """Whether a variance is zero but for rounding: at most ``rtol`` of its uncentred sum of squares."""
    return np.asarray(var) <= rtol * np.maximum(np.abs(sum_squares), 1e-300)


def pearson_from_moments(cov: np.ndarray, var_a: np.ndarray, var_b: np.ndarray, ss_a: np.ndarray,
                         ss_b: np.ndarray, rtol: float = FLAT_RTOL) -> np.ndarray:
    """Pearson r from a covariance and two variances (any common scale), the package's one rule for constants: NaN
    where either side is flat (:func:`is_flat` against its uncentred sum of squares ``ss_*``, same scale), and
    clipped to [-1, 1] (rounding can step past).

    Examples
    --------
    >>> float(pearson_from_moments(2.0, 2.0, 2.0, 3.0, 3.0))
    1.0
    >>> float(pearson_from_moments(0.0, 1e-20, 1.0, 4.0, 2.0))       # a constant side: undefined, not 0
    nan
    """
    with nan_quiet():
        r = np.asarray(cov) / np.sqrt(np.asarray(var_a) * np.asarray(var_b))
    r = np.where(is_flat(var_a, ss_a, rtol) | is_flat(var_b, ss_b, rtol), np.nan, r)
    return np.clip(r, -1.0, 1.0)


def pearson_from_sums(n, sa, sb, saa, sbb, sab, rtol: float = FLAT_RTOL) -> np.ndarray:
    """Pearson r from (weighted) sums over ``n`` observations: ``Σa, Σb, Σa², Σb², Σab`` (:func:`pearson_from_moments`'s
    rule).

    Examples
    --------
    >>> x = np.arange(5.0); y = 2 * x + 1
    >>> float(pearson_from_sums(5, x.sum(), y.sum(), (x * x).sum(), (y * y).sum(), (x * y).sum()))
    1.0
    """
    with nan_quiet():
        return pearson_from_moments(sab - sa * sb / n, saa - sa ** 2 / n, sbb - sb ** 2 / n, saa, sbb, rtol)


def pearson_columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r between matching columns of ``a`` and ``b`` (rows = observations; :func:`pearson_from_moments`'s
    rule).

    Examples
    --------
    >>> x = np.arange(5.0)[:, None]
    >>> pearson_columns(x, 2 * x + 1)
    array([1.])
    """
    ma, mb = a.mean(0), b.mean(0)
    a, b = a - ma, b - mb
    va, vb = (a * a).sum(0), (b * b).sum(0)
    n = a.shape[0]
    return pearson_from_moments((a * b).sum(0), va, vb, va + n * ma ** 2, vb + n * mb ** 2)


def pca(values: np.ndarray, n_components: int, fit_rows: np.ndarray | None = None
        ) -> tuple[np.ndarray, np.ndarray]:
    """Principal-component scores of every row, with the PCA fitted on ``fit_rows`` only.

    Returns
    -------
    scores : (n_rows, n_components)
    explained : (n_components,) fraction of the fitted rows' variance per component

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(20, 5))
    >>> scores, explained = pca(x, 2)
    >>> scores.shape, bool(explained[0] >= explained[1])
    ((20, 2), True)
    """
    fit = values if fit_rows is None else values[fit_rows]
    mean = fit.mean(0)
    centred = fit - mean
    if centred.shape[0] > 2 * centred.shape[1]:
        # many more rows than features (windows x hidden): the top eigenvectors of the feature covariance, not a full
        # SVD of the rows (10x faster for an encoding model's folds; the same components up to sign)
        cov = centred.T @ centred
        w, v = leading_eigen(cov, n_components)
        return (values - mean) @ v, np.clip(w, 0, None) / max(float(np.trace(cov)), 1e-12)
    _, s, vt = np.linalg.svd(centred, full_matrices=False)
    explained = s ** 2 / max(float((s ** 2).sum()), 1e-12)
    return (values - mean) @ vt[:n_components].T, explained[:n_components]


#: Components with less variance than this share of the largest are rounding, not signal (see top_components).
RANK_RTOL = 1e-10


def leading_eigen(cov: np.ndarray, n_components: int) -> tuple[np.ndarray, np.ndarray]:
    """The ``n_components`` largest eigenvalues of a symmetric matrix and their eigenvectors, strongest first
    (only those are computed)."""
    d = cov.shape[0]
    k = min(n_components, d)
    w, v = eigh(cov, subset_by_index=[d - k, d - 1])
    order = np.argsort(w)[::-1]
    return w[order], v[:, order]


def top_components(cov: np.ndarray, n_components: int, rtol: float = RANK_RTOL) -> np.ndarray:
    """The ``n_components`` leading eigenvectors of a covariance matrix, strongest first: (features, k).

    Components whose variance is below ``rtol`` of the largest are dropped: a layer of lower rank than
    ``n_components`` has only rounding beyond its rank, and standardised for the ridge those directions would
    become full-weight random regressors (a score that changed when the activations were scaled).

    Examples
    --------
    >>> x = np.random.default_rng(0).normal(size=(50, 3)) @ np.random.default_rng(1).normal(size=(3, 8))
    >>> top_components(np.cov(x.T), 6).shape            # rank 3: three components, not six
    (8, 3)
    """
    w, v = leading_eigen(cov, n_components)
    keep = w > rtol * max(float(w.max()), 0.0)
    return v[:, keep] if keep.any() else v[:, :1]


class FoldPCA:
    """PCA of ``values`` fitted on all rows but some, fold after fold, from one Gram matrix of the rows used.

    Each fold's covariance is the whole set's Gram matrix minus its held-out rows' (a tenth of the
    work of recomputing it); its leading eigenvectors are those of :func:`pca` on the same rows.
    """

    #: Most covariance values held at once (256 MB): a 4096-wide layer's folds go two at a time.
    budget = 1 << 25

    def __init__(self, values: np.ndarray, rows: np.ndarray):
        self.values, self.rows = values, np.asarray(rows)
        self.fit = values[self.rows]
        self.gram, self.sums = self.fit.T @ self.fit, self.fit.sum(0)

    def _covariance(self, left_out: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        out = self.values[np.asarray(left_out)]
        n = self.rows.size - out.shape[0]
        mean = (self.sums - out.sum(0)) / n
        return self.gram - out.T @ out - n * np.outer(mean, mean), mean

    def scores_many(self, left_outs: list[np.ndarray], n_components: int) -> list[np.ndarray]:
        """Per set of left-out rows (one per fold), the scores of the ``rows`` of ``values`` on the components
        fitted without those rows, in an array of every row (the rows not in ``rows`` are 0: a layer's windows
        that no bin uses cost nothing).

        The eigendecompositions run back to back, apart from numpy's products: scipy's LAPACK and numpy's
        BLAS are two OpenBLAS copies whose idle threads spin, and interleaving them doubles the time.
        """
        group = max(1, self.budget // self.gram.size)           # covariances held at once
        out = []
        for lo in range(0, len(left_outs), group):
            covariances = [self._covariance(rows) for rows in left_outs[lo:lo + group]]
            components = [top_components(cov, n_components) for cov, _ in covariances]
            for (_, mean), v in zip(covariances, components):
                scores = np.zeros((self.values.shape[0], v.shape[1]))
                scores[self.rows] = self.fit @ v - mean @ v
                out.append(scores)
        return out


def benjamini_hochberg(p: np.ndarray) -> np.ndarray:
    """Benjamini-Hochberg adjusted p-values (q-values) of the finite entries; NaN stays NaN.

    Examples
    --------
    >>> benjamini_hochberg(np.array([0.01, 0.04, np.nan, 0.03]))
    array([0.03, 0.04,  nan, 0.04])
    """
    p = np.asarray(p, dtype=np.float64)
    q = np.full_like(p, np.nan)
    finite = np.flatnonzero(np.isfinite(p))
    if finite.size:
        order = finite[np.argsort(p[finite], kind="stable")]
        ranked = p[order] * finite.size / np.arange(1, finite.size + 1)
        q[order] = np.minimum(np.minimum.accumulate(ranked[::-1])[::-1], 1.0)
    return q
