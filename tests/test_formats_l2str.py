"""Reading L2_str sessions: our writer, hdf5storage (third-party v7.3), scipy v5 and mat73 agree."""
from __future__ import annotations

import h5py
import hdf5storage
import mat73
import numpy as np
import pytest

from nwb_it import NwbItError, read_session
from nwb_it.examples import cell_array
from nwb_it.formats.l2str.cells import walk_spike_cells
from nwb_it.formats.l2str.reader import v73_cells

from .helpers import nested_equal


def _same_spikes(a, b) -> None:
    assert a.unit_names == b.unit_names and a.clip_names == b.clip_names
    np.testing.assert_array_equal(a.n_repeats, b.n_repeats)
    np.testing.assert_array_equal(a.spike_counts, b.spike_counts)
    np.testing.assert_array_equal(a.spike_times, b.spike_times)


def test_example_has_the_promised_shape(small_mat):
    s = read_session(small_mat)
    assert (s.n_units, s.n_clips) == (6, 7)
    assert s.n_repeats[2] == 0, "one clip without repeats"
    assert len(set(s.n_repeats[s.n_repeats > 0])) > 1, "ragged repeats"
    assert s.spike_counts[-1].sum() == 0, "a silent unit"
    assert (s.spike_counts == 0).any(), "repeats without spikes"
    ticks = s.spike_times * 30000
    np.testing.assert_allclose(ticks, np.round(ticks), atol=1e-6)
    assert s.created is not None and "MATLAB 7.3 MAT-file" in s.header


def test_matches_mat73(small_mat):
    s = read_session(small_mat)
    spikes = mat73.loadmat(str(small_mat))["L2_str"]["spikes"]
    for u in range(s.n_units):
        for k in range(s.n_clips):
            repeats = spikes[u][0][k][0] or []
            assert len(repeats) == s.n_repeats[k]
            for r, cell in enumerate(repeats):
                ref = np.zeros(0) if cell[0] is None else np.atleast_1d(cell[0])
                np.testing.assert_array_equal(s.spikes(u, k, r), ref)


def test_hdf5storage_v73_and_v5_read_the_same(small_mat, small_mat_v5, small_struct, tmp_path):
    struct, _ = small_struct
    third_party = tmp_path / "hs_fixshortvid1_coco.mat"
    hdf5storage.savemat(str(third_party), {"L2_str": struct}, format="7.3", matlab_compatible=True)
    ours, v5, hs = read_session(small_mat), read_session(small_mat_v5), read_session(third_party)
    assert v5.format.startswith("MATLAB v5") and hs.format.startswith("MATLAB v7.3")
    _same_spikes(ours, v5)
    _same_spikes(ours, hs)
    for other in (v5, hs):
        assert list(other.fields) == list(ours.fields)
        for name in ours.fields:
            assert nested_equal(ours.fields[name], other.fields[name]), name


def test_fast_walk_equals_h5py_walk(small_mat):
    with h5py.File(small_mat, "r") as f:
        fast = walk_spike_cells(v73_cells(f, f["L2_str/spikes"], small_mat, fast=True), small_mat)
        slow = walk_spike_cells(v73_cells(f, f["L2_str/spikes"], small_mat, fast=False), small_mat)
    for a, b in zip(fast, slow):
        np.testing.assert_array_equal(a, b)


@pytest.mark.parametrize("compress", [False, True])
def test_every_storage_of_spike_times_reads_the_same(tmp_path, compress):
    """Contiguous doubles are gathered from the file in one read; compressed (chunked) blocks, singles and
    big-endian doubles go through H5Dread: one file mixing them reads exactly what was written."""
    rng = np.random.default_rng(3)
    kinds = [np.float64, np.float32, np.dtype(">f8"), np.float64]
    units = [[[np.sort(rng.uniform(-0.1, 0.4, rng.integers(0, 40))).astype(kinds[(u + k + r) % 4]).reshape(1, -1)
               for r in range(3)] for k in range(4)] for u in range(3)]
    spikes = cell_array([cell_array([cell_array(reps) for reps in clips]) for clips in units])
    struct = {"spikes": spikes, "itemnames": cell_array(list("abcd")), "neuron_id": cell_array(["u1", "u2", "u3"])}
    mat = tmp_path / "x_set_m.mat"
    options = hdf5storage.Options(matlab_compatible=True, compress=compress, compress_size_threshold=64)
    hdf5storage.writes({"/L2_str": struct}, filename=str(mat), options=options)
    want = np.concatenate([np.asarray(x, dtype=np.float64).ravel() for clips in units for reps in clips for x in reps])
    with h5py.File(mat, "r") as f:
        layouts = {f[r].id.get_create_plist().get_layout() for u in f["L2_str/spikes"][:, 0]
                   for c in f[u][:, 0] for r in f[c][:, 0]}
        assert (h5py.h5d.CHUNKED in layouts) == compress and (h5py.h5d.CONTIGUOUS in layouts) != compress
        fast = walk_spike_cells(v73_cells(f, f["L2_str/spikes"], mat, fast=True), mat)
        slow = walk_spike_cells(v73_cells(f, f["L2_str/spikes"], mat, fast=False), mat)
    for a, b in zip(fast, slow):
        np.testing.assert_array_equal(a, b)
    np.testing.assert_array_equal(fast[2], want)
    np.testing.assert_array_equal(read_session(mat).spike_times, want)


