"""Batches of sessions: one output per recording, per-session metadata checked before anything runs."""
from __future__ import annotations

import shutil
from pathlib import Path

import pytest
import yaml
from pynwb import NWBHDF5IO

from nwb_it.cli import main
from nwb_it.core.errors import NwbItError
from nwb_it.steps.convert import plan_conversions

from .helpers import META


def _yaml(tmp_path, meta=META):
    path = tmp_path / "meta.yaml"
    path.write_text(yaml.safe_dump(meta))
    return path


def _two_days(mat, folder):
    """One recording's file name in two day folders: ``day1/rec_...`` and ``day2/rec_...``."""
    out = []
    for day in ("day1", "day2"):
        (folder / day).mkdir()
        out.append(Path(shutil.copy(mat, folder / day / "rec_fixshortvid1_coco.mat")))
    return out


def _nwb_files(folder):
    return sorted(p.relative_to(folder).as_posix() for p in folder.rglob("*.nwb"))


def test_sessions_of_one_stimulus_set_on_two_dates_become_two_files(small_mat, tmp_path, capsys):
    a, b = tmp_path / "20240301_fixshortvid1_coco.mat", tmp_path / "20240302_fixshortvid1_coco.mat"
    shutil.copy(small_mat, a)
    shutil.copy(small_mat, b)
    out = tmp_path / "ds"
    assert main(["convert", str(a), str(b), "-o", str(out), "--metadata", str(_yaml(tmp_path)),
                 "--workers", "1"]) == 0
    assert _nwb_files(out) == ["sub-coco/sub-coco_ses-20240301-fixshortvid1_ecephys.nwb",
                               "sub-coco/sub-coco_ses-20240302-fixshortvid1_ecephys.nwb"]
    for path, source in zip(sorted(out.rglob("*.nwb")), (a, b)):
        with NWBHDF5IO(str(path), "r") as io:
            assert source.name in io.read().notes, "each file names its own recording"
    assert "2 sessions take NWBFile.session_start_time" in capsys.readouterr().err, "a shared start time is flagged"


@pytest.mark.parametrize("overwrite", [False, True])
def test_two_recordings_mapping_to_one_file_are_refused_before_anything_runs(small_mat, tmp_path, capsys,
                                                                              overwrite):
    a, b = _two_days(small_mat, tmp_path)
    out = tmp_path / "ds"
    argv = ["convert", str(a), str(b), "-o", str(out), "--metadata", str(_yaml(tmp_path))]
    assert main(argv + (["--overwrite"] if overwrite else [])) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(a) in err[0] and str(b) in err[0] and "--session-table" in err[0]
    assert "--overwrite" not in err[0], "the hint never suggests destroying one of the two"
    assert not out.exists() or _nwb_files(out) == [], "nothing converted"


def test_session_table_gives_each_session_its_ids_and_times(small_mat, tmp_path):
    a, b = _two_days(small_mat, tmp_path)
    table = tmp_path / "sessions.csv"
    table.write_text("file,session_id,session_start_time,Subject.age,keywords\n"
                     f"{a},day1,2024-03-01T10:00:00-05:00,P7Y,IT cortex;video\n"
                     f"{b},day2,2024-03-02T11:30:00-05:00,P7Y2M,IT cortex\n")
    out = tmp_path / "ds"
    assert main(["convert", str(a), str(b), "-o", str(out), "--metadata", str(_yaml(tmp_path)),
                 "--session-table", str(table), "--workers", "1"]) == 0
    assert _nwb_files(out) == ["sub-coco/sub-coco_ses-day1_ecephys.nwb", "sub-coco/sub-coco_ses-day2_ecephys.nwb"]
    with NWBHDF5IO(str(out / "sub-coco/sub-coco_ses-day2_ecephys.nwb"), "r") as io:
        nwb = io.read()
        assert nwb.session_start_time.isoformat() == "2024-03-02T11:30:00-05:00"
        assert nwb.subject.age == "P7Y2M" and list(nwb.keywords[:]) == ["IT cortex"]
        assert nwb.lab == "Vision Lab", "the shared YAML still applies"


def test_session_table_is_validated_for_every_file_before_the_first_conversion(small_mat, tmp_path):
    a, b = tmp_path / "20240301_fixshortvid1_coco.mat", tmp_path / "20240302_fixshortvid1_coco.mat"
    shutil.copy(small_mat, a)
    shutil.copy(small_mat, b)
    table = tmp_path / "sessions.yaml"
    table.write_text(yaml.safe_dump({a.name: {"Subject": {"age": "seven"}},
                                     b.name: {"session_start_time": "2024-03-02T11:30:00"}}))
    with pytest.raises(NwbItError) as caught:
        plan_conversions([a, b], tmp_path / "ds", META, table)
    text = str(caught.value)
    assert "2 of 2 sessions" in text and "Subject.age 'seven'" in text and "has no timezone" in text
    assert not (tmp_path / "ds").exists()
    table.write_text(yaml.safe_dump({a.name: {"age": "P7Y"}}))
    with pytest.raises(NwbItError, match=r"no row for 1 session\(s\)"):
        plan_conversions([a, b], tmp_path / "ds", META, table)


