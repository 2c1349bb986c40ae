"""Analyses on NWB files nwb_it did not write: start_time = onset, Allen-style presentations, partial units."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
from pynwb import NWBHDF5IO, NWBFile
from pynwb.epoch import TimeIntervals

from nwb_it.cli import main
from nwb_it.core.params import PresentationSpec, ReliabilityParams
from nwb_it.nwb.recording import read_aligned, read_presentations
from nwb_it.nwb.results import read_reliability
from nwb_it.steps.reliability import run_reliability

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


def build_file(path, layout: str, partial_unit: bool = False):
    """A file written with pynwb only; presentations in random order, ragged repeats."""
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


def test_trials_with_start_time_as_onset_and_a_string_column(tmp_path, capsys):
    path = tmp_path / "other.nwb"
    stim, onsets = build_file(path, "trials")
    spec = PresentationSpec(stimulus_column="image")
    with NWBHDF5IO(str(path), "r") as io:
        f = io.read()
        pres = read_presentations(f, spec)
        aligned = read_aligned(f, (-0.05, 0.30), 0.05, spec=spec)       # the window reaches past stop_time
        trials_before = f.trials.to_dataframe()
    np.testing.assert_allclose(pres.onset, onsets)
    assert sorted(set(pres.names)) == [f"img_{s:02d}.png" for s in range(N_STIM)]
    assert aligned.mask.sum() == stim.size and aligned.observed is None
    assert main(["reliability", str(path), "--stimulus-column", "image", "--n-perm", "30"]) == 0
    with NWBHDF5IO(str(path), "r") as io:
        f = io.read()
        res = read_reliability(f)
        assert f.trials.to_dataframe().equals(trials_before), "the lab's own table is untouched"
    assert res.responsive[DRIVEN].all() and not res.responsive[~DRIVEN].any()
    assert main(["heatmaps", str(path), "-o", str(tmp_path / "figs"), "--stimulus-column", "image"]) == 0
    assert len(list((tmp_path / "figs" / "units").glob("*.png"))) == DRIVEN.sum()
    capsys.readouterr()
    assert main(["reliability", str(path), "--stimulus-column", "stimulus_name"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no column 'stimulus_name'" in err and "start_time, stop_time, image" in err


def test_allen_style_presentations_table(tmp_path):
    path = tmp_path / "allen.nwb"
    stim, _ = build_file(path, "allen")
    spec = PresentationSpec(intervals="natural_scenes_presentations", stimulus_column="image_index")
    res = run_reliability(path, ReliabilityParams(n_perm=30), presentations=spec)
    assert res.responsive[DRIVEN].all() and not res.responsive[~DRIVEN].any()
    with NWBHDF5IO(str(path), "r") as io:
        pres = read_presentations(io.read(), spec)
    assert set(pres.names) == {str(s) for s in range(N_STIM)}, "float ids read as integers"
    counts = np.bincount(pres.clip)
    assert all(sorted(pres.repeat[pres.clip == c]) == list(range(n)) for c, n in enumerate(counts))
    first = [np.argmin(np.where(pres.clip == c, pres.onset, np.inf)) for c in range(N_STIM)]
    assert (pres.repeat[first] == 0).all(), "repeats numbered by order of occurrence"
    with pytest.raises(Exception, match="no presentations table 'trials'.*natural_scenes_presentations"):
        run_reliability(path)


def test_unit_observed_for_part_of_the_session(tmp_path):
    path = tmp_path / "partial.nwb"
    stim, onsets = build_file(path, "trials", partial_unit=True)
    spec = PresentationSpec(stimulus_column="image")
    with NWBHDF5IO(str(path), "r") as io:
        aligned = read_aligned(io.read(), spec=spec)
    half = (onsets[-1] + 2) / 2
    seen = aligned.unit_mask[0][aligned.mask]
    assert seen.sum() == (onsets + 0.30 <= half).sum(), "presentations outside obs_intervals are missing"
    assert aligned.unit_mask[1:].sum() == (len(aligned.unit_ids) - 1) * aligned.mask.sum()
    n_seen = aligned.unit_mask[0].sum(1)
    assert (n_seen < aligned.n_repeats).any()
    np.testing.assert_allclose(aligned.mean_rates()[0], aligned.counts[0].sum(1) / (n_seen[:, None] * 0.05),
                               err_msg="rates over the observed presentations only: masked, not zero")
    res = run_reliability(path, ReliabilityParams(n_perm=30), presentations=spec)
    assert np.isfinite(res.dprime[0]) and res.responsive[0], "the partial unit is judged on what was observed"
