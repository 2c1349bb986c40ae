"""Ridge regression for the encoding models, on himalaya (numpy on the CPU, torch or torch_cuda).

himalaya chooses a penalty per target (unit) by the held-out squared error of inner
cross-validation folds (never by Pearson r, which is blind to shrinkage), solves every
penalty from one SVD, and runs the same code on numpy and torch. Features are
standardised on the training rows first, so the penalty grid does not depend on the
activations' scale.

himalaya keeps its backend in a module global. The ridges here take the backend's module as an
argument (:func:`backend_module`) and never set it; only himalaya's own functions, which read the
global, run inside :func:`himalaya_backend` (set for one block, restored after, under a lock).

Examples
--------
>>> import numpy as np
>>> rng = np.random.default_rng(0)
>>> x = rng.normal(size=(60, 4)); y = x @ rng.normal(size=(4, 2))
>>> groups = np.repeat(np.arange(12), 5)
>>> pred, alphas = ridge_cv_predict(x[:50], y[:50], x[50:], groups[:50])
>>> bool(np.corrcoef(pred[:, 0], y[50:, 0])[0, 1] > 0.99)
True
"""
from __future__ import annotations

import contextlib
import importlib
import threading
from collections.abc import Iterator

import numpy as np

from ..core.errors import InvalidParameter
from ..core.params import RIDGE_BACKENDS

#: The ridge penalties tried (on standardised features).
ALPHAS = np.logspace(-3, 6, 19)
#: himalaya backends nwb_it runs on; "auto" = torch_cuda where a GPU is there, else numpy.
BACKENDS = RIDGE_BACKENDS
_LOCK = threading.RLock()


def resolve_backend(name: str) -> str:
    """The himalaya backend ``name`` stands for ("auto": torch_cuda with a GPU, else numpy)."""
    if name not in BACKENDS:
        raise InvalidParameter("backend", f"`backend={name}`: use {', '.join(BACKENDS)}")
    if name != "auto":
        return name
    try:
        import torch  # optional: only asked whether a GPU is there

        return "torch_cuda" if torch.cuda.is_available() else "numpy"
    except ImportError:
        return "numpy"


def backend_module(name: str):
    """himalaya's backend module for ``name`` (its array functions), without making it himalaya's global backend:
    the ridge code here takes the module as an argument, so nothing process-wide changes."""
    from himalaya.backend import ALL_BACKENDS  # heavy: only when a ridge is fitted

    resolved = resolve_backend(name)
    if resolved not in ALL_BACKENDS:
        raise InvalidParameter("backend", f"`backend={name}`: himalaya has no backend {resolved}")
    return importlib.import_module(f"himalaya.backend.{resolved}")


@contextlib.contextmanager
def himalaya_backend(name: str) -> Iterator[object]:
    """himalaya's backend set to ``name`` inside the block, the previous one restored after: only around himalaya's
    own functions, which read its global (the reference solver, the Dirichlet samples, ``r2_score_split``)."""
    from himalaya.backend import get_backend, set_backend  # heavy: only when a ridge is fitted

    with _LOCK:
        before = get_backend()
        try:
            yield set_backend(resolve_backend(name))
        finally:
            set_backend(before)


def standardize(train: np.ndarray, *others: np.ndarray) -> list[np.ndarray]:
    """Columns z-scored with the training rows' mean and sd (constant columns left at 0)."""
    mean, sd = train.mean(0), train.std(0)
    sd = np.where(sd > 0, sd, 1.0)
    return [(x - mean) / sd for x in (train, *others)]


def group_splits(groups: np.ndarray, n_splits: int = 3) -> list[tuple[np.ndarray, np.ndarray]]:
    """Inner folds that keep each group (a clip's rows) together: a list of (train rows, test rows)."""
    uniq = np.unique(groups)
    fold_of = np.arange(uniq.size) % min(n_splits, uniq.size)
    fold = fold_of[np.searchsorted(uniq, groups)]
    return [(np.flatnonzero(fold != g), np.flatnonzero(fold == g)) for g in range(fold_of.max() + 1)]


