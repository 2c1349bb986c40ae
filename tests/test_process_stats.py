"""The one Pearson rule every correlation of the package follows (process.stats), checked against numpy."""
from __future__ import annotations

import numpy as np

from nwb_it.process.scores import _r_from_sums
from nwb_it.process.splits import _centred_r
from nwb_it.process.stats import pearson_columns, pearson_from_moments, pearson_from_sums


def test_pearson_from_sums_is_numpys_r_with_weights_too():
    rng = np.random.default_rng(0)
    a, b = rng.normal(size=50), rng.normal(size=50)
    b += a
    want = np.corrcoef(a, b)[0, 1]
    got = pearson_from_sums(50, a.sum(), b.sum(), (a * a).sum(), (b * b).sum(), (a * b).sum())
    assert abs(float(got) - want) < 1e-12
    w = rng.integers(0, 3, 50).astype(float)                   # a bootstrap's counts = repeated rows
    rows = np.repeat(np.arange(50), w.astype(int))
    weighted = pearson_from_sums(w.sum(), (w * a).sum(), (w * b).sum(), (w * a * a).sum(), (w * b * b).sum(),
                                 (w * a * b).sum())
    assert abs(float(weighted) - np.corrcoef(a[rows], b[rows])[0, 1]) < 1e-12
    assert abs(float(pearson_columns(a[:, None], b[:, None])[0]) - want) < 1e-12


def test_a_constant_side_is_nan_everywhere_even_with_rounding():
    """0.1 + 0.2 repeated: its centred values are rounding, not spread; every form says NaN, never ±1."""
    c = np.full(30, 0.1 + 0.2) * np.linspace(1, 1 + 1e-15, 30)
    x = np.random.default_rng(1).normal(size=30)
    assert np.isnan(pearson_from_sums(30, c.sum(), x.sum(), (c * c).sum(), (x * x).sum(), (c * x).sum()))
    assert np.isnan(pearson_columns(c[:, None], x[:, None])[0])
    a = np.broadcast_to(c.reshape(1, 1, 1, 30), (1, 1, 1, 30)).copy().reshape(1, 1, 1, 30)   # (k, p, u, b)
    b = x.reshape(1, 1, 1, 30).copy()
    assert np.isnan(_centred_r(a, b, (0, 3), "kpub")).all()
    assert np.isnan(pearson_from_moments(1e-25, 1e-30, 1.0, 2.7, 30.0))
    assert float(pearson_from_moments(1.0000001, 1.0, 1.0, 2.0, 2.0)) == 1.0      # rounding past 1 is clipped


def test_a_score_is_zero_for_a_flat_prediction_and_nan_for_a_flat_measure():
    x = np.random.default_rng(2).normal(size=20)
    flat = np.full(20, 3.0)

    def score(p, m):
        return float(_r_from_sums(20, p.sum(), m.sum(), (p * p).sum(), (m * m).sum(), (p * m).sum()))
    assert score(flat, x) == 0.0                 # a model predicting no variation explains none
    assert np.isnan(score(x, flat))              # nothing to explain: undefined
    assert abs(score(x, 2 * x) - 1) < 1e-12      # a perfect predictor scores 1
