"""Presentation tables with faults, written by pynwb alone: refused with one line, or dropped on request."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
from pynwb import NWBHDF5IO, NWBFile
from pynwb.epoch import TimeIntervals

from nwb_it.cli import main
from nwb_it.core.params import PresentationSpec, ReliabilityParams
from nwb_it.nwb.presentations import PresentationWarning, read_presentations
from nwb_it.steps.reliability import run_reliability

N_STIM, N_REP = 10, 6


def write_file(path, stimulus=None, onset=None, ragged=False, extra_rows=None):
    """Flat 8 spikes/s units; ``/intervals/presentations`` with the given stimulus and onset columns."""
    rng = np.random.default_rng(1)
    stim = np.tile(np.arange(N_STIM), N_REP) if stimulus is None else stimulus
    onsets = 1.0 + np.arange(len(stim)) * 0.5 if onset is None else onset
    nwb = NWBFile(session_description="another lab", identifier="x",
                  session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc))
    end = float(np.nanmax(np.where(np.isfinite(onsets), onsets, np.nan))) + 2
    for _ in range(4):
        nwb.add_unit(spike_times=np.sort(rng.uniform(0, end, int(8 * end))), obs_intervals=[[0.0, end]])
    table = TimeIntervals(name="presentations", description="stimulus presentations")
    table.add_column("stim", "stimulus id")
    table.add_column("onset", "stimulus onset")
    if ragged:
        table.add_column("frames", "frame times of the presentation", index=True)
    rows = list(zip(stim, onsets))
    for i, (s, o) in enumerate(rows + list(extra_rows or [])):
        start = 0.0 if not np.isfinite(o) else float(o)
        kwargs = {"frames": [start, start + 0.1]} if ragged else {}
        table.add_row(start_time=start, stop_time=start + 0.3, stim=s, onset=float(o), **kwargs)
        del i
    nwb.add_time_intervals(table)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path


def _read(path, **spec):
    with NWBHDF5IO(str(path), "r") as io:
        return read_presentations(io.read(), PresentationSpec(intervals="presentations", stimulus_column="stim",
                                                              onset_column="onset", **spec))


def _cli_error(path, capsys, *extra):
    code = main(["reliability", str(path), "--intervals", "presentations", "--stimulus-column", "stim",
                 "--onset-column", "onset", "--n-perm", "10", *extra])
    err = capsys.readouterr().err.strip().splitlines()
    return code, err


def test_nan_onsets_are_refused_or_dropped_with_a_count(tmp_path, capsys):
    onset = 1.0 + np.arange(N_STIM * N_REP) * 0.5
    onset[[3, 17]] = np.nan
    onset[20] = np.inf
    path = write_file(tmp_path / "f.nwb", onset=onset)
    code, err = _cli_error(path, capsys)
    assert code == 2 and len(err) == 1
    assert err[0].startswith(f"nwb-it: error: {path}: /intervals/presentations: 'onset' is NaN or infinite "
                             "(rows 3, 17, 20)") and "--drop-invalid-presentations" in err[0]
    with pytest.warns(PresentationWarning, match="3 presentation"):
        pres = _read(path, drop_invalid=True)
    assert len(pres) == N_STIM * N_REP - 3 and np.isfinite(pres.onset).all()
    assert 3 not in pres.rows and 17 not in pres.rows and 4 in pres.rows


def test_missing_stimulus_ids_are_not_a_stimulus_called_nan(tmp_path, capsys):
    stim = np.tile(np.arange(N_STIM), N_REP).astype(float)
    stim[[5, 9]] = np.nan
    path = write_file(tmp_path / "f.nwb", stimulus=stim)
    code, err = _cli_error(path, capsys)
    assert code == 2 and "no stimulus in 'stim'" in err[0] and "rows 5, 9" in err[0]
    with pytest.warns(PresentationWarning):
        pres = _read(path, drop_invalid=True)
    assert "nan" not in set(pres.names) and len(np.unique(pres.clip)) == N_STIM


def test_empty_text_stimulus_is_missing(tmp_path):
    stim = np.array([f"img{s}" for s in np.tile(np.arange(N_STIM), N_REP)], dtype=object)
    stim[7] = ""
    path = write_file(tmp_path / "f.nwb", stimulus=list(stim))
    with pytest.raises(Exception, match="no stimulus in 'stim'.*row 7"):
        _read(path)


def test_duplicated_rows_do_not_make_flat_units_responsive(tmp_path, capsys):
    stim = np.tile(np.arange(N_STIM), N_REP)
    onset = 1.0 + np.arange(stim.size) * 0.5
    path = write_file(tmp_path / "f.nwb", stimulus=np.concatenate([stim, stim]), onset=np.concatenate([onset, onset]))
    code, err = _cli_error(path, capsys)
    assert code == 2 and "the same onset and stimulus as an earlier row" in err[0]
    assert f"rows {stim.size}, {stim.size + 1}" in err[0]
    with pytest.warns(PresentationWarning, match=f"{stim.size} presentation"):
        res = run_reliability(path, ReliabilityParams(n_perm=20), presentations=PresentationSpec(
            intervals="presentations", stimulus_column="stim", onset_column="onset", drop_invalid=True))
    assert not res.responsive.any() and np.nanmax(res.dprime) < 3


def test_a_ragged_column_is_not_read_as_its_offsets(tmp_path, capsys):
    path = write_file(tmp_path / "f.nwb", ragged=True)
    code = main(["reliability", str(path), "--intervals", "presentations", "--stimulus-column", "stim",
                 "--onset-column", "frames"])
    err = capsys.readouterr().err.strip().splitlines()
    assert code == 2 and len(err) == 1 and "column 'frames' is ragged" in err[0] and "--onset-column" in err[0]
    code = main(["reliability", str(path), "--intervals", "presentations", "--stimulus-column", "frames",
                 "--onset-column", "onset"])
    assert code == 2 and "ragged" in capsys.readouterr().err


def test_start_after_stop_is_refused(tmp_path):
    path = tmp_path / "f.nwb"
    nwb = NWBFile(session_description="x", identifier="x", session_start_time=datetime(2024, 1, 1, tzinfo=timezone.utc))
    nwb.add_unit(spike_times=[0.5, 1.5], obs_intervals=[[0.0, 10.0]])
    nwb.add_trial_column("stim", "stimulus")
    nwb.add_trial(start_time=1.0, stop_time=1.5, stim="a")
    nwb.add_trial(start_time=3.0, stop_time=2.0, stim="b")
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    with NWBHDF5IO(str(path), "r") as io, pytest.raises(Exception, match=r"start_time after stop_time \(row 1\)"):
        read_presentations(io.read(), PresentationSpec(stimulus_column="stim"))


def test_nwb_it_trials_with_one_clip_repeat_twice_are_refused(small_nwb, tmp_path):
    import h5py

    from .helpers import copy_to

    path = copy_to(small_nwb, tmp_path)
    with h5py.File(path, "r+") as f:
        repeat = f["intervals/trials/repeat"]
        index = f["intervals/trials/stimulus_index"][:]
        rows = np.flatnonzero(index == index[0])
        repeat[rows[1]] = repeat[rows[0]]
    with NWBHDF5IO(str(path), "r") as io, pytest.raises(Exception, match=r"one \(stimulus_index, repeat\)"):
        read_presentations(io.read())