def test_the_same_file_named_twice_is_converted_once(small_mat, tmp_path):
    plan = plan_conversions([small_mat, small_mat.parent / ".." / small_mat.parent.name / small_mat.name],
                            tmp_path, META)
    assert len(plan) == 1


def test_a_bad_value_blames_where_it_came_from(small_mat, tmp_path, capsys):
    bad_name = tmp_path / "session1.mat"
    shutil.copy(small_mat, bad_name)
    meta = _yaml(tmp_path)
    assert main(["convert", str(bad_name), "-o", str(tmp_path / "o"), "--metadata", str(meta)]) == 2
    err = capsys.readouterr().err.strip()
    assert err.startswith(f"nwb-it: error: {bad_name}: Subject.subject_id is missing"), "the file name, not the YAML"


def test_a_file_listed_twice_in_a_yaml_session_table_is_refused_like_csv(small_mat, tmp_path):
    a = Path(shutil.copy(small_mat, tmp_path / "20240301_fixshortvid1_coco.mat"))
    table = tmp_path / "sessions.yaml"
    table.write_text(f"{a.name}:\n  session_id: first\n{a.name}:\n  session_id: second\n")
    with pytest.raises(NwbItError, match=r"given twice \(lines 1 and 3\)"):
        plan_conversions([a], tmp_path / "ds", META, table)


@pytest.mark.parametrize("row, says", [
    ({"Subject": {"date_of_birth": "2030-01-01"}}, "is after the session start"),
    ({"Subject": {"weight": "-3 kg"}}, "must be above 0 kg"),
    ({"Subject": {"weight": "4000 kg"}}, "over 1000 kg"),
    ({"Subject": {"age": "P1000000000000Y"}}, "over 100 years"),
    ({"Subject": {"age": "P9Y/P3Y"}}, "starts after it ends"),
    ({"NWBFile": {"session_start_time": "0001-01-01T00:00:00+00:00"}}, "before 1900"),
    ({"Subject": {"date_of_birth": "1700-01-01"}}, "before 1900"),
])
def test_implausible_session_values_are_refused(small_mat, tmp_path, row, says):
    a = Path(shutil.copy(small_mat, tmp_path / "20240301_fixshortvid1_coco.mat"))
    table = tmp_path / "sessions.yaml"
    base = {"NWBFile": {"session_start_time": "2024-03-01T10:00:00-05:00"}}
    table.write_text(yaml.safe_dump({a.name: {**base, **row}}))      # a row's NWBFile replaces the base one
    with pytest.raises(NwbItError, match=says):
        plan_conversions([a], tmp_path / "ds", META, table)


def test_plausible_values_pass_the_same_rules(small_mat, tmp_path):
    a = Path(shutil.copy(small_mat, tmp_path / "20240301_fixshortvid1_coco.mat"))
    table = tmp_path / "sessions.yaml"
    table.write_text(yaml.safe_dump({a.name: {"NWBFile": {"session_start_time": "2024-03-01T10:00:00-05:00"},
                                              "Subject": {"date_of_birth": "2016-05-01", "weight": "6.5 kg",
                                                          "age": "P7Y10M"}}}))
    assert len(plan_conversions([a], tmp_path / "ds", META, table)) == 1


hypothesis = pytest.importorskip("hypothesis")
st = hypothesis.strategies


@hypothesis.settings(max_examples=60, deadline=None)
@hypothesis.given(rows=st.lists(st.tuples(st.sampled_from(["a.mat", "b.mat", "c.mat"]),
                                          st.text("abcdefghij0123456789-", min_size=1, max_size=8)),
                                min_size=1, max_size=5))
def test_session_table_yaml_keeps_every_row_or_refuses_property(rows):
    """Whatever the rows: a file given twice is refused, else every row is read back as written."""
    import tempfile

    from nwb_it.nwb.session_table import load_session_table

    text = "".join(f"{name}:\n  session_id: '{sid}'\n" for name, sid in rows)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "t.yaml"
        path.write_text(text)
        names = [n for n, _ in rows]
        if len(set(names)) < len(names):
            with pytest.raises(NwbItError, match="given twice"):
                load_session_table(path)
        else:
            table = load_session_table(path)
            assert {n: t["NWBFile"]["session_id"] for n, t in table.items()} == dict(rows)
