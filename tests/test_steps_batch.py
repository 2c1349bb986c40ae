"""Many sessions per command: sequential, a LocalCluster, and a dask.distributed cluster started here."""
from __future__ import annotations

import contextlib
import json
import shutil
import subprocess
import time
from pathlib import Path

import numpy as np
import pytest
import yaml

from nwb_it.cli import main
from nwb_it.examples import write_example_session

from .helpers import META, nwb_content

N_SESSIONS = 3


@pytest.fixture(scope="module")
def sessions(tmp_path_factory) -> tuple[list[Path], Path]:
    """Three small v7.3 sessions (different seeds and sizes) and their metadata YAML."""
    d = tmp_path_factory.mktemp("many")
    mats = []
    for i in range(N_SESSIONS):
        path = d / f"rec_fixshortvid{i + 1}_coco.mat"
        write_example_session(path, n_units=5 + i, n_clips=6, n_repeats=4, seed=10 + i)
        mats.append(path)
    meta = d / "meta.yaml"
    meta.write_text(yaml.safe_dump(META))
    return mats, meta


def _convert_and_reliability(mats: list[Path], meta: Path, out: Path, *extra: str) -> list[Path]:
    assert main(["convert", *map(str, mats), "-o", str(out), "--metadata", str(meta), *extra]) == 0
    files = sorted(out.rglob("*.nwb"))
    assert len(files) == len(mats)
    assert main(["reliability", *map(str, files), "--n-perm", "20", "--n-null", "200", *extra]) == 0
    return files


def _same_files(a: list[Path], b: list[Path]) -> None:
    for x, y in zip(a, b, strict=True):
        assert x.relative_to(x.parents[1]) == y.relative_to(y.parents[1])
        cx, cy = nwb_content(x), nwb_content(y)
        assert cx.keys() == cy.keys()
        different = [k for k in cx if cx[k] != cy[k]]
        assert not different, f"{x.name}: {different[:5]}"


def test_parallel_and_sequential_runs_give_identical_files(sessions, tmp_path, capsys):
    mats, meta = sessions
    seq = _convert_and_reliability(mats, meta, tmp_path / "seq", "--workers", "1")
    par = _convert_and_reliability(mats, meta, tmp_path / "par", "--workers", "2")
    _same_files(seq, par)
    out = capsys.readouterr().out
    assert f"{N_SESSIONS} of {N_SESSIONS} sessions done, 0 failed" in out
    # and the comparison itself can fail: a different seed changes a file
    assert main(["reliability", str(par[0]), "--n-perm", "20", "--n-null", "200", "--seed", "1"]) == 0
    with pytest.raises(AssertionError):
        _same_files(seq[:1], par[:1])


def test_a_bad_session_among_good_ones(sessions, tmp_path, capsys):
    mats, meta = sessions
    bad = tmp_path / "rec_fixshortvid9_coco.mat"
    bad.write_bytes(b"MATLAB 5.0 MAT-file" + b"\x00" * 100)       # a header, then nothing readable
    missing = tmp_path / "rec_fixshortvid8_coco.mat"
    code = main(["convert", str(mats[0]), str(bad), str(missing), str(mats[1]), "-o", str(tmp_path / "out"),
                 "--metadata", str(meta), "--workers", "2"])
    captured = capsys.readouterr()
    assert code == 2
    assert len(sorted((tmp_path / "out").rglob("*.nwb"))) == 2, "the good sessions were written"
    table = captured.out.splitlines()
    rows = {line.split()[0]: line.split()[1] for line in table if line.startswith("rec_")}
    assert rows == {mats[0].name: "ok", bad.name: "failed", missing.name: "failed", mats[1].name: "ok"}
    assert "2 of 4 sessions done, 2 failed" in captured.out
    assert f"nwb-it: error: {bad}" in captured.err and "Traceback" not in captured.err
    assert not list((tmp_path / "out").rglob(".*tmp*")), "no partial file"


def test_many_heatmaps_go_into_one_folder_per_file_as_one_does(sessions, tmp_path):
    mats, meta = sessions
    assert main(["convert", *map(str, mats[:2]), "-o", str(tmp_path / "nwb"), "--metadata", str(meta)]) == 0
    files = sorted((tmp_path / "nwb").rglob("*.nwb"))
    assert main(["heatmaps", *map(str, files), "-o", str(tmp_path / "figs"), "--workers", "1", "--units", "all"]) == 0
    assert sorted(p.name for p in (tmp_path / "figs").iterdir()) == sorted(f.stem for f in files)
    assert all((tmp_path / "figs" / f.stem / "heatmaps" / "population.png").is_file() for f in files)
    # one file: the same layout (never flat), so mixing one-file and many-file runs leaves no stale figures
    assert main(["heatmaps", str(files[0]), "-o", str(tmp_path / "one"), "--units", "all"]) == 0
    assert [p.name for p in (tmp_path / "one").iterdir()] == [files[0].stem]
    assert (tmp_path / "one" / files[0].stem / "heatmaps" / "population.png").is_file()


