"""A world where the brain is model A: the ground truth ``nwb-it design`` is validated against.

Clips have latent properties ``z`` (Student t, 4 degrees of freedom: most clips ordinary, a few
extreme). Model A's features are ``z``; model B's agree with A on half the dimensions and saturate
on the other half (``2 tanh(z / 2)``): the two models predict alike on ordinary clips and apart on
extreme ones. Every unit's mean count is a linear read-out of A's features (the brain *is* A), and
each presentation adds Gaussian noise of a known standard deviation. Some clips were recorded
(``n_repeats`` presentations each), the rest are candidates.

Examples
--------
>>> world = two_model_world(n_shown=30, n_candidates=50, n_units=5, seed=0)
>>> world.shown_counts.shape, world.truth.shape
((5, 180), (50, 5))
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..process.design import (
    design_clips,
    divergence,
    identification_power,
    predicted_responses,
    presentation_noise,
    presentations_for_power,
)
from ..process.stats import group_means


@dataclass(frozen=True)
class TwoModelWorld:
    """Features of both models on the recorded and candidate clips, the recordings, and the truth."""

    shown_a: np.ndarray            # (recorded clips, features)
    shown_b: np.ndarray
    candidates_a: np.ndarray       # (candidates, features)
    candidates_b: np.ndarray
    shown_counts: np.ndarray       # (units, presentations) recorded responses
    shown_clip_of: np.ndarray      # (presentations,) recorded clip of each presentation
    truth: np.ndarray              # (candidates, units) the brain's mean response to every candidate
    noise_sd: np.ndarray           # (units,) single-presentation noise sd


def _model_b(z: np.ndarray) -> np.ndarray:
    half = z.shape[1] // 2
    return np.hstack([z[:, :half], 2 * np.tanh(z[:, half:] / 2)])


def two_model_world(n_shown: int = 80, n_candidates: int = 400, n_units: int = 40, n_repeats: int = 6,
                    n_features: int = 8, snr: float = 0.5, seed: int = 0) -> TwoModelWorld:
    """A recorded session and a candidate pool in a world whose brain is model A (see the module doc).

    ``snr``: each unit's variance of mean counts over ordinary clips over its single-presentation noise variance.
    """
    rng = np.random.default_rng([seed, 32])
    z = rng.standard_t(4, size=(n_shown + n_candidates, n_features))
    weights = rng.normal(size=(n_features, n_units)) / np.sqrt(n_features)
    means = 10.0 + z @ weights
    noise_sd = np.sqrt(1.0 / snr) * np.ones(n_units)
    shown, cand = slice(0, n_shown), slice(n_shown, None)
    clip_of = np.repeat(np.arange(n_shown), n_repeats)
    counts = means[shown][clip_of].T + noise_sd[:, None] * rng.standard_normal((n_units, clip_of.size))
    b = _model_b(z)
    return TwoModelWorld(shown_a=z[shown], shown_b=b[shown], candidates_a=z[cand], candidates_b=b[cand],
                         shown_counts=counts, shown_clip_of=clip_of, truth=means[cand], noise_sd=noise_sd)


@dataclass(frozen=True)
class DesignTrial:
    """One world's outcome: presentations for power with the chosen clips and with random sets of as many."""

    chosen: int                 # presentations (repeats x clips) the chosen clips need
    random: np.ndarray          # the same for each random set
    repeats: int                # the design's own estimate of the repeats per clip
    reached: float              # the power those repeats reach in the world

    @property
    def ratio(self) -> float:
        return self.chosen / float(np.median(self.random))


def design_trial(world: TwoModelWorld, n_clips: int = 5, n_random: int = 25, power: float = 0.8,
                 seed: int = 0) -> DesignTrial:
    """Fit both models on the recorded clips, let ``design`` pick ``n_clips`` candidates, and find by simulation the
    presentations that reach ``power`` for them and for ``n_random`` random sets of as many clips."""
    sd = presentation_noise(world.shown_counts, world.shown_clip_of)
    means = group_means(world.shown_counts.T, world.shown_clip_of, world.shown_a.shape[0])
    a = predicted_responses(world.shown_a, means, world.candidates_a)
    b = predicted_responses(world.shown_b, means, world.candidates_b)
    result, _ = design_clips(divergence(a, b, sd), [str(i) for i in range(a.shape[0])], n_clips, power, ("A", "B"),
                             sd.size, seed)
    rng = np.random.default_rng(seed)
    chosen = presentations_for_power(world.truth, a, b, world.noise_sd, result.chosen, power, rng)
    random = np.array([presentations_for_power(world.truth, a, b, world.noise_sd,
                                               rng.choice(a.shape[0], n_clips, replace=False), power, rng)
                       for _ in range(n_random)])
    reached = identification_power(world.truth, a, b, world.noise_sd, result.chosen, result.repeats, rng)
    return DesignTrial(chosen, random, result.repeats, reached)