@pytest.mark.parametrize("readers", [2, 3, 7])
def test_several_readers_read_what_one_reads(small_mat, readers):
    """Each reader process reads a contiguous share of the units (more readers than units: some read none)."""
    one = read_session(small_mat, readers=1)
    many = read_session(small_mat, readers=readers)
    np.testing.assert_array_equal(many.spike_times, one.spike_times)
    np.testing.assert_array_equal(many.spike_counts, one.spike_counts)
    np.testing.assert_array_equal(many.n_repeats, one.n_repeats)
    assert list(many.fields) == list(one.fields) and many.unit_names == one.unit_names


@pytest.mark.parametrize("fault", ["fewer clips", "fewer repeats", "a cell for spike times"])
def test_several_readers_report_the_first_problem_as_one_reader_does(tmp_path, fault):
    units = _faulty_spikes(fault)
    units = units + [[[np.array([[0.1, 0.2]]) for _ in range(3)] for _ in range(2)] for _ in range(4)]
    for u in units[2:]:                       # later units broken too: the first one's message wins
        u[0] = u[0][:1]
    spikes = cell_array([cell_array([cell_array(list(reps)) for reps in clips]) for clips in units])
    struct = {"spikes": spikes, "itemnames": cell_array(["a", "b"]),
              "neuron_id": cell_array([f"u{i}" for i in range(len(units))])}
    mat = tmp_path / "x_set_m.mat"
    hdf5storage.savemat(str(mat), {"L2_str": struct}, format="7.3", matlab_compatible=True)
    messages = []
    for readers in (1, 3):
        with pytest.raises(NwbItError) as err:
            read_session(mat, readers=readers)
        messages.append(err.value.problem)
    assert messages[0] == messages[1] and "spikes{2}" in messages[0], messages


def test_row_cells_at_every_level(tmp_path):
    """1-by-n cells (MATLAB row vectors) at every level read like n-by-1 ones."""
    rows = lambda items: cell_array(items, (1, len(items)))  # noqa: E731
    cols = lambda items: cell_array(items)  # noqa: E731
    spikes = [[[np.array([0.1, 0.2]), np.zeros((0, 0))], [np.array([[0.3]])]],
              [[np.zeros((0, 1)), np.array([-0.01])], [np.zeros((1, 0))]]]
    for wrap, name in ((rows, "row"), (cols, "col")):
        struct = {"spikes": wrap([wrap([wrap(list(map(np.atleast_2d, r))) for r in u]) for u in spikes]),
                  "itemnames": wrap(["a", "b"]), "neuron_id": np.array([[11.0, 12.0]])}
        path = tmp_path / f"{name}_set_monkey.mat"
        hdf5storage.savemat(str(path), {"L2_str": struct}, format="7.3", matlab_compatible=True)
        s = read_session(path)
        np.testing.assert_array_equal(s.n_repeats, [2, 1])
        np.testing.assert_array_equal(s.spike_counts, [[2, 0, 1], [0, 1, 0]])
        np.testing.assert_array_equal(s.spike_times, [0.1, 0.2, 0.3, -0.01])
        assert s.unit_names == ["11", "12"]


@pytest.mark.parametrize("bad", ["2x2 cell"])
def test_matrix_cell_refused(tmp_path, bad):
    from nwb_it import NwbItError

    cell = np.empty((2, 2), dtype=object)
    for i in range(4):
        cell.flat[i] = np.array([[0.1]])
    struct = {"spikes": cell_array([cell_array([cell])]), "itemnames": cell_array(["a"]),
              "neuron_id": cell_array(["u"])}
    path = tmp_path / "m_set_monkey.mat"
    hdf5storage.savemat(str(path), {"L2_str": struct}, format="7.3", matlab_compatible=True)
    with pytest.raises(NwbItError, match="expected a vector"):
        read_session(path)


def test_reading_a_valid_file_never_asks_hdf5_for_an_object_name(small_mat, monkeypatch):
    """HDF5 finds a referenced object's name by searching the whole file: one call per cell made a
    96-unit session take 85 s instead of 2 s. Names are for error messages only."""
    def no_name(self):
        raise AssertionError("h5py object .name looked up on the happy path")

    expected = read_session(small_mat)
    monkeypatch.setattr(h5py._hl.base.HLObject, "name", property(no_name))
    again = read_session(small_mat)
    assert nested_equal(again.fields, expected.fields)


