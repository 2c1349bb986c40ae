"""Synthetic sessions with a known truth for the comparison's statistics (rates in, Poisson counts out)."""
from __future__ import annotations

import numpy as np

from nwb_it.core.recording import AlignedCounts
from nwb_it.core.results import Activations

BIN = 0.05


def aligned_from_rates(rates: np.ndarray, repeats: np.ndarray, seed: int = 0, bin_size: float = BIN
                       ) -> AlignedCounts:
    """Poisson counts around ``rates`` (units, clips, bins; spikes/s), ``repeats[c]`` presentations of clip c."""
    n_units, n_clips, n_bins = rates.shape
    rng = np.random.default_rng(seed)
    mask = np.arange(int(repeats.max()))[None, :] < np.asarray(repeats)[:, None]
    counts = rng.poisson(np.broadcast_to(rates[:, :, None, :] * bin_size, (n_units, n_clips, mask.shape[1], n_bins)))
    return AlignedCounts.from_dense(counts, mask, np.arange(n_bins + 1) * bin_size, np.arange(n_units),
                                    [f"u{u}" for u in range(n_units)], [f"c{c}" for c in range(n_clips)],
                                    np.arange(n_clips))


def activations_from_features(features: np.ndarray, bin_size: float = BIN) -> Activations:
    """One window per (clip, bin) whose last frame starts at the bin's start: ``features`` (clips, bins, dim)."""
    n_clips, n_bins, _ = features.shape
    return Activations(clip_keys=[f"c{c}" for c in range(n_clips)],
                       clip_of_window=np.repeat(np.arange(n_clips), n_bins),
                       window=np.tile(np.arange(n_bins), n_clips), last_frame=np.tile(np.arange(n_bins), n_clips),
                       layers={"last": features.reshape(n_clips * n_bins, -1).astype(np.float64)},
                       provenance={"fps": 1.0 / bin_size, "pad": 0}, stimulus_names=[f"c{c}" for c in range(n_clips)],
                       stimulus_index=np.arange(n_clips))


def add_image_units(nwb, onset: np.ndarray, stim: np.ndarray, n_images: int, seed: int, shown=None,
                    n_responsive: int = 6, n_flat: int = 4) -> None:
    """Units of an image experiment: the first ``n_responsive`` respond to the image 50-250 ms after each onset
    (only where ``shown`` is true, e.g. fixation held) at 5-100 spikes/s by image (each unit its own order: every
    one clearly selective), ``n_flat`` more fire at a constant rate."""
    rng = np.random.default_rng(seed)
    preference = np.stack([rng.permutation(np.linspace(5.0, 100.0, n_images)) for _ in range(n_responsive)])
    shown = np.ones(len(onset), dtype=bool) if shown is None else np.asarray(shown)
    end = onset[-1] + 1
    for u in range(n_responsive + n_flat):
        spikes = [rng.uniform(0, end, rng.poisson(5 * end))]
        if u < n_responsive:
            spikes += [t + 0.05 + rng.uniform(0, 0.2, rng.poisson(preference[u, s] * 0.2))
                       for t, s, f in zip(onset, stim, shown) if f]
        nwb.add_unit(spike_times=np.sort(np.concatenate(spikes)))


def reliability_by_fixation(path, column: str = "stimulus_presented"):
    """Reliability of ``path`` on the presentations where fixation held, and on those where it broke."""
    from nwb_it.core.params import PresentationSpec, ReliabilityParams
    from nwb_it.steps import run_reliability

    params = ReliabilityParams(n_perm=50, n_null=100)
    return tuple(run_reliability(path, params, presentations=PresentationSpec(stimulus_column=column, where=where))
                 for where in ("fixation_correct", "not fixation_correct"))
