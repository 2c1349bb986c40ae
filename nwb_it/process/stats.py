"""Small statistics used by several analyses, each implemented once."""
from __future__ import annotations

import numpy as np

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


def pearson_columns(a: np.ndarray, b: np.ndarray) -> np.ndarray:
    """Pearson r between matching columns of ``a`` and ``b`` (rows = observations).

    Examples
    --------
    >>> x = np.arange(5.0)[:, None]
    >>> pearson_columns(x, 2 * x + 1)
    array([1.])
    """
    a = a - a.mean(0)
    b = b - b.mean(0)
    with nan_quiet():
        return (a * b).sum(0) / np.sqrt((a * a).sum(0) * (b * b).sum(0))


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
    _, s, vt = np.linalg.svd(fit - mean, full_matrices=False)
    explained = s ** 2 / max(float((s ** 2).sum()), 1e-12)
    return (values - mean) @ vt[:n_components].T, explained[:n_components]


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