def test_a_reader_that_hangs_or_crashes_is_one_error_within_its_time_limit(small_mat, monkeypatch):
    """A damaged v7.3 file can make the HDF5 library loop forever: the read runs in a child with a time limit."""
    import os
    import time

    from nwb_it.formats.l2str import isolate, reader

    monkeypatch.setattr(isolate, "BASE_SECONDS", 2.0)
    monkeypatch.setattr(isolate, "SECONDS_PER_MB", 0.0)
    monkeypatch.setattr(reader, "_read_v73", lambda *args: time.sleep(600))        # a read that never ends
    start = time.monotonic()
    with pytest.raises(NwbItError, match="did not finish within 2 s"):
        reader.read_session(small_mat)
    assert time.monotonic() - start < 30
    monkeypatch.setattr(reader, "_read_v73", lambda *args: os._exit(11))          # a read that kills its process
    with pytest.raises(NwbItError, match=r"crashed on this file \(exit code 11\)"):
        reader.read_session(small_mat)
    monkeypatch.undo()
    real = reader._read_v73
    monkeypatch.setattr(isolate, "BASE_SECONDS", 2.0)
    monkeypatch.setattr(isolate, "SECONDS_PER_MB", 0.0)
    for stuck, says in ((lambda: time.sleep(600), "did not finish within 2 s"),
                        (lambda: os._exit(11), r"crashed on this file \(exit code 11\)")):
        monkeypatch.setattr(reader, "_read_v73", lambda path, layout, part, *rest, stuck=stuck:
                            stuck() if part[0] == 1 else real(path, layout, part, *rest))
        start = time.monotonic()
        with pytest.raises(NwbItError, match=says):                        # one of three readers: the whole read
            reader.read_session(small_mat, readers=3)
        assert time.monotonic() - start < 30


def _faulty_spikes(fault: str) -> list:
    good = [[np.array([[0.1, 0.2]]), np.array([[0.3]])], [np.array([[0.4]]), np.zeros((0, 0))]]
    units = [good, [list(r) for r in good]]
    if fault == "fewer clips":
        units[1] = units[1][:1]
    elif fault == "fewer repeats":
        units[1][1] = units[1][1][:1]
    elif fault == "a cell for spike times":
        units[1][0][1] = cell_array([np.array([[0.5]])])
    elif fault == "integers for spike times":
        units[1][0][1] = np.array([[3, 4]], dtype=np.int32)
    return units


@pytest.mark.parametrize("fault", ["fewer clips", "fewer repeats", "a cell for spike times",
                                   "integers for spike times"])
def test_every_cell_reader_raises_the_same_message(tmp_path, fault):
    """The checks live in the one walk: v7.3 (C library and h5py) and v5 give the same line."""
    import scipy.io

    units = _faulty_spikes(fault)
    spikes = cell_array([cell_array([cell_array(list(reps)) for reps in clips]) for clips in units])
    struct = {"spikes": spikes, "itemnames": cell_array(["a", "b"]), "neuron_id": cell_array(["u1", "u2"])}
    v73, v5 = tmp_path / "x_set_m.mat", tmp_path / "y_set_m.mat"
    hdf5storage.savemat(str(v73), {"L2_str": struct}, format="7.3", matlab_compatible=True)
    scipy.io.savemat(v5, {"L2_str": struct})
    messages = []
    for fast in (True, False):
        with h5py.File(v73, "r") as f, pytest.raises(NwbItError) as err:
            walk_spike_cells(v73_cells(f, f["L2_str/spikes"], v73, fast=fast), v73)
        messages.append(err.value.problem)
    with pytest.raises(NwbItError) as err:
        read_session(v5)
    messages.append(err.value.problem)
    assert len(set(messages)) == 1, messages
    assert "spikes{2}" in messages[0]


KILLED_MID_READ = """
import os, sys, time
from pathlib import Path
from nwb_it.formats.l2str import reader

def stuck(*args):
    Path(sys.argv[2]).write_text(str(os.getpid()))
    time.sleep(600)

reader._read_v73 = stuck
reader.read_session(sys.argv[1])
"""


def test_a_reader_dies_with_the_process_that_waits_for_it(small_mat, tmp_path):
    """A batch worker killed (Ctrl-C kills them) leaves no reader child reading on."""
    import os
    import signal
    import subprocess
    import sys
    import time

    pid_file = tmp_path / "reader.pid"
    waiting = subprocess.Popen([sys.executable, "-c", KILLED_MID_READ, str(small_mat), str(pid_file)])
    try:
        deadline = time.monotonic() + 60
        while not (pid_file.exists() and pid_file.read_text()) and time.monotonic() < deadline:
            time.sleep(0.05)
        reader_pid = int(pid_file.read_text())
        os.kill(waiting.pid, signal.SIGKILL)
        waiting.wait(30)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            try:
                os.kill(reader_pid, 0)
            except ProcessLookupError:
                break
            time.sleep(0.05)
        else:
            os.kill(reader_pid, signal.SIGKILL)
            pytest.fail("the reader outlived the process waiting for it")
    finally:
        waiting.kill()
