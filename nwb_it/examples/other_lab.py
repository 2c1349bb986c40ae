"""NWB files as other labs write them, with pynwb alone: units and a presentations table, known truth.

``write_other_lab_file(path, "allen")`` writes an Allen-style file
(``/intervals/natural_scenes_presentations`` with a float ``image_index``, rows in random
order); ``"trials"`` a trials table whose ``start_time`` is the onset and whose ``image``
column names the stimulus. Half the units respond to the images (a stimulus-specific bump
60-160 ms after onset), the others fire at a flat 8 spikes/s.

Examples
--------
>>> import tempfile, os
>>> stim, onsets = write_other_lab_file(os.path.join(tempfile.mkdtemp(), "brain_observatory.nwb"))
>>> len(stim) == len(onsets)
True
"""
from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import numpy as np
from pynwb import NWBHDF5IO, NWBFile
from pynwb.epoch import TimeIntervals

N_UNITS, N_STIM = 8, 12
DRIVEN = np.array([True, True, True, True, False, False, False, False])


def _spikes(rng, onsets, stim):
    """Driven units: a stimulus-specific bump 60-160 ms after onset; the others a flat 8 spikes/s."""
    gain = rng.gamma(2, 60, (N_UNITS, N_STIM)) * DRIVEN[:, None]
    out = []
    for u in range(N_UNITS):
        t = [rng.uniform(0, onsets[-1] + 2, rng.poisson(8 * (onsets[-1] + 2)))]
        for onset, s in zip(onsets, stim):
            t.append(onset + rng.uniform(0.06, 0.16, rng.poisson(gain[u, s] * 0.1)))
        out.append(np.sort(np.concatenate(t)))
    return out


def write_other_lab_file(path: str | Path, layout: str = "allen", partial_unit: bool = False
                         ) -> tuple[np.ndarray, np.ndarray]:
    """A file written with pynwb only; presentations in random order, ragged repeats.

    Returns the stimulus index and onset of every presentation, in time order. ``partial_unit``:
    the first unit is observed (``obs_intervals``) during the first half of the session only.
    """
    rng = np.random.default_rng(5)
    stim = rng.permutation(np.repeat(np.arange(N_STIM), 6))[: N_STIM * 6 - 5]        # ragged: 5 dropped
    onsets = 1.0 + np.arange(stim.size) * 0.6 + rng.uniform(0, 0.05, stim.size)
    nwb = NWBFile(session_description="another lab", identifier="x", session_start_time=datetime(
        2024, 1, 1, tzinfo=timezone.utc))
    spikes = _spikes(rng, onsets, stim)
    session_end = onsets[-1] + 2
    for u, t in enumerate(spikes):
        obs = [[0.0, session_end / 2]] if (partial_unit and u == 0) else [[0.0, session_end]]
        if partial_unit and u == 0:
            t = t[t < session_end / 2]
        nwb.add_unit(spike_times=t, obs_intervals=obs)
    names = np.array([f"img_{s:02d}.png" for s in stim])
    if layout == "trials":                       # start_time = onset, stop_time = stimulus offset (0.2 s)
        nwb.add_trial_column("image", "stimulus image")
        for onset, name in zip(onsets, names):
            nwb.add_trial(start_time=onset, stop_time=onset + 0.2, image=name)
    else:                                        # Allen-style: /intervals/natural_scenes_presentations
        table = TimeIntervals(name="natural_scenes_presentations", description="Allen-style presentations")
        table.add_column("image_index", "index of the image")
        order = rng.permutation(stim.size)       # rows in any order
        for i in order:
            table.add_row(start_time=onsets[i], stop_time=onsets[i] + 0.25, image_index=float(stim[i]))
        nwb.add_time_intervals(table)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return stim, onsets


def write_blank_and_images_file(path: str | Path, n_blank: int = 2000, n_images: int = 2000, n_units: int = 8,
                                seed: int = 0) -> Path:
    """One blank shown ``n_blank`` times among ``n_images`` images shown once each, flat 5 spikes/s units.

    Repeat counts as unequal as they get (trials column ``stim``): memory that followed
    clips x the largest repeat count would grow with ``n_blank * n_images``.
    """
    rng = np.random.default_rng(seed)
    stim = np.concatenate([np.full(n_blank, "blank"), np.array([f"img{i:05d}" for i in range(n_images)])])
    stim = stim[rng.permutation(stim.size)]
    onset = 1.0 + np.arange(stim.size) * 0.5
    end = onset[-1] + 2
    nwb = NWBFile(session_description="a blank among images shown once", identifier="blank-and-images",
                  session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc))
    for _ in range(n_units):
        nwb.add_unit(spike_times=np.sort(rng.uniform(0, end, int(5 * end))), obs_intervals=[[0.0, end]])
    nwb.add_trial_column("stim", "stimulus")
    for o, s in zip(onset, stim):
        nwb.add_trial(start_time=o, stop_time=o + 0.4, stim=s)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return Path(path)

