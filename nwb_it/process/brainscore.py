"""Brain-Score's neural benchmark recipe, ported: per-neuroid reliability, its ceiling and the PLS metric.

The facts below come from brain-score/vision (read at commit c642dbe4); the code is ours.

* **Split-half reliability** (``data/li2026/data_packaging/build_li2026_reliability_70_170ms.py``):
  20 splits drawn from ``numpy.random.RandomState(seed)``; in every split each image's trials, in
  image order, are shuffled and the first ``n // 2`` form half 0, the next ``n // 2`` half 1 (an odd
  trial sits out); a split counts for a unit only when more than 10 images have trials in both halves
  and neither half's image means are constant; its r becomes ``2r / (1 + r)`` (Spearman-Brown) and a
  unit's reliability is the mean over the splits that count (NaN when none does).
* **Ceiling** (``benchmarks/li2026/benchmark.py::_reliability_ceiling``): the median reliability over
  neuroids; its error the standard deviation of 1000 medians of neuroids drawn with replacement from
  the finite ones (``RandomState(0)``).
* **Metric** ``pls`` / ``spantime_pls`` (``metrics/regression_correlation``): 10 splits of the stimuli,
  90 % train (``ShuffleSplit``, ``random_state=1``; ``StratifiedShuffleSplit`` on a label when given);
  ``PLSRegression(n_components=25, scale=False)``; Pearson r per neuroid on the test stimuli; the
  median over neuroids (NaN skipped, as xarray's median does); the mean over splits with the error
  ``std / sqrt(splits)``. ``spantime``: one regression for all time bins (stimulus x bin samples),
  predicted and correlated bin by bin.
* **Ceiled** = ``raw**2 / ceiling`` (``benchmark_helpers/neural_common.explained_variance``: the
  ceiling is already a variance); **bounded** = the ceiled score clipped to [0, 1]
  (``benchmark_helpers.bound_score``, brain-score/vision#2112): :func:`nwb_it.core.benchmark.ceiled` and
  :func:`~nwb_it.core.benchmark.bounded`, which :class:`~nwb_it.core.benchmark.ModelScore` reports.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass

import numpy as np

from ..core.numeric import nan_quiet
from ..core.results import Activations
from .encoding import window_features
from .stats import group_sums, pearson_columns, spearman_brown

RELIABILITY_SPLITS = 20
MIN_IMAGES = 10            # a split needs more than this many images with trials in both halves
CEILING_BOOTSTRAPS = 1000
PLS_COMPONENTS = 25
CV_SPLITS = 10
CV_TRAIN_SIZE = 0.9
CV_RANDOM_STATE = 1


def split_plan(image: np.ndarray, n_images: int, rng: np.random.RandomState,
               n_splits: int = RELIABILITY_SPLITS) -> list[tuple[np.ndarray, np.ndarray]]:
    """The recipe's halves: for each split, two boolean masks over the trials.

    The loop over images is the recipe's random-number order (one ``shuffle`` per image per
    split), which a vectorised draw would not reproduce.
    """
    per_image = [np.flatnonzero(image == j) for j in range(n_images)]
    plans = []
    for _ in range(n_splits):
        h0 = np.zeros(image.size, bool)
        h1 = np.zeros(image.size, bool)
        for idx in per_image:
            if idx.size < 2:
                continue
            idx = idx.copy()
            rng.shuffle(idx)
            half = idx.size // 2
            h0[idx[:half]] = True
            h1[idx[half:2 * half]] = True
        plans.append((h0, h1))
    return plans


def _image_means(rates: np.ndarray, image: np.ndarray, half: np.ndarray, n_images: int
                 ) -> tuple[np.ndarray, np.ndarray]:
    """Per-unit mean of each image's trials in ``half`` (units x images) and the trial count per image."""
    rows = np.flatnonzero(half)
    sums, counts = group_sums(rates[:, rows].T, image[rows], n_images)
    with nan_quiet():
        return sums.T / counts, counts


