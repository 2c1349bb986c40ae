"""MAT -> NWB: exact round trip, v7.3 == v5, source fields kept, trials on a sane clock, atomic writes."""
from __future__ import annotations

import warnings

import numpy as np
import pytest
from pynwb import NWBHDF5IO

from nwb_it import NwbItError, read_session, read_source_fields, run_convert
from nwb_it.core.output import OutputPolicy
from nwb_it.nwb.session_file import unit_channels

from .helpers import META, nested_equal


def _read(path):
    io = NWBHDF5IO(str(path), "r")
    return io, io.read()


def test_round_trip_exact(small_mat, small_nwb):
    s = read_session(small_mat)
    io, nwb = _read(small_nwb)
    with io:
        trials = nwb.trials.to_dataframe()
        units = nwb.units
        assert len(trials) == s.n_presentations
        total = 0
        for u in range(s.n_units):
            times = units["spike_times"][u]
            assert np.all(np.diff(times) >= 0), "ascending on the session clock"
            for _, row in trials.iterrows():
                inside = times[(times >= row.start_time) & (times <= row.stop_time)]
                source = np.sort(s.spikes(u, int(row["stimulus_index"]), int(row["repeat"])))
                np.testing.assert_allclose(inside - row.stimulus_onset, source, atol=1e-9, rtol=0)
                total += inside.size
            assert times.size == s.spike_counts[u].sum(), "none lost, none duplicated"
        assert total == s.spike_times.size
        assert list(units["unit_name"][:]) == s.unit_names
        assert units["spike_times"][s.n_units - 1].size == 0, "the silent unit is kept"
        assert 2 not in set(trials.stimulus_index), "the clip without repeats has no trial"
        assert all(trials.stimulus_name == [s.clip_names[i] for i in trials.stimulus_index])


def test_trials_timeline(small_mat, small_nwb):
    s = read_session(small_mat)
    io, nwb = _read(small_nwb)
    with io:
        t = nwb.trials.to_dataframe()
        assert np.all(np.diff(t.start_time) > 0)
        assert np.all(t.stop_time.values[:-1] < t.start_time.values[1:]), "windows never overlap"
        assert t.start_time.min() >= 0
        np.testing.assert_array_equal(np.diff(t.trialnum), 1), "ordered by the source's trialnum"
        obs = nwb.units["obs_intervals"]
        assert all(len(obs[u]) == 1 for u in range(s.n_units)), "exactly one obs interval per unit"
        assert nwb.units.resolution == pytest.approx(1 / 30000)


def test_source_fields_recoverable(small_mat, small_nwb):
    s = read_session(small_mat)
    io, nwb = _read(small_nwb)
    with io:
        fields = read_source_fields(nwb)
    assert list(fields) == list(s.fields)
    for name in s.fields:
        assert nested_equal(fields[name], s.fields[name]), name


def test_v73_and_v5_give_the_same_nwb(small_mat, small_mat_v5, small_nwb, tmp_path):
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        other = run_convert(small_mat_v5, META, out_dir=tmp_path)
    io_a, a = _read(small_nwb)
    io_b, b = _read(other)
    with io_a, io_b:
        ta, tb = a.trials.to_dataframe(), b.trials.to_dataframe()
        assert ta.equals(tb)
        for col in ("spike_times", "unit_name", "obs_intervals"):
            for u in range(len(a.units)):
                np.testing.assert_array_equal(a.units[col][u], b.units[col][u])
        fa, fb = read_source_fields(a), read_source_fields(b)
        assert all(nested_equal(fa[k], fb[k]) for k in fa) and list(fa) == list(fb)
        assert a.subject.subject_id == b.subject.subject_id == "coco"
        assert a.session_id == "rec-fixshortvid1"
        assert str(a.session_start_time) == "2024-03-01 10:00:00-05:00"


