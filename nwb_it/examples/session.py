"""Example sessions with known truth, written as genuine MAT files in the ``L2_str`` layout.

Units come in three kinds:

* responsive: a clip-specific gain times a Gaussian bump after clip onset
  (latency 70-150 ms, width 30 ms) over a baseline, so their responses depend
  on both the clip and the time;
* flat: one constant rate for every clip and time (never responsive);
* silent: the last unit never fires.

Repeats are ragged (``n_repeats`` minus 0-2 per clip), clip 2 has no repeat at
all, and every spike time lies on a 30 kHz grid.
"""
from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path

import numpy as np

from .matwrite import cell_array, write_mat73

SAMPLING_RATE = 30000.0
SPIKE_WINDOW = (-0.1, 0.4)   # seconds around clip onset in which spikes are generated


@dataclass
class ExampleTruth:
    """What the example generator put in: per unit, whether it was made responsive."""

    responsive: np.ndarray       # (n_units,) bool
    n_repeats: np.ndarray        # (n_clips,) int
    rates_peak: np.ndarray       # (n_units, n_clips) peak rate in spikes/s above baseline
    readout: np.ndarray | None = None   # (n_units,) bool: rate = linear read-out of model activations


# rate grid for read-out units: (n_readout, n_clips, n_grid) spikes/s on GRID_T
GRID_DT = 0.001
GRID_T = np.arange(SPIKE_WINDOW[0], SPIKE_WINDOW[1] + GRID_DT / 2, GRID_DT)


def example_metadata_path() -> Path:
    """The example metadata YAML shipped with the package (what ``meta.yaml`` looks like)."""
    return Path(str(resources.files("nwb_it") / "data" / "example_metadata.yaml"))


def example_clip_names(n_clips: int) -> list[str]:
    """The example sessions' itemnames, which are also their frame files' clip keys: 1_clip001, ..."""
    return [f"{k + 1}_clip{k + 1:03d}" for k in range(n_clips)]