def splithalf_reliability(rates: np.ndarray, image: np.ndarray, seed: int,
                          n_splits: int = RELIABILITY_SPLITS) -> np.ndarray:
    """Each unit's Spearman-Brown split-half reliability across images, as Brain-Score's recipe computes it.

    Parameters
    ----------
    rates : (n_units, n_trials) response of every unit on every trial (a count or a rate: r is scale-free)
    image : (n_trials,) the trial's image, 0 .. n_images - 1
    seed : seed of the ``RandomState`` that draws the halves (the recipe: a base seed plus the session)

    Returns
    -------
    (n_units,) mean over the counted splits of ``2r / (1 + r)``; NaN where no split counts.

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> signal = rng.normal(size=(3, 40))
    >>> image = np.repeat(np.arange(40), 6)
    >>> rel = splithalf_reliability(signal[:, image] + rng.normal(size=(3, 240)), image, seed=0)
    >>> bool(np.all(rel > 0.7))
    True
    """
    rates = np.asarray(rates, dtype=np.float64)
    image = np.asarray(image, dtype=np.int64)
    n_images = int(image.max()) + 1 if image.size else 0
    total = np.zeros(rates.shape[0])
    counted = np.zeros(rates.shape[0])
    for h0, h1 in split_plan(image, n_images, np.random.RandomState(seed), n_splits):
        m0, c0 = _image_means(rates, image, h0, n_images)
        m1, c1 = _image_means(rates, image, h1, n_images)
        both = (c0 > 0) & (c1 > 0)
        if both.sum() <= MIN_IMAGES:
            continue
        a, b = m0[:, both], m1[:, both]
        varies = (a.std(1) > 0) & (b.std(1) > 0)
        r = pearson_columns(a.T, b.T)
        sb = spearman_brown(r)
        ok = varies & np.isfinite(r) & (1 + r != 0) & np.isfinite(sb)
        total[ok] += sb[ok]
        counted[ok] += 1
    with nan_quiet():
        return np.where(counted > 0, total / counted, np.nan)


@dataclass(frozen=True)
class Ceiling:
    """The benchmark's ceiling: median reliability and the bootstrap standard error of that median."""

    value: float
    error: float
    n_neuroids: int


def reliability_ceiling(reliability: np.ndarray, n_bootstraps: int = CEILING_BOOTSTRAPS, seed: int = 0) -> Ceiling:
    """Median of the per-neuroid reliabilities, with the recipe's bootstrap error.

    Examples
    --------
    >>> c = reliability_ceiling(np.array([0.5, 0.6, 0.7, np.nan]))
    >>> round(c.value, 3), c.n_neuroids
    (0.6, 3)
    """
    rel = np.asarray(reliability, dtype=np.float64)
    finite = rel[np.isfinite(rel)]
    if finite.size == 0:
        return Ceiling(float("nan"), float("nan"), 0)
    rng = np.random.RandomState(seed)
    # one draw per bootstrap in the recipe's order (rng.choice of the whole size each time)
    boot = [np.median(rng.choice(finite, size=finite.size, replace=True)) for _ in range(n_bootstraps)]
    return Ceiling(float(np.nanmedian(rel)), float(np.std(boot)), int(finite.size))


def cv_splits(n_stimuli: int, labels: np.ndarray | None = None, n_splits: int = CV_SPLITS,
              train_size: float = CV_TRAIN_SIZE, random_state: int = CV_RANDOM_STATE
              ) -> list[tuple[np.ndarray, np.ndarray]]:
    """Brain-Score's cross-validation splits of the stimuli: (train rows, test rows) per split."""
    from sklearn.model_selection import ShuffleSplit, StratifiedShuffleSplit

    if labels is not None:
        splitter = StratifiedShuffleSplit(n_splits=n_splits, train_size=train_size, random_state=random_state)
        return list(splitter.split(np.zeros(n_stimuli), labels))
    splitter = ShuffleSplit(n_splits=n_splits, train_size=train_size, random_state=random_state)
    return list(splitter.split(np.zeros(n_stimuli)))


def _as_temporal(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float64)
    return x[:, :, None] if x.ndim == 2 else x


