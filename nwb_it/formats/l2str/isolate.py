"""Reading a MAT file in a child process: a damaged file can crash or hang the library that reads it.

``scipy.io.loadmat`` can kill the interpreter (a segfault) on a damaged v5 file, and the
HDF5 library can loop forever on a damaged v7.3 file (a zeroed block inside a variable-length
attribute was found to do it). :func:`run_isolated` runs a reader in a forked child with a
memory cap and a time limit that grows with the file's size; a crash, a hang or an exception
there is one :class:`NwbItError` here, naming the file. The child is forked before any file
is opened, and its result (decoded fields and flat spike arrays) comes back through a pipe.
:func:`run_isolated_parts` runs several such children at once (one file's units shared between
them), with their progress drawn here.
"""
from __future__ import annotations

import ctypes
import os
import pickle
import resource
import select
import signal
import threading
import time
from pathlib import Path

from ...core.errors import NwbItError
from ...core.progress import progress_bar

PR_SET_PDEATHSIG = 1          # prctl option: a signal this process gets when its parent dies
BASE_SECONDS = 30.0           # a small file reads in well under a second
SECONDS_PER_MB = 1.0          # a 167 MB session reads in ~10 s: the limit leaves ten times that


def time_limit(path: Path) -> float:
    """Seconds a healthy read of ``path`` may take (generous: a hang, not a slow disk, is what it stops)."""
    try:
        size_mb = Path(path).stat().st_size / 1e6
    except OSError:
        size_mb = 0.0
    return BASE_SECONDS + SECONDS_PER_MB * size_mb


def _child(reader, args: tuple, memory_limit: int | None) -> tuple[str, object]:
    try:
        if memory_limit:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))  # a damaged size fails here
        return "ok", reader(*args)
    except NwbItError as exc:
        return "error", (exc.problem, None if exc.path is None else str(exc.path))
    except BaseException as exc:
        return "raised", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"


class Ticks:
    """What a reader in a child calls to report progress: ``total(n)`` once, then ``tick()`` per unit read.

    Both write to the child's pipe (``T`` + 8 bytes, ``.``) ahead of its result (``R`` + pickle), so the
    bar is drawn here, once for all the children reading one file.
    """

    def __init__(self, fd: int):
        self.fd = fd

    def total(self, n: int) -> None:
        os.write(self.fd, b"T" + int(n).to_bytes(8, "little"))

    def __call__(self, n: int = 1) -> None:
        os.write(self.fd, b"." * n)


class _Reply:
    """One child's stream: progress records, then its pickled result after ``R``."""

    def __init__(self, pid: int, fd: int):
        self.pid, self.fd, self.buffer, self.result, self.open = pid, fd, b"", None, True

    def feed(self, chunk: bytes, bar) -> None:
        if self.result is not None:
            self.result.append(chunk)
            return
        data = self.buffer + chunk
        i = 0
        while i < len(data):
            kind = data[i:i + 1]
            if kind == b".":
                j = i
                while j < len(data) and data[j:j + 1] == b".":
                    j += 1
                bar.update(j - i)
                i = j
            elif kind == b"T":
                if len(data) - i < 9:
                    break
                bar.total = (bar.total or 0) + int.from_bytes(data[i + 1:i + 9], "little")
                bar.refresh()
                i += 9
            else:                                    # "R": everything after it is the result
                self.result = [data[i + 1:]]
                i = len(data)
        self.buffer = data[i:] if self.result is None else b""


def _die_with(parent: int, main_thread: bool) -> None:
    """This child is killed when its parent dies (Linux ``PR_SET_PDEATHSIG``): a batch worker killed by Ctrl-C
    leaves no reader running on. Only for a fork from the main thread: the signal comes when the forking
    *thread* ends, and a pool's thread (a Dask worker's) may end while its process lives on. Elsewhere
    nothing is set (the reader then ends with its read)."""
    if not main_thread:
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:                     # the parent died before the call: nobody waits for the result
        os._exit(1)