def _start(cmd: list[str], cwd: Path) -> subprocess.Popen:
    return subprocess.Popen(cmd, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


@pytest.fixture()
def dask_cluster(tmp_path):
    """A real dask.distributed scheduler and two workers, each its own process, as on a cluster."""
    dask = shutil.which("dask")
    assert dask, "the dask command line comes with distributed"
    info = tmp_path / "scheduler.json"
    work = tmp_path / "worker_cwd"          # workers run elsewhere: paths must travel absolute
    work.mkdir()
    procs = [_start([dask, "scheduler", "--scheduler-file", str(info), "--host", "127.0.0.1", "--port", "0",
                     "--no-dashboard"], work)]                          # servers in tests: this machine only
    try:
        for _ in range(200):
            if info.is_file() and info.stat().st_size:
                break
            time.sleep(0.1)
        address = json.loads(info.read_text())["address"]
        for _ in range(2):
            procs.append(_start([dask, "worker", address, "--host", "127.0.0.1", "--nthreads", "1", "--no-dashboard"],
                                work))
        from distributed import Client

        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=60)
        assert address.startswith("tcp://127.0.0.1:"), address
        yield address
        import dask

        # shutdown() leaves dask's default scheduler set to the gone cluster: the outer set() restores it
        with dask.config.set(scheduler=dask.config.get("scheduler", None)), Client(address, timeout="10s") as client:
            client.shutdown()               # scheduler and workers exit at once (terminate waits on nannies)
    finally:
        # a few seconds to exit on their own, then killed: Dask's graceful close (a nanny waits up to 8 s for a
        # worker that ran nwb_it's jobs) is not what these tests are about
        deadline = time.monotonic() + 3
        for p in procs:
            try:
                p.wait(timeout=max(0.1, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                p.kill()
                p.wait(timeout=20)


def test_runs_on_a_dask_distributed_scheduler(sessions, tmp_path, dask_cluster, monkeypatch, capsys):
    mats, meta = sessions
    seq = _convert_and_reliability(mats, meta, tmp_path / "seq", "--workers", "1")
    monkeypatch.chdir(mats[0].parent)     # relative paths here; the workers' cwd is elsewhere
    rel = [Path(m.name) for m in mats]
    on_cluster = _convert_and_reliability(rel, Path(meta.name), tmp_path / "cluster", "--scheduler", dask_cluster)
    _same_files(seq, on_cluster)
    assert f"{N_SESSIONS} of {N_SESSIONS} sessions done" in capsys.readouterr().out


def test_an_unreachable_scheduler_is_one_error_line(sessions, tmp_path, capsys, monkeypatch):
    mats, meta = sessions
    monkeypatch.setattr("nwb_it.steps.dask_client.CONNECT_TIMEOUT_S", 2.0)
    code = main(["convert", str(mats[0]), "-o", str(tmp_path), "--metadata", str(meta),
                 "--scheduler", "tcp://127.0.0.1:9"])
    err = capsys.readouterr().err
    assert code == 2 and "no Dask scheduler answered at tcp://127.0.0.1:9" in err and "Traceback" not in err
    assert not list(tmp_path.rglob("*.nwb"))


def test_outcomes_keep_the_order_given_and_warnings_per_session(tmp_path):
    from functools import partial

    from nwb_it.cli.outcomes import exit_code
    from nwb_it.steps.batch import run_batch

    files = [tmp_path / f"{name}.txt" for name in "dcba"]
    for f in files[:3]:
        f.write_text(f.stem)
    outcomes = run_batch(partial(_read_or_warn), files, workers=2)
    assert [Path(o.session).name for o in outcomes] == [f.name for f in files]
    assert [o.status for o in outcomes] == ["ok", "ok", "ok", "failed"]
    assert outcomes[1].warnings == ("c is a warning",) and outcomes[0].warnings == ()
    assert "FileNotFoundError" in outcomes[3].message and exit_code(outcomes) == 2
    assert outcomes[2].seconds >= 0.3 > max(outcomes[0].seconds, outcomes[1].seconds), "each job's own time"


def _read_or_warn(path: Path) -> str:
    import warnings

    text = path.read_text()
    if text == "c":
        warnings.warn("c is a warning", stacklevel=1)
    if text == "b":
        import time

        time.sleep(0.3)                    # a slow session: its outcome's seconds say so
    return text


def _die_on_b(path: Path) -> str:
    import os
    import signal

    if path.read_text() == "b":
        os.kill(os.getpid(), signal.SIGKILL)       # a worker killed (for memory, by a crash in a C library)
    return f"{os.getpid()} {path.read_text()}"


LOST_WORKER_BATCH = """
import json, os, sys, threading
from pathlib import Path
from nwb_it.steps.batch import run_batch
from nwb_it.steps.forked import fork_is_safe
from tests.test_steps_batch import _die_on_b

files, found = [Path(p) for p in sys.argv[2:]], {}
def batch():
    found["forked"] = fork_is_safe()
    found["out"] = run_batch(_die_on_b, files, workers=2)
if sys.argv[1] == "thread":
    thread = threading.Thread(target=batch)
    thread.start()
    thread.join(120)
else:
    batch()
print(json.dumps({"forked": found["forked"], "me": os.getpid(),
                  "out": [[o.status, o.message] for o in found["out"]]}))
"""


@pytest.mark.parametrize("in_a_thread", [False, True])
def test_a_lost_worker_fails_its_session_only_on_forked_and_dask_workers(tmp_path, in_a_thread):
    """A command (one thread, no torch) forks its workers (no start-up); from a thread it starts a LocalCluster:
    either way a worker that dies fails its own session and the others run. A fresh interpreter each, as a
    command is (this test process has imported torch and started threads)."""
    import sys

    files = [tmp_path / f"{name}.txt" for name in "abcde"]
    for f in files:
        f.write_text(f.stem)
    run = subprocess.run([sys.executable, "-c", LOST_WORKER_BATCH, "thread" if in_a_thread else "main",
                          *map(str, files)], capture_output=True, text=True, timeout=180,
                         cwd=Path(__file__).parents[1])
    assert run.returncode == 0, run.stderr[-2000:]
    found = json.loads(run.stdout.strip().splitlines()[-1])
    assert found["forked"] is not in_a_thread, "each case runs where it means to"
    status, message = zip(*found["out"])
    assert status == ("ok", "failed", "ok", "ok", "ok")
    assert "worker lost" in message[1] and str(files[1]) in message[1]
    assert found["me"] not in {int(m.split()[0]) for m in message if not m.endswith(")")}
    assert [m.split()[1] for s, m in zip(status, message) if s == "ok"] == list("acde")
    if not in_a_thread:
        assert "killed by signal 9" in message[1]


def test_extraction_runs_as_one_task_on_the_cluster(small_nwb, tiny_videomae, tmp_path, dask_cluster, capsys):
    from nwb_it.examples import write_example_frames
    from nwb_it.nwb.activations import read_activations
    from nwb_it.nwb.io import reading

    from .helpers import SMALL, copy_to

    names = [f"{k + 1}_clip{k + 1:03d}" for k in range(SMALL["n_clips"])]
    frames = write_example_frames(tmp_path / "frames", names, n_frames=5)
    targets = []
    for name in ("a", "b"):
        (tmp_path / name).mkdir()
        targets.append(copy_to(small_nwb, tmp_path / name))
    local = tmp_path / "local.npy"
    assert main(["extract-activations", str(frames), "--model", str(tiny_videomae), "--pad", "2",
                 "--npy", str(local)]) == 0
    assert main(["extract-activations", str(frames), "--model", str(tiny_videomae), "--pad", "2",
                 "--nwb", *map(str, targets), "--scheduler", dask_cluster]) == 0
    assert "2 of 2 sessions done, 0 failed" in capsys.readouterr().out
    for target in targets:
        with reading(target) as nwb:
            np.testing.assert_array_equal(read_activations(nwb).layers["last"], np.load(local))


class _Server:
    """A server on the loopback that accepts and never answers ("silent"), or answers HTTP; stops itself."""

    def __init__(self, kind: str):
        import http.server
        import socket
        import threading

        self.kind, self.stop = kind, threading.Event()
        if kind == "silent":
            self.sock = socket.socket()
            self.sock.bind(("127.0.0.1", 0))
            self.sock.listen(8)
            self.sock.settimeout(0.2)
            self.port, self.held = self.sock.getsockname()[1], []
            target = self._accept
        else:
            self.http = http.server.HTTPServer(("127.0.0.1", 0), http.server.BaseHTTPRequestHandler)
            self.http.timeout = 0.2
            self.port = self.http.server_address[1]
            target = self._serve
        self.thread = threading.Thread(target=target, daemon=True)
        self.thread.start()

    def _accept(self):
        deadline = time.monotonic() + 120
        while not self.stop.is_set() and time.monotonic() < deadline:
            with contextlib.suppress(OSError):
                self.held.append(self.sock.accept()[0])

    def _serve(self):
        deadline = time.monotonic() + 120
        while not self.stop.is_set() and time.monotonic() < deadline:
            self.http.handle_request()

    def close(self):
        self.stop.set()
        self.thread.join(5)
        for conn in getattr(self, "held", []):
            conn.close()
        (self.sock if self.kind == "silent" else self.http.socket).close()


@pytest.mark.parametrize("kind", ["silent", "http"])
def test_a_scheduler_address_that_does_not_answer_is_one_line_in_bounded_time(sessions, tmp_path, capsys,
                                                                               monkeypatch, kind):
    import nwb_it.steps.dask_client as dask_client

    monkeypatch.setattr(dask_client, "CONNECT_TIMEOUT_S", 3.0)
    mats, _ = sessions
    server = _Server(kind)
    try:
        start = time.monotonic()
        code = main(["validate", str(mats[0]), str(mats[1]), "--scheduler", f"tcp://127.0.0.1:{server.port}"])
        elapsed = time.monotonic() - start
    finally:
        server.close()
    err = [line for line in capsys.readouterr().err.splitlines() if line.startswith("nwb-it:")]
    assert code == 2 and elapsed < 15, elapsed
    assert len(err) == 1 and "no Dask scheduler answered" in err[0] and "Traceback" not in err[0]


@pytest.mark.parametrize("address", ["garbage://x", "tcp://host", "localhost:8786", "tcp://h:99999"])
def test_a_malformed_scheduler_address_is_refused_before_connecting(sessions, capsys, address):
    mats, _ = sessions
    assert main(["validate", str(mats[0]), str(mats[1]), "--scheduler", address]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1] == (f"nwb-it: error: --scheduler {address}: not a Dask scheduler address; write it as "
                       "tcp://HOST:PORT (or tls://, ws://, wss://)")


def test_a_file_named_twice_runs_once(sessions, tmp_path, capsys):
    mats, meta = sessions
    out = tmp_path / "out"
    assert main(["convert", str(mats[0]), "-o", str(out), "--metadata", str(meta)]) == 0
    nwb = next(out.rglob("*.nwb"))
    same = nwb.parent / ".." / nwb.parent.name / nwb.name
    assert main(["reliability", str(nwb), str(same), "--n-perm", "10", "--workers", "2"]) == 0
    captured = capsys.readouterr()
    assert "named more than once; run once" in captured.err and "failed" not in captured.out


@pytest.mark.slow
def test_ctrl_c_during_a_two_worker_run_leaves_no_partial_file_and_reports_honestly(tmp_path):
    import os
    import signal
    import sys

    mats = []
    for i in range(4):
        mats.append(tmp_path / f"2024030{i + 1}_fixshortvid1_coco.mat")
        write_example_session(mats[-1], n_units=96, n_clips=80, n_repeats=6, seed=i)
    meta = tmp_path / "meta.yaml"
    meta.write_text(yaml.safe_dump(META))
    out = tmp_path / "out"
    run = subprocess.Popen([sys.executable, "-m", "nwb_it", "convert", *map(str, mats), "-o", str(out),
                            "--metadata", str(meta), "--workers", "2"], stdout=subprocess.PIPE,
                           stderr=subprocess.PIPE, text=True, start_new_session=True)   # its own group: a terminal
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline and not (out.exists() and any(".tmp" in f.name for f in out.rglob("*"))):
        time.sleep(0.02)
    os.killpg(run.pid, signal.SIGINT)                  # Ctrl-C reaches every process of the group
    stdout, stderr = run.communicate(timeout=120)
    assert run.returncode == 130, stderr[-2000:]
    assert not [f for f in out.rglob("*") if ".tmp" in f.name], "no partial file"
    rows = {line.split()[0]: line.split()[1] for line in stdout.splitlines() if line.startswith("2024")}
    written = {f.name.split("_ses-")[1].split("-")[0] for f in out.rglob("*.nwb")}
    assert {name[:8] for name, status in rows.items() if status == "ok"} == written, (rows, written)
    assert "cancelled" in rows.values() and "cancelled" in stdout.splitlines()[-1]
    assert "Traceback" not in stderr and "leaked" not in stderr and "Error" not in stderr, stderr[-2000:]


def test_v5_and_v73_sessions_convert_on_dask_workers(small_mat_v5, small_mat, tmp_path, capsys):
    """Readers run in a forked child; Dask's workers are daemonic processes, which multiprocessing refuses."""
    a, b = tmp_path / "20240301_fixshortvid1_coco.mat", tmp_path / "20240302_fixshortvid1_coco.mat"
    shutil.copy(small_mat_v5, a)
    shutil.copy(small_mat, b)
    meta = tmp_path / "meta.yaml"
    meta.write_text(yaml.safe_dump(META))
    assert main(["convert", str(a), str(b), "-o", str(tmp_path / "out"), "--metadata", str(meta),
                 "--workers", "2"]) == 0, capsys.readouterr()
    assert len(list((tmp_path / "out").rglob("*.nwb"))) == 2


def test_a_batch_started_from_another_thread_runs_on_a_cluster(sessions):
    """Signal handlers belong to the main thread: a notebook's worker thread can still start a cluster."""
    import threading
    from functools import partial

    from nwb_it.steps.batch import run_batch
    from nwb_it.steps.jobs import validate_job

    mats, _ = sessions
    found = {}
    thread = threading.Thread(target=lambda: found.update(out=run_batch(partial(validate_job), mats[:2], workers=2)))
    thread.start()
    thread.join(120)
    assert [o.status for o in found["out"]] == ["failed", "failed"], "validate refuses .mat files: ran, one line each"


def _exit_or_raise(path: Path) -> str:
    import sys

    if path.name == "b":
        sys.exit(3)
    if path.name == "c":
        raise ValueError("boom")
    return f"ok {path.name}"


def test_forked_workers_turn_every_failure_into_its_sessions_outcome_and_debug_shows_the_traceback():
    from nwb_it.steps.forked import run_forked

    paths = [Path(name) for name in "abcd"]
    found = {}
    run_forked(_exit_or_raise, paths, range(4), 2, False, found.__setitem__)
    assert [(found[i].status, found[i].message) for i in range(4)] == [
        ("ok", "ok a"), ("failed", "b: SystemExit"), ("failed", "c: ValueError: boom"), ("ok", "ok d")]
    with pytest.raises(Exception, match=r"(?s)Traceback.*(SystemExit|ValueError: boom)"):
        run_forked(_exit_or_raise, paths, range(4), 2, True, lambda i, o: None)


def _import_and_answer(name: str) -> str:
    import importlib

    importlib.import_module(name)
    return f"{name} imported"


def _refuse(path: str) -> None:
    from nwb_it.core.errors import NwbItError

    raise NwbItError("no such session", path)


def test_work_in_a_forked_child_returns_its_result_and_leaves_this_process_as_it_was():
    """``nwb-it run`` extracts in a child so that torch never loads in the process that forks the later workers."""
    import os
    import sys

    from nwb_it.core.errors import NwbItError
    from nwb_it.steps.forked import call_in_child

    assert "tabnanny" not in sys.modules
    assert call_in_child(_import_and_answer, "tabnanny") == "tabnanny imported"
    assert "tabnanny" not in sys.modules, "the import happened in the child only"
    with pytest.raises(NwbItError) as err:
        call_in_child(_refuse, "x.nwb")
    assert str(err.value) == "x.nwb: no such session"
    with pytest.raises(NwbItError, match=r"child process running _exit died \(exit code 9\)"):
        call_in_child(os._exit, 9)


def test_local_workers_ignore_ctrl_c_in_their_own_process_and_the_command_keeps_its_handlers(monkeypatch):
    """A LocalCluster's workers ignore SIGINT (the command cancels their tasks), set in each worker by a Dask preload:
    the command's process never changes its signal handlers, even briefly, and a client started from another thread
    (a notebook's) gets the same workers."""
    import signal
    import threading

    from nwb_it.steps.dask_client import cluster_client

    def worker_sigint() -> bool:
        import signal as worker_signal

        return worker_signal.getsignal(worker_signal.SIGINT) == worker_signal.SIG_IGN

    changed = []
    real = signal.signal
    monkeypatch.setattr(signal, "signal", lambda *a: changed.append(a) or real(*a))
    before = signal.getsignal(signal.SIGINT)
    seen = {}

    def start(where: str) -> None:
        with cluster_client(1, None) as client:
            seen[where] = client.submit(worker_sigint, pure=False).result(timeout=60)

    start("main thread")
    other = threading.Thread(target=start, args=("another thread",))
    other.start()
    other.join(120)
    assert seen == {"main thread": True, "another thread": True}
    assert changed == [] and signal.getsignal(signal.SIGINT) is before
