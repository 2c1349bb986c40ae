"""Presentation tables with faults, written by pynwb alone: refused with one line, or dropped on request."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
from pynwb import NWBHDF5IO, NWBFile
from pynwb.epoch import TimeIntervals

from nwb_it.cli import main
from nwb_it.core.output import OutputPolicy
from nwb_it.core.params import PresentationSpec, ReliabilityParams, to_dict
from nwb_it.nwb.presentations import PresentationWarning, read_presentations
from nwb_it.nwb.results import read_reliability_table
from nwb_it.steps.reliability import run_reliability

from .synthetic import add_image_units, reliability_by_fixation

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


def write_fixation_file(path, n_clips=20, n_repeats=10, broken=0.3, seed=0):
    """A DiCarlo-style layout: one trial per presentation, ``stimulus_presented`` ids, ``fixation_correct`` and
    ``stimuli_block_index``; units 0-5 respond to the clip 50-250 ms after onset only when fixation held, units
    6-9 fire at a constant rate. Returns the fixation flags."""
    rng = np.random.default_rng(seed)
    stim = np.tile(np.arange(n_clips), n_repeats)
    rng.shuffle(stim)
    onset = 1.0 + 0.6 * np.arange(stim.size)
    fixation = rng.random(stim.size) >= broken
    nwb = NWBFile(session_description="fixation", identifier="fix", session_start_time=datetime(2024, 1, 1,
                                                                                              tzinfo=timezone.utc))
    nwb.add_trial_column("stimulus_presented", "image id")
    nwb.add_trial_column("fixation_correct", "fixation held")
    nwb.add_trial_column("stimuli_block_index", "block")
    for i, (t, s, f) in enumerate(zip(onset, stim, fixation)):
        nwb.add_trial(start_time=t, stop_time=t + 0.5, stimulus_presented=int(s), fixation_correct=bool(f),
                      stimuli_block_index=i // 50)
    add_image_units(nwb, onset, stim, n_clips, seed=seed + 1, shown=fixation)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return fixation


def test_where_keeps_only_the_presentations_an_expression_selects(tmp_path, capsys):
    """With 30 % broken fixations (no response there), `--where fixation_correct` finds the six responsive units;
    `--where "not fixation_correct"` finds none; the kept count is said; bad expressions are one line."""
    path = tmp_path / "fix.nwb"
    fixation = write_fixation_file(path)
    held, broken = reliability_by_fixation(path)
    assert held.responsive[:6].sum() >= 5 and not held.responsive[6:].any(), held.dprime
    assert not broken.responsive.any(), broken.dprime
    with NWBHDF5IO(str(path), "r") as io:
        pres = read_presentations(io.read(), PresentationSpec(stimulus_column="stimulus_presented",
                                                              where="fixation_correct and stimuli_block_index in "
                                                                    "(0, 2)"))
    assert len(pres) == int((fixation & np.isin(np.arange(fixation.size) // 50, (0, 2))).sum())
    assert main(["reliability", str(path), "--stimulus-column", "stimulus_presented", "--where", "fixation_correct",
                 "--n-perm", "20", "--n-null", "100"]) == 0
    assert f"{int(fixation.sum())} of {fixation.size} presentations kept where fixation_correct" in \
        capsys.readouterr().err
    for expr, says in (("stimuli_block_index", "not true/false"), ("fixation_correct == 'yes'", "true/false values"),
                       ("nope", "no column 'nope'"), ("stimulus_presented < 'a'", "needs a number"),
                       ("fixation_correct and", "a column name expected")):
        assert main(["reliability", str(path), "--stimulus-column", "stimulus_presented", "--where", expr]) == 2
        err = capsys.readouterr().err.strip().splitlines()
        assert len(err) == 1 and says in err[0], (expr, err)
    with NWBHDF5IO(str(path), "r") as io:
        recorded = io.read().processing["ecephys"]["reliability"].description
    assert "fixation_correct" in recorded, "the selection is recorded with the results"


hypothesis = pytest.importorskip("hypothesis")


@hypothesis.settings(max_examples=100, deadline=None)
@hypothesis.given(text=hypothesis.strategies.text(max_size=40))
def test_any_where_text_parses_or_is_one_line_property(text):
    """Whatever is typed: a tree, or InvalidParameter with one line; never an exception of another kind."""
    from nwb_it.core.errors import InvalidParameter
    from nwb_it.core.where import parse_where

    try:
        parse_where(text)
    except InvalidParameter as exc:
        assert "\n" not in str(exc).strip()


def _presented(n_images=12, n_repeats=10, seed=0):
    rng = np.random.default_rng(seed)
    stim = np.tile(np.arange(n_images), n_repeats)
    rng.shuffle(stim)
    return 1.0 + 0.6 * np.arange(stim.size), stim


def test_presentations_of_an_index_series_over_images_are_analysed(tmp_path):
    """The layout of NWB's tutorials and the DiCarlo package: an IndexSeries in /stimulus/presentation indexing
    an Images container. Found without naming it (the file's only candidate, said), stimuli named by image."""
    from pynwb.base import ImageReferences, Images
    from pynwb.image import GrayscaleImage, IndexSeries

    onset, stim = _presented()
    nwb = NWBFile(session_description="index", identifier="index", session_start_time=datetime(
        2024, 1, 1, tzinfo=timezone.utc))
    images = [GrayscaleImage(name=f"img{i:02d}", data=np.full((4, 4), i, dtype=np.uint8)) for i in range(12)]
    container = Images(name="stimuli", images=images, description="the images",
                       order_of_images=ImageReferences(name="order_of_images", data=images))
    nwb.add_stimulus_template(container)
    nwb.add_stimulus(IndexSeries(name="stimulus_presentation", data=stim.astype(np.uint32), indexed_images=container,
                                 unit="N/A", timestamps=onset))
    add_image_units(nwb, onset, stim, 12, seed=1)
    path = tmp_path / "index.nwb"
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    with pytest.warns(UserWarning, match="using 'stimulus_presentation'"):
        res = run_reliability(path, ReliabilityParams(n_perm=50, n_null=100),
                              output=OutputPolicy(derivative_dir=tmp_path / "d"))
    assert res.responsive[:6].sum() >= 5 and not res.responsive[6:].any(), res.dprime
    with NWBHDF5IO(str(path), "r") as io:
        pres = read_presentations(io.read(), PresentationSpec(intervals="stimulus_presentation"))
        some = read_presentations(io.read(), PresentationSpec(intervals="stimulus_presentation",
                                                              where="stimulus_index < 6"))
    assert list(pres.names[:3]) == [f"img{s:02d}" for s in stim[:3]] and len(pres) == stim.size
    assert len(some) == int((stim < 6).sum())
    from nwb_it.core.params import HeatmapParams
    from nwb_it.steps import run_heatmaps

    figures = run_heatmaps(path, HeatmapParams(units="all"), out_dir=tmp_path / "heat",
                           presentations=PresentationSpec(intervals="stimulus_presentation"))
    assert len(figures) >= 10


def test_presentations_of_an_events_table_are_analysed_and_selected(tmp_path):
    """NWB 2.10+ EventsTable: timestamps are the onsets, its own columns are stimulus and --where columns."""
    from pynwb.event import EventsTable

    onset, stim = _presented(seed=2)
    nwb = NWBFile(session_description="events", identifier="events", session_start_time=datetime(
        2024, 1, 1, tzinfo=timezone.utc))
    events = EventsTable(name="stimulus_onsets", description="one row per image shown")
    events.add_column(name="image", description="image id")
    events.add_column(name="valid", description="fixation held")
    valid = np.random.default_rng(3).random(stim.size) > 0.2
    for t, s, v in zip(onset, stim, valid):
        events.add_row(timestamp=t, image=int(s), valid=bool(v))
    nwb.add_events_table(events)
    nwb.add_trial(start_time=0.0, stop_time=0.5)                     # another table: no guessing, it is named
    add_image_units(nwb, onset, stim, 12, seed=4)
    path = tmp_path / "events.nwb"
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    spec = PresentationSpec(intervals="stimulus_onsets", stimulus_column="image", where="valid")
    res = run_reliability(path, ReliabilityParams(n_perm=50, n_null=100), presentations=spec)
    assert res.responsive[:6].sum() >= 5 and not res.responsive[6:].any(), res.dprime
    with NWBHDF5IO(str(path), "r") as io:
        assert len(read_presentations(io.read(), spec)) == int(valid.sum())
        stored = read_reliability_table(io.read())
    assert res.presentations == stored.presentations == to_dict(spec)    # the selection travels with the data