def pls_components(n_features: int, n_train: int, n_components: int = PLS_COMPONENTS) -> int:
    """Brain-Score's 25 components, fewer only where the data has fewer features or training samples."""
    return max(1, min(n_components, n_features, n_train - 1))


def pls_fit_predict(source_train: np.ndarray, target_train: np.ndarray, source_test: np.ndarray,
                    n_components: int = PLS_COMPONENTS, report_convergence: bool = False):
    """Fit ``PLSRegression(scale=False)`` once on all time bins (stimulus x bin samples), predict bin by bin.

    ``source_*`` are (stimuli, features[, bins]), ``target_train`` (stimuli, neuroids[, bins]); returns
    (test stimuli, neuroids, bins), and with ``report_convergence`` whether scikit-learn's NIPALS stopped at its
    iteration limit for some component (it warns then; Brain-Score's PLS does the same and scores on).
    """
    from sklearn.cross_decomposition import PLSRegression
    from sklearn.exceptions import ConvergenceWarning

    s_train, t_train, s_test = _as_temporal(source_train), _as_temporal(target_train), _as_temporal(source_test)
    if s_train.shape[2] != t_train.shape[2] or s_test.shape[2] != s_train.shape[2]:
        raise ValueError("source and target have different numbers of time bins")
    x = s_train.transpose(0, 2, 1).reshape(-1, s_train.shape[1])
    y = t_train.transpose(0, 2, 1).reshape(-1, t_train.shape[1])
    pls = PLSRegression(n_components=pls_components(x.shape[1], x.shape[0], n_components), scale=False)
    with warnings.catch_warnings(record=True) as caught:    # counted, then said once with the layer's name
        warnings.simplefilter("always", ConvergenceWarning)
        pls.fit(x, y)
    stopped = any(issubclass(w.category, ConvergenceWarning) for w in caught)
    for w in caught:                                         # anything else goes on as it came
        if not issubclass(w.category, ConvergenceWarning):
            warnings.warn_explicit(w.message, w.category, w.filename, w.lineno)
    n_test, _, n_bins = s_test.shape
    predicted = pls.predict(s_test.transpose(0, 2, 1).reshape(-1, s_test.shape[1]))
    out = predicted.reshape(n_test, n_bins, -1).transpose(0, 2, 1)
    return (out, stopped) if report_convergence else out


def per_neuroid_r(predicted: np.ndarray, measured: np.ndarray) -> np.ndarray:
    """Pearson r over stimuli of every neuroid in every bin: (neuroids, bins); NaN where either side is constant
    (where ``scipy.stats.pearsonr`` returns NaN)."""
    p, m = _as_temporal(predicted), _as_temporal(measured)
    return np.stack([pearson_columns(p[:, :, b], m[:, :, b]) for b in range(p.shape[2])], axis=1)


@dataclass(frozen=True)
class MetricScore:
    """Cross-validated PLS score per time bin.

    Attributes
    ----------
    per_bin : (bins,) mean over splits of the median r over neuroids
    per_bin_error : (bins,) its standard error over splits
    per_split : (splits, bins) the median r over neuroids in every split
    per_neuroid : (neuroids, bins) each neuroid's r averaged over splits
    n_components : PLS components used
    unconverged : splits whose PLS fit stopped at scikit-learn's iteration limit (scored all the same, as in
        Brain-Score)
    """

    per_bin: np.ndarray
    per_bin_error: np.ndarray
    per_split: np.ndarray
    per_neuroid: np.ndarray
    n_components: int
    unconverged: int = 0

    @property
    def raw(self) -> float:
        """The score over time: the mean over bins (one bin: that bin's score)."""
        return float(np.nanmean(self.per_bin))

    @property
    def raw_error(self) -> float:
        """Standard error over splits of the time-averaged score."""
        over_time = np.nanmean(self.per_split, axis=1)
        return float(np.nanstd(over_time) / np.sqrt(over_time.size))