def _spawn(reader, args: tuple, memory_limit: int | None, ticks: bool) -> _Reply:
    read_end, write_end = os.pipe()
    parent, main_thread = os.getpid(), threading.current_thread() is threading.main_thread()
    pid = os.fork()
    if pid == 0:                                   # the child: read, send, leave without running any cleanup
        code = 0
        try:
            _die_with(parent, main_thread)
            os.close(read_end)
            full = (*args, Ticks(write_end)) if ticks else args
            data = pickle.dumps(_child(reader, full, memory_limit), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_end, "wb") as out:
                out.write(b"R" + data)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    return _Reply(pid, read_end)


def _outcome(reply: _Reply, status: int, timed_out: bool, limit: float, path: Path, what: str):
    """The child's result, or the NwbItError that says why there is none."""
    if timed_out:
        return NwbItError(f"the {what} reader did not finish within {limit:.0f} s (a damaged file can make it "
                          "loop): the file is corrupt", path)
    if reply.result is None or not b"".join(reply.result):
        code = os.waitstatus_to_exitcode(status)
        return NwbItError(f"the {what} reader crashed on this file (exit code {code}): it is corrupt", path)
    outcome, payload = pickle.loads(b"".join(reply.result))
    if outcome == "error":
        problem, where = payload
        return NwbItError(problem, where or path)
    if outcome == "raised":
        if payload.startswith("MemoryError"):
            return NwbItError("declares more data than fits in memory: file corrupt", path)
        return NwbItError(f"cannot read as a {what} file ({payload})", path)
    return payload


def run_isolated_parts(reader, parts: list[tuple], path: Path, what: str, memory_limit: int | None = None,
                       bar=None) -> list:
    """``reader(*args)`` for every ``args`` of ``parts``, each in its own forked child, at once; their results in
    order, or the error of the first part that failed (what reading the parts one after another would raise).

    With ``bar`` (a tqdm bar), each reader also gets a :class:`Ticks` as its last argument and the bar
    shows every child's progress. Every child has the time limit of the whole file.
    """
    shown = bar if bar is not None else progress_bar(enabled=False)
    replies = [_spawn(reader, args, memory_limit, bar is not None) for args in parts]
    limit = time_limit(path)
    deadline = time.monotonic() + limit
    statuses: dict[int, int] = {}
    timed_out: set[int] = set()
    try:
        while any(r.open for r in replies):
            waiting = {r.fd: r for r in replies if r.open}
            left = deadline - time.monotonic()
            ready = select.select(list(waiting), [], [], max(left, 0))[0] if left > 0 else []
            if not ready:                              # the time limit: every child still reading is killed
                for r in waiting.values():
                    os.kill(r.pid, signal.SIGKILL)
                    timed_out.add(r.pid)
                    r.open = False
                break
            for fd in ready:
                reply = waiting[fd]
                chunk = os.read(fd, 1 << 20)
                if chunk:
                    reply.feed(chunk, shown)
                else:
                    reply.open = False
    finally:
        for r in replies:
            if r.open:                          # interrupted here (Ctrl-C): a child still reading is not waited on
                os.kill(r.pid, signal.SIGKILL)
            os.close(r.fd)
            statuses[r.pid] = os.waitpid(r.pid, 0)[1]
    results = [_outcome(r, statuses[r.pid], r.pid in timed_out, limit, path, what) for r in replies]
    for result in results:
        if isinstance(result, NwbItError):
            raise result
    return results


def run_isolated(reader, args: tuple, path: Path, what: str, memory_limit: int | None = None):
    """``reader(*args)`` in a forked child; its result, or one error line naming ``path``.

    ``what`` names the reader in messages ("MATLAB v5/v7", "MATLAB v7.3 (HDF5)"). A plain
    ``os.fork`` rather than ``multiprocessing``: Dask's worker processes are daemonic, and
    multiprocessing refuses children of daemons. The result comes back pickled (our own child's
    arrays and decoded fields, never a file's bytes).
    """
    return run_isolated_parts(reader, [args], path, what, memory_limit)[0]
