"""design's estimators against worlds where the truth is known: noise sd, the repeats a power needs, and clips chosen
by divergence against random clips when the brain is model A (nwb_it.examples.design_world)."""
from __future__ import annotations

import numpy as np
import pytest
from scipy.stats import norm

from nwb_it.examples.design_world import design_trial, two_model_world
from nwb_it.process.design import (
    divergence,
    identification_power,
    presentation_noise,
    repeats_for_power,
)


def test_presentation_noise_recovers_the_known_sd():
    rng = np.random.default_rng(0)
    sd = np.array([0.5, 2.0, 5.0])
    clip_of = np.repeat(np.arange(200), 4)
    counts = rng.normal(size=(3, 200))[:, clip_of] * 10 + sd[:, None] * rng.standard_normal((3, clip_of.size))
    np.testing.assert_allclose(presentation_noise(counts, clip_of), sd, rtol=0.05)


@pytest.mark.parametrize("total", [0.3, 1.0, 4.0])
def test_the_repeats_reach_the_stated_power_when_the_predictions_are_exact(total):
    rng = np.random.default_rng(1)
    truth = rng.normal(size=(5, 12))
    step = rng.normal(size=(5, 12))
    other = truth + step * np.sqrt(total / (step ** 2).sum())           # summed divergence = total exactly
    sd = np.ones(12)
    assert divergence(truth, other, sd).sum() == pytest.approx(total)
    n = repeats_for_power(total, 0.8)
    clips = np.arange(5)
    reached = identification_power(truth, truth, other, sd, clips, n, rng, n_sim=20000)
    assert reached == pytest.approx(norm.cdf(np.sqrt(n * total) / 2), abs=0.015)
    assert reached >= 0.8 - 0.015
    if n > 1:
        assert identification_power(truth, truth, other, sd, clips, n - 1, rng, n_sim=20000) < 0.8 + 0.015


def test_identical_models_cannot_be_told_apart():
    with pytest.raises(ValueError, match="same responses"):
        repeats_for_power(0.0, 0.8)


def test_chosen_clips_need_at_most_half_the_presentations_of_random_ones():
    """The brain is model A; clips picked by predicted divergence tell A from B with <= half the presentations that
    random clips need (the issue's margin), in each of three worlds."""
    ratios = [design_trial(two_model_world(seed=seed, snr=0.05, n_units=20), n_clips=5, n_random=15, seed=seed).ratio
              for seed in range(3)]
    assert max(ratios) <= 0.5, ratios


def test_with_more_models_the_picks_raise_the_hardest_pair():
    """Three models: a clip that separates one pair a lot and another not at all is worth less than clips that
    separate both; the greedy maximin pick beats the top clips by total divergence on the hardest pair."""
    from nwb_it.process.design import choose_clips

    rng = np.random.default_rng(4)
    div = rng.exponential(size=(3, 60))
    div[1, :10] = 0.0
    div[0, :10] += 20.0                                   # ten clips with a large total but nothing for pair 1
    maximin = choose_clips(div, 6)
    by_total = np.argsort(-div.sum(0))[:6]
    assert div[:, maximin].sum(1).min() > div[:, by_total].sum(1).min()
    assert not set(maximin) & set(range(10))
    np.testing.assert_array_equal(choose_clips(div[:1], 6), np.argsort(-div[0], kind="stable")[:6])