def _aggregate(split_medians: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    with nan_quiet():
        return np.nanmean(split_medians, 0), np.nanstd(split_medians, 0) / np.sqrt(split_medians.shape[0])


def cross_regressed_correlation(source: np.ndarray, target: np.ndarray, labels: np.ndarray | None = None, *,
                                n_splits: int = CV_SPLITS, train_size: float = CV_TRAIN_SIZE,
                                random_state: int = CV_RANDOM_STATE, n_components: int = PLS_COMPONENTS
                                ) -> MetricScore:
    """Brain-Score's ``pls`` metric (``spantime_pls`` when the arrays have a time axis) on stimulus-aligned arrays.

    Parameters
    ----------
    source : (stimuli, features[, bins]) model activations
    target : (stimuli, neuroids[, bins]) mean neural responses, rows in the same stimulus order
    labels : per-stimulus label to stratify the splits on (Brain-Score's ``object_name``), or None

    Examples
    --------
    >>> rng = np.random.default_rng(0)
    >>> x = rng.normal(size=(60, 8))
    >>> score = cross_regressed_correlation(x, x @ rng.normal(size=(8, 5)))
    >>> round(score.raw, 6)
    1.0
    """
    source, target = _as_temporal(source), _as_temporal(target)
    if source.shape[0] != target.shape[0]:
        raise ValueError(f"source has {source.shape[0]} stimuli, target {target.shape[0]}")
    splits = cv_splits(source.shape[0], labels, n_splits, train_size, random_state)
    medians = np.empty((len(splits), target.shape[2]))
    r_sum = np.zeros(target.shape[1:])
    r_n = np.zeros(target.shape[1:])
    unconverged = 0
    for s, (train, test) in enumerate(splits):
        predicted, stopped = pls_fit_predict(source[train], target[train], source[test], n_components, True)
        unconverged += stopped
        r = per_neuroid_r(predicted, target[test])
        with nan_quiet():
            medians[s] = np.nanmedian(r, axis=0)
        r_sum += np.nan_to_num(r)
        r_n += np.isfinite(r)
    per_bin, error = _aggregate(medians)
    with nan_quiet():
        per_neuroid = r_sum / r_n
    k = pls_components(source.shape[1], len(splits[0][0]) * source.shape[2], n_components)
    return MetricScore(per_bin, error, medians, per_neuroid, k, unconverged)


def train_test_correlation(source_train: np.ndarray, target_train: np.ndarray, source_test: np.ndarray,
                           target_test: np.ndarray, n_components: int = PLS_COMPONENTS) -> tuple[float, np.ndarray]:
    """Brain-Score's ``pls_split``: fit on a training set, the median r over neuroids on a test set, and the r's."""
    r = per_neuroid_r(pls_fit_predict(source_train, target_train, source_test, n_components), target_test)[:, 0]
    with nan_quiet():
        return float(np.nanmedian(r)), r


def activations_per_bin(acts: Activations, layer: str, edges: np.ndarray) -> np.ndarray:
    """Each clip's model features in each time bin: (n_clips, width, n_bins), clips in ``acts.clip_keys`` order.

    A bin takes the latest window whose last frame started at or before the bin's end (compare's rule,
    :func:`nwb_it.process.encoding.window_features`, at lag 0); a bin before a clip's first window takes
    the first. A model of still images (one window per clip) gives every bin the same features, as
    Brain-Score's static models do on a temporal benchmark.

    Examples
    --------
    >>> from nwb_it.core.results import Activations
    >>> acts = Activations(["a"], np.zeros(3, int), np.arange(3), np.array([0, 3, 6]),
    ...                    {"last": np.arange(3.0)[:, None]}, provenance={"fps": 30.0})
    >>> activations_per_bin(acts, "last", np.array([0.0, 0.05, 0.15, 0.25]))[0, 0]
    array([0., 1., 2.])
    """
    ends = np.asarray(edges, dtype=np.float64)[1:]
    rows = window_features(acts.clip_of_window, acts.time, np.arange(len(acts.clip_keys)), ends, (0.0,))[..., 0]
    return acts.layers[layer][rows].astype(np.float64).transpose(0, 2, 1)


