"""The one write mechanism: umask modes, symlinks, locks, the overwrite rule, outputs onto inputs, stale temps."""
from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import numpy as np
import pytest
from pynwb import NWBHDF5IO

from nwb_it.cli import main
from nwb_it.io.atomic import atomic_output, remove_stale_temporaries

from .helpers import META, copy_to

ROOT = Path(__file__).resolve().parents[1]


@pytest.mark.parametrize("umask, expected", [(0o022, 0o644), (0o077, 0o600)])
def test_new_files_get_the_umask_and_replaced_files_keep_their_mode(small_mat, tmp_path, umask, expected):
    old = os.umask(umask)
    try:
        from nwb_it import run_convert

        out = run_convert(small_mat, META, out_dir=tmp_path)
        figures = tmp_path / "figs"
        assert main(["reliability", str(out), "--n-perm", "10", "--export-pickle", str(tmp_path / "r.pkl")]) == 0
        assert main(["heatmaps", str(out), "-o", str(figures), "--units", "all"]) == 0
    finally:
        os.umask(old)
    for path in (out, tmp_path / "r.pkl", figures / out.stem / "heatmaps" / "population.png"):
        assert path.stat().st_mode & 0o777 == expected, (path, oct(path.stat().st_mode))
    os.chmod(out, 0o640)
    assert main(["reliability", str(out), "--n-perm", "10"]) == 0
    assert out.stat().st_mode & 0o777 == 0o640, "a replaced file keeps its mode"


def test_overwrite_rule_and_outputs_onto_inputs(small_nwb, tmp_path, capsys):
    path = copy_to(small_nwb, tmp_path)
    before = path.read_bytes()
    assert main(["reliability", str(path), "--n-perm", "10", "--export-pickle", str(path)]) == 2
    err = capsys.readouterr().err.strip()
    assert "both an input and an output" in err and err.count("\n") == 0
    assert path.read_bytes() == before
    figs = tmp_path / "figs"
    assert main(["heatmaps", str(path), "-o", str(figs), "--units", "all"]) == 0
    capsys.readouterr()
    assert main(["heatmaps", str(path), "-o", str(figs), "--units", "all"]) == 2
    assert "--overwrite" in capsys.readouterr().err
    assert main(["heatmaps", str(path), "-o", str(figs), "--units", "all", "--overwrite"]) == 0


def test_symlinked_nwb_keeps_its_link(small_nwb, tmp_path):
    real = copy_to(small_nwb, tmp_path)
    link = tmp_path / "link.nwb"
    link.symlink_to(real)
    assert main(["reliability", str(link), "--n-perm", "10"]) == 0
    assert link.is_symlink() and link.resolve() == real.resolve()
    with NWBHDF5IO(str(real), "r") as io:
        assert "reliability" in io.read().processing["ecephys"].data_interfaces


CONCURRENT = """
import sys, time
from nwb_it.cli import main
time.sleep(float(sys.argv[2]))
verb = sys.argv[3]
if verb == "reliability":
    sys.exit(main(["reliability", sys.argv[1], "--n-perm", "10"]))
sys.exit(main(["heatmaps", sys.argv[1], "-o", sys.argv[4], "--units", "all", "--overwrite"]))
"""


@pytest.mark.parametrize("offset", [0.0, 0.3, 0.8])
def test_concurrent_appends_keep_both_tables(small_nwb, tmp_path, offset):
    """Two processes append different tables to one file, started at several offsets: both tables survive."""
    from nwb_it.steps.extract import run_extract  # noqa: F401  (the second writer below is reliability + binned)

    path = copy_to(small_nwb, tmp_path)
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    a = subprocess.Popen([sys.executable, "-c", CONCURRENT.replace('"--n-perm", "10"]', '"--n-perm", "10", '
                          '"--store-binned"]'), str(path), "0", "reliability"], env=env)
    b = subprocess.Popen([sys.executable, "-c", CONCURRENT, str(path), str(offset), "reliability"], env=env)
    assert a.wait(timeout=300) == 0 and b.wait(timeout=300) == 0
    import ndx_binned_spikes  # noqa: F401

    with NWBHDF5IO(str(path), "r") as io:
        tables = set(io.read().processing["ecephys"].data_interfaces)
    assert {"reliability", "binned_aligned_spikes"} <= tables, tables


