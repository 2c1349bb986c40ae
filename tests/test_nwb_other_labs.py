"""Analyses on NWB files nwb_it did not write: start_time = onset, Allen-style presentations, partial units."""
from __future__ import annotations

import numpy as np
import pytest
from pynwb import NWBHDF5IO

from nwb_it.cli import main
from nwb_it.core.params import PresentationSpec, ReliabilityParams
from nwb_it.examples.other_lab import DRIVEN, N_STIM, write_other_lab_file
from nwb_it.nwb.recording import read_presentations
from nwb_it.nwb.results import read_reliability_table
from nwb_it.steps import read_aligned
from nwb_it.steps.reliability import run_reliability


def test_trials_with_start_time_as_onset_and_a_string_column(tmp_path, capsys):
    path = tmp_path / "other.nwb"
    stim, onsets = write_other_lab_file(path, "trials")
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
        res = read_reliability_table(f)
        assert f.trials.to_dataframe().equals(trials_before), "the lab's own table is untouched"
    assert res.responsive[DRIVEN].all() and not res.responsive[~DRIVEN].any()
    assert main(["heatmaps", str(path), "-o", str(tmp_path / "figs"), "--stimulus-column", "image"]) == 0
    assert len(list((tmp_path / "figs" / path.stem / "heatmaps" / "units").glob("*.png"))) == DRIVEN.sum()
    capsys.readouterr()
    assert main(["reliability", str(path), "--stimulus-column", "stimulus_name"]) == 2
    err = capsys.readouterr().err.strip()
    assert err.count("\n") == 0 and "no column 'stimulus_name'" in err and "start_time, stop_time, image" in err


def test_allen_style_presentations_table(tmp_path):
    path = tmp_path / "allen.nwb"
    stim, _ = write_other_lab_file(path, "allen")
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
    # no 'trials': the file's only table is used, and said; its stimulus column must still be named
    with pytest.warns(UserWarning, match="no presentations table 'trials': using 'natural_scenes_presentations'"), \
            pytest.raises(Exception, match="natural_scenes_presentations has no column 'stimulus_name'.*image_index"):
        run_reliability(path)


def test_unit_observed_for_part_of_the_session(tmp_path):
    path = tmp_path / "partial.nwb"
    stim, onsets = write_other_lab_file(path, "trials", partial_unit=True)
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