def _spike_times(rng, rate_fn, lam_max: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Inhomogeneous Poisson spikes by thinning, for all (unit, presentation) pairs at once."""
    t0, t1 = SPIKE_WINDOW
    counts = rng.poisson(lam_max * (t1 - t0))
    owner = np.repeat(np.arange(counts.size), counts)
    t = rng.uniform(t0, t1, owner.size)
    keep = rng.uniform(0, 1, owner.size) * lam_max[owner] < rate_fn(owner, t)
    t = np.round(t[keep] * SAMPLING_RATE) / SAMPLING_RATE
    owner = owner[keep]
    order = np.lexsort((t, owner))
    return owner[order], t[order]


def make_example_struct(n_units: int = 16, n_clips: int = 20, n_repeats: int = 6, seed: int = 0,
                        responsive_fraction: float = 0.4, readout_rates: np.ndarray | None = None
                        ) -> tuple[dict, ExampleTruth]:
    """The ``L2_str`` struct of an example session (dicts = structs, object arrays = cells).

    ``readout_rates`` (n_readout, n_clips, len(GRID_T)) replaces the first n_readout
    units' rates with these time courses (see ``examples.readout``); they are then
    clip-driven and counted as responsive.
    """
    if n_units < 1 or n_clips < 1 or n_repeats < 1:
        raise ValueError("units, clips and repeats must be at least 1")
    rng = np.random.default_rng(seed)
    reps = np.maximum(n_repeats - rng.integers(0, 3, n_clips), min(n_repeats, 2))
    if n_clips > 2:
        reps[2] = 0
    n_resp = int(round(responsive_fraction * n_units))
    responsive = np.zeros(n_units, dtype=bool)
    responsive[rng.choice(n_units - 1 if n_units > 1 else 1, size=min(n_resp, max(n_units - 1, 1)),
                          replace=False)] = True
    baseline = rng.uniform(2, 15, n_units)
    baseline[-1] = 0.0 if n_units > 1 else baseline[-1]
    gain = np.where(responsive[:, None], 80 * rng.lognormal(0, 0.8, (n_units, n_clips)) *
                    (rng.uniform(0, 1, (n_units, n_clips)) < 0.6), 0.0)
    latency = rng.uniform(0.07, 0.15, n_units)

    pres_clip = np.repeat(np.arange(n_clips), reps)
    n_pres = pres_clip.size
    unit_of = np.repeat(np.arange(n_units), n_pres)
    clip_of = np.tile(pres_clip, n_units)
    lam_max = baseline[unit_of] + gain[unit_of, clip_of]

    n_read = 0 if readout_rates is None else readout_rates.shape[0]
    if n_read:
        if n_read >= n_units or readout_rates.shape[1:] != (n_clips, GRID_T.size):
            raise ValueError("readout_rates must be (n_readout < n_units, n_clips, len(GRID_T))")
        responsive[:n_read] = True
        gain[:n_read] = 0.0
        baseline[:n_read] = 0.0
        lam_max[unit_of < n_read] = readout_rates.max() * 1.001

    def rate(pair, t):
        u, c = unit_of[pair], clip_of[pair]
        out = baseline[u] + gain[u, c] * np.exp(-0.5 * ((t - latency[u]) / 0.03) ** 2)
        if n_read:
            read = u < n_read
            grid = np.clip(np.round((t[read] - GRID_T[0]) / GRID_DT).astype(int), 0, GRID_T.size - 1)
            out[read] = readout_rates[u[read], c[read], grid]
        return out

    owner, times = _spike_times(rng, rate, lam_max)
    bounds = np.searchsorted(owner, np.arange(n_units * n_pres + 1))
    starts = np.concatenate([[0], np.cumsum(reps)])
    spikes = cell_array([
        cell_array([
            cell_array([times[bounds[u * n_pres + p]:bounds[u * n_pres + p + 1]].reshape(-1, 1)
                        for p in range(starts[k], starts[k + 1])])
            for k in range(n_clips)])
        for u in range(n_units)])

    trial_order = rng.permutation(n_pres) + 1          # trial number of each presentation
    trialnum = cell_array([trial_order[starts[k]:starts[k + 1]].astype(np.float64).reshape(-1, 1)
                           for k in range(n_clips)])
    items = np.zeros((n_pres, 1))
    items[trial_order - 1, 0] = pres_clip + 1
    struct = {
        "spikes": spikes,
        "itemnames": cell_array(example_clip_names(n_clips)),
        "items": items,
        "itempos": np.round(rng.uniform(-3, 3, (n_clips, 2)), 2),
        "trialnum": trialnum,
        "neuron_id": cell_array([f"ch{u // 2 + 1:03d}_u{u % 2 + 1}" for u in range(n_units)]),
        "fields": cell_array(["spikes", "itemnames", "items", "itempos", "trialnum", "neuron_id"]),
        "monkey": "coco",
    }
    peak = gain.copy()
    readout = np.arange(n_units) < n_read
    return struct, ExampleTruth(responsive=responsive, n_repeats=reps, rates_peak=peak, readout=readout)


def write_example_session(path: str | Path, n_units: int = 16, n_clips: int = 20, n_repeats: int = 6,
                          seed: int = 0, mat_format: str = "7.3", readout_rates: np.ndarray | None = None
                          ) -> ExampleTruth:
    """Write an example session MAT file (``mat_format`` "7.3" = HDF5, "5" = scipy v5).

    Examples
    --------
    >>> import tempfile, os
    >>> truth = write_example_session(os.path.join(tempfile.mkdtemp(), "x_fixshortvid1_coco.mat"),
    ...                               n_units=4, n_clips=5, n_repeats=3)
    >>> truth.n_repeats.shape
    (5,)
    """
    struct, truth = make_example_struct(n_units, n_clips, n_repeats, seed, readout_rates=readout_rates)
    path = Path(path)
    if mat_format == "7.3":
        write_mat73(path, {"L2_str": struct})
    elif mat_format == "5":
        import scipy.io

        scipy.io.savemat(path, {"L2_str": struct}, format="5", long_field_names=True)
    else:
        raise ValueError(f"unknown MAT format {mat_format!r} (use '7.3' or '5')")
    return truth