def test_a_killed_runs_temporary_is_cleaned_by_the_next(small_nwb, tmp_path):
    path = copy_to(small_nwb, tmp_path)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    stale = tmp_path / f".{path.stem}.nwb_it-{int(dead.stdout)}-abc123.tmp.nwb"
    stale.write_bytes(b"half a file")
    mine = tmp_path / f".{path.stem}.nwb_it-{os.getpid()}-live.tmp.nwb"
    mine.write_bytes(b"in use")
    assert main(["validate", str(tmp_path)]) in (0, 1)
    assert main(["reliability", str(path), "--n-perm", "10"]) == 0
    assert not stale.exists(), "the dead writer's temporary is gone"
    assert mine.exists(), "a running writer's temporary is left alone"
    mine.unlink()
    assert remove_stale_temporaries(tmp_path) == []


def test_interrupted_write_leaves_nothing(tmp_path):
    target = tmp_path / "x.txt"
    target.write_text("old")
    with pytest.raises(KeyboardInterrupt), atomic_output(target, overwrite=True) as tmp:
        tmp.write_text("half")
        raise KeyboardInterrupt
    assert target.read_text() == "old" and sorted(p.name for p in tmp_path.iterdir()) == ["x.txt"]


def test_column_char_vectors_are_one_string(tmp_path):
    import hdf5storage

    from nwb_it import read_session
    from nwb_it.examples import cell_array, make_example_struct

    struct, _ = make_example_struct(n_units=2, n_clips=3, n_repeats=2, seed=0)
    struct["itemnames"] = cell_array(["clip001", "clip002", "clip003"])
    path = tmp_path / "col_set_monkey.mat"
    hdf5storage.savemat(str(path), {"L2_str": struct}, format="7.3", matlab_compatible=True, oned_as="column")
    import h5py

    with h5py.File(path, "r+") as f:                 # a genuine 2-by-3 char matrix, as MATLAB stores it
        codes = np.array([[ord(c) for c in "abc"], [ord(c) for c in "def"]], dtype=np.uint16)
        f["L2_str"].create_dataset("matrix", data=codes.T)
        f["L2_str/matrix"].attrs["MATLAB_class"] = np.bytes_("char")
    s = read_session(path)
    assert s.clip_names == ["clip001", "clip002", "clip003"]
    assert list(s.fields["matrix"]) == ["abc", "def"], "a multi-row char matrix stays rows"
    import scipy.io

    struct["itemnames"] = cell_array([np.array(list(n)).reshape(-1, 1) for n in ("clip001", "clip002", "clip003")])
    v5 = tmp_path / "col5_set_monkey.mat"
    scipy.io.savemat(v5, {"L2_str": struct}, format="5")
    assert read_session(v5).clip_names == ["clip001", "clip002", "clip003"]


def test_dash_numbered_frames_follow_the_labs_order(tmp_path):
    from PIL import Image

    from nwb_it.core.errors import NwbItError
    from nwb_it.models.frames import discover_clips

    for f in range(1, 13):
        Image.new("RGB", (8, 8), (f * 10, 0, 0)).save(tmp_path / f"c2_mov_f-{f}.png")
    clips = discover_clips(tmp_path)
    assert [p.name for p in clips[0].frames] == [f"c2_mov_f-{f}.png" for f in range(1, 13)], "never backwards"
    Image.new("RGB", (8, 8)).save(tmp_path / "c2_mov_f+3.png")
    with pytest.raises(NwbItError, match=r"frame number 3 appears twice in one clip: c2_mov_f\+3.png and "
                                         r"c2_mov_f-3.png"):
        discover_clips(tmp_path)
    time.sleep(0)