class RidgeSums:
    """A ridge's training set as sums, on ``bk``'s arrays (numpy or torch): X'X, X'Y and column sums of the
    whole set and of each inner test block (a block's training sums are the whole set's minus its own).

    Every penalty and every rescaling of the columns (``scale``: a banded ridge's band weights) is solved from
    these sums and one eigendecomposition per inner fold: a penalty's coefficients are
    ``V diag(1 / (s² + alpha)) V' X'Y`` and its held-out squared error follows from ``P'y`` and ``P'P`` of the
    projected test rows, so no (alphas x test x train) hat matrix is formed (himalaya's way: 50 times the
    flops at encoding-model shapes). Features are standardised, so centring from sums loses nothing.
    """

    def __init__(self, bk, x, y, splits):
        self.bk, self.y = bk, y
        self.eigh = np.linalg.eigh if bk.name == "numpy" else bk.eigh       # LAPACK's driver: 3x scipy's here
        self.tests = [(x[bk.asarray(test)], y[bk.asarray(test)]) for _, test in splits]      # each inner test block
        self.blocks = [[xb.T @ xb, xb.T @ yb, xb.sum(0), yb.sum(0), xb.shape[0]] for xb, yb in self.tests]
        self.whole = [sum(b[i] for b in self.blocks) for i in range(5)]

    def _factors(self, gram, xy, sx, sy, n, scale):
        """Means, eigenvalues, V and V'X'Y of the (rescaled) centred features."""
        xm, ym = sx / n, sy / n
        cov, cxy = gram - n * xm[:, None] * xm[None, :], xy - n * xm[:, None] * ym[None, :]
        if scale is not None:
            cov, cxy = cov * scale[:, None] * scale[None, :], cxy * scale[:, None]
        w, v = self.eigh(cov)
        return xm, ym, self.bk.clip(w, 0, None), v, v.T @ cxy

    def cv_scores(self, alphas, scale=None):
        """(alphas, targets): minus the held-out mean squared error, mean over inner folds (himalaya's
        ``l2_neg_loss``), of every penalty on the columns times ``scale``."""
        score = self.bk.zeros_like(self.y, shape=(alphas.shape[0], self.y.shape[1]))
        for (x_test, y_test), block in zip(self.tests, self.blocks):
            xm, ym, w, v, vxy = self._factors(*(a - b for a, b in zip(self.whole, block)), scale)
            centred = x_test - xm
            proj = (centred if scale is None else centred * scale) @ v              # test rows in the V basis
            y_test = y_test - ym
            py, pp, yy = proj.T @ y_test, proj.T @ proj, (y_test ** 2).sum(0)
            c = vxy[None] / (w[None, :] + alphas[:, None])[:, :, None]            # (alphas, k, targets), V basis
            score -= (yy[None] - 2 * (py[None] * c).sum(1) + ((pp @ c) * c).sum(1)) / y_test.shape[0]
        return score / len(self.tests)

    def refit(self, alpha, scale=None, targets=None):
        """Coefficients on the original columns (features, targets) of the whole set, a penalty per target, and
        the column and target means (the prediction is ``(x - xm) @ coef + ym``)."""
        xm, ym, w, v, vxy = self._factors(*self.whole, scale)
        if targets is not None:
            vxy, ym = vxy[:, targets], ym[targets]
        coef = v @ (vxy / (w[None, :] + alpha[:, None]).T)                          # each target its own penalty
        return (coef if scale is None else coef * scale[:, None]), xm, ym


def _ridge_cv_svd(bk, x, y, x_test, alphas, splits):
    """Per-target ridge penalty by inner-fold squared error, refit, predict (:class:`RidgeSums`).

    The same criterion and refit as himalaya's ``solve_ridge_cv_svd`` (``local_alpha=True``, its default
    ``l2_neg_loss``; equal predictions, tested).
    """
    sums = RidgeSums(bk, x, y, splits)
    best = bk.argmax(sums.cv_scores(alphas), 0)
    coef, xm, ym = sums.refit(alphas[best])
    return (x_test - xm) @ coef + ym, alphas[best]


def ridge_cv_predict(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, groups: np.ndarray,
                     alphas: np.ndarray = ALPHAS, backend: str = "numpy") -> tuple[np.ndarray, np.ndarray]:
    """Fit ridge with a penalty per target chosen by inner folds over ``groups``; predict ``x_test``.

    Parameters
    ----------
    x_train, y_train : (rows, features), (rows, targets)
    x_test : (test rows, features)
    groups : (rows,) group of every training row (inner folds never split a group)
    alphas : penalties tried
    backend : himalaya backend ("numpy", "torch", "torch_cuda" or "auto")

    Returns
    -------
    predictions (test rows, targets) as float64 numpy, and the chosen penalty of every target.
    """
    xs_train, xs_test = standardize(x_train, x_test)
    bk = backend_module(backend)
    to = lambda a: bk.asarray(np.ascontiguousarray(a, dtype=np.float64))  # noqa: E731
    pred, best = _ridge_cv_svd(bk, to(xs_train), to(y_train), to(xs_test), to(alphas), group_splits(groups))
    return np.asarray(bk.to_numpy(pred), dtype=np.float64), np.asarray(bk.to_numpy(best), dtype=np.float64)


def himalaya_ridge_cv_predict(x_train: np.ndarray, y_train: np.ndarray, x_test: np.ndarray, groups: np.ndarray,
                              alphas: np.ndarray = ALPHAS, backend: str = "numpy") -> tuple[np.ndarray, np.ndarray]:
    """:func:`ridge_cv_predict` through himalaya's own ``solve_ridge_cv_svd`` (the reference it is tested against)."""
    from himalaya.ridge import solve_ridge_cv_svd  # heavy: only when a ridge is fitted

    xs_train, xs_test = standardize(x_train, x_test)
    with himalaya_backend(backend) as bk:
        best, coefs, _, intercept = solve_ridge_cv_svd(
            bk.asarray(xs_train), bk.asarray(y_train), alphas=bk.asarray(alphas), fit_intercept=True,
            cv=group_splits(groups), local_alpha=True, warn=False)
        pred = bk.asarray(xs_test) @ bk.asarray(coefs) + bk.asarray(intercept)
        return np.asarray(bk.to_numpy(pred), dtype=np.float64), np.asarray(bk.to_numpy(best), dtype=np.float64)