def test_electrodes_from_unit_names(small_nwb):
    assert unit_channels(["ch012_u1", "ch012_u2", "ch3"])[0].tolist() == [12, 12, 3]
    assert unit_channels(["a", "b7"])[0].tolist() == [1, 2]
    io, nwb = _read(small_nwb)
    with io:
        electrodes = nwb.electrodes.to_dataframe()
        assert electrodes.channel.tolist() == [1, 2, 3]
        assert set(electrodes.location) == {"inferior temporal cortex"}
        assert [nwb.units["electrodes"][u]["channel"].item() for u in range(6)] == [1, 1, 2, 2, 3, 3]


def test_refuses_to_overwrite_and_keeps_existing(small_mat, tmp_path):
    out = run_convert(small_mat, META, out_dir=tmp_path)
    before = out.read_bytes()
    with pytest.raises(NwbItError, match="overwrite=True"):
        run_convert(small_mat, META, out_dir=tmp_path)
    assert out.read_bytes() == before
    assert run_convert(small_mat, META, out_dir=tmp_path, output=OutputPolicy(overwrite=True)) == out
    assert out.read_bytes() != before


def test_failure_mid_write_leaves_existing_file(small_mat, tmp_path, monkeypatch):
    out = run_convert(small_mat, META, out_dir=tmp_path)
    before = out.read_bytes()

    def explode(self, *args, **kwargs):
        raise KeyboardInterrupt  # as if the user pressed Ctrl-C during the write
    monkeypatch.setattr(NWBHDF5IO, "write", explode)
    with pytest.raises(KeyboardInterrupt):
        run_convert(small_mat, META, out_dir=tmp_path, output=OutputPolicy(overwrite=True))
    assert out.read_bytes() == before
    assert sorted(p.name for p in out.parent.iterdir()) == [out.name], "no temporary file left"


def test_metadata_yaml_merged(small_mat, tmp_path):
    yaml_path = tmp_path / "meta.yaml"
    yaml_path.write_text("NWBFile:\n  session_start_time: 2023-05-02T09:30:00+02:00\n  lab: Livingstone\n"
                         "Subject:\n  subject_id: Coco1\n  age: P5Y/P7Y\n  sex: F\n"
                         "Units:\n  resolution: 5.0e-05\n")
    out = run_convert(small_mat, yaml_path, out_dir=tmp_path / "o")
    assert out.parts[-2:] == ("sub-Coco1", "sub-Coco1_ses-rec-fixshortvid1_ecephys.nwb")
    io, nwb = _read(out)
    with io:
        assert nwb.lab == "Livingstone" and nwb.subject.sex == "F" and nwb.subject.age == "P5Y/P7Y"
        assert nwb.subject.species == "Macaca mulatta", "default kept under the merge"
        assert nwb.units.resolution == 5e-05


def test_start_time_from_header_warns(small_mat, tmp_path):
    meta = {"Subject": {"age": "P7Y"}}
    with pytest.warns(UserWarning, match="Created on"):
        out = run_convert(small_mat, meta, out_dir=tmp_path)
    s = read_session(small_mat)
    io, nwb = _read(out)
    with io:
        assert nwb.session_start_time.replace(tzinfo=None) == s.created


@pytest.mark.parametrize("section, key, value, message", [
    ("Subject", "sex", "male", "Subject.sex"),
    ("Subject", "age", "7 years", "Subject.age"),
    ("Subject", "species", "macaque", "Subject.species"),
    ("NWBFile", "session_start_time", "2024-03-01T10:00:00", "no timezone"),
    ("NWBFile", "session_start_time", "2999-01-01T00:00:00+00:00", "future"),
    ("NWBFile", "colour", "red", "unknown field NWBFile.colour"),
    ("Units", "resolution", -1, "Units.resolution"),
])
def test_invalid_metadata_refused_before_writing(small_mat, tmp_path, section, key, value, message):
    meta = {"NWBFile": dict(META["NWBFile"]), "Subject": dict(META["Subject"]), "Units": {}}
    meta[section][key] = value
    with pytest.raises(NwbItError, match=message):
        run_convert(small_mat, meta, out_dir=tmp_path)
    assert not any(tmp_path.rglob("*")), "nothing written"