def test_a_file_its_owner_made_read_only_is_refused_unless_forced(small_nwb, tmp_path, capsys):
    path = copy_to(small_nwb, tmp_path)
    os.chmod(path, 0o444)
    before = path.read_bytes()
    assert main(["reliability", str(path), "--n-perm", "10"]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "read-only for its owner (mode 0444)" in err[0] and "--force" in err[0]
    assert path.read_bytes() == before
    assert main(["reliability", str(path), "--n-perm", "10", "--force"]) == 0
    assert path.read_bytes() != before and path.stat().st_mode & 0o777 == 0o444, "replaced, its mode kept"


def test_heatmaps_overwrite_replaces_its_own_set_and_nothing_else(small_nwb, tmp_path):
    path = copy_to(small_nwb, tmp_path)
    out = tmp_path / "figs"
    figs = out / path.stem / "heatmaps"                  # OUT/<session>/heatmaps/
    assert main(["heatmaps", str(path), "-o", str(out), "--units", "all"]) == 0
    first = {p.name for p in (figs / "units").iterdir()}
    mine = figs / "units" / "my_notes.txt"
    mine.write_text("a colleague's file")
    assert main(["reliability", str(path), "--n-perm", "20"]) == 0
    assert main(["heatmaps", str(path), "-o", str(out), "--units", "responsive", "--overwrite"]) == 0
    now = {p.name for p in (figs / "units").iterdir()} - {mine.name}
    assert now < first, "figures of units no longer drawn are gone"
    assert mine.read_text() == "a colleague's file", "a file nwb_it did not write is left alone"
    assert (figs / ".nwb_it-heatmaps-figures.json").is_file()


def test_long_names_fit_the_file_systems_limit(tmp_path):
    target = tmp_path / ("x" * 240 + ".nwb")
    with atomic_output(target) as tmp:
        assert len(tmp.name.encode()) <= 255
        tmp.write_text("ok")
    assert target.read_text() == "ok"
    from nwb_it.io.atomic import lock_path, locked

    with locked(target):
        assert len(lock_path(target).name.encode()) <= 255


@pytest.mark.parametrize("kind", ["fifo", "symlink", "folder"])
def test_a_lock_that_is_not_a_regular_file_is_one_error(small_nwb, tmp_path, capsys, kind):
    path = copy_to(small_nwb, tmp_path)
    lock = tmp_path / f".{path.name}.lock"
    elsewhere = tmp_path / "elsewhere.txt"
    if kind == "fifo":
        os.mkfifo(lock)
    elif kind == "symlink":
        lock.symlink_to(elsewhere)
    else:
        lock.mkdir()
    start = time.monotonic()
    assert main(["reliability", str(path), "--n-perm", "10"]) == 2
    assert time.monotonic() - start < 60, "no hang on a FIFO"
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "lock file" in err[0] and str(path) in err[0]
    assert not elsewhere.exists(), "a symlinked lock is not followed"


def test_replacing_a_folder_never_leaves_a_moment_without_it(tmp_path):
    """A reader polling the folder while it is replaced 30 times always finds it, with a whole version inside."""
    import threading

    from nwb_it.io.atomic import atomic_folder, exchange

    target = tmp_path / "model"
    with atomic_folder(target) as tmp:
        (tmp / "config.json").write_text("0")
    assert exchange(tmp_path / "model", tmp_path / "model"), "this system swaps folders atomically"
    missing, done = [], threading.Event()

    def watch():
        while not done.is_set():
            try:
                (target / "config.json").read_text()
            except FileNotFoundError:
                missing.append(1)

    reader = threading.Thread(target=watch)
    reader.start()
    try:
        for version in range(1, 31):
            with atomic_folder(target, overwrite=True) as tmp:
                (tmp / "config.json").write_text(str(version))
    finally:
        done.set()
        reader.join()
    assert not missing and (target / "config.json").read_text() == "30"
    assert [p.name for p in tmp_path.iterdir()] == ["model"], "nothing left beside it"


@pytest.mark.parametrize("proc", [True, False])
def test_the_umask_is_read_without_being_set(monkeypatch, tmp_path, proc):
    """``os.umask`` reads by setting: another thread's file would get the temporary mask. Read from /proc, or
    elsewhere from what the kernel gives a new file; never through os.umask."""
    import os

    from nwb_it.io import atomic

    old = os.umask(0o027)
    try:
        monkeypatch.setattr(os, "umask", lambda *_: pytest.fail("os.umask called"))
        if not proc:
            monkeypatch.setattr(atomic, "open", lambda *a, **k: (_ for _ in ()).throw(OSError("no /proc")),
                                raising=False)
        assert atomic._umask() == 0o027
        with atomic.atomic_output(tmp_path / "x.txt") as tmp:
            tmp.write_text("x")
        assert (tmp_path / "x.txt").stat().st_mode & 0o777 == 0o640
    finally:
        monkeypatch.undo()
        os.umask(old)
