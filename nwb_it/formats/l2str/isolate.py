"""Reading a MAT file in a child process: a damaged file can crash or hang the library that reads it.

``scipy.io.loadmat`` can kill the interpreter (a segfault) on a damaged v5 file, and the
HDF5 library can loop forever on a damaged v7.3 file (a zeroed block inside a variable-length
attribute was found to do it). :func:`run_isolated` runs a reader in a forked child with a
memory cap and a time limit that grows with the file's size; a crash, a hang or an exception
there is one :class:`NwbItError` here, naming the file. The child is forked before any file
is opened, and its result (decoded fields and flat spike arrays) comes back over a connection.
:func:`run_isolated_parts` runs several such children at once (one file's units shared between
them), with their progress drawn here.
"""
from __future__ import annotations

import os
import resource
import signal
import time
from dataclasses import dataclass
from multiprocessing.connection import Connection, wait
from pathlib import Path

from ...core.errors import NwbItError
from ...core.progress import progress_bar
from ...io.child import fork_child

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

    Both are messages on the child's connection ahead of its result, so the bar is drawn here, once for
    all the children reading one file.
    """

    def __init__(self, conn: Connection):
        self.conn = conn

    def total(self, n: int) -> None:
        self.conn.send(("total", int(n)))

    def __call__(self, n: int = 1) -> None:
        self.conn.send(("tick", n))


@dataclass
class _Reply:
    """One reading child: its connection, and its result once sent."""

    pid: int
    conn: Connection
    result: tuple | None = None
    open: bool = True


def _spawn(reader, args: tuple, memory_limit: int | None, ticks: bool) -> _Reply:
    def child(conn: Connection) -> None:
        full = (*args, Ticks(conn)) if ticks else args
        conn.send(("result", _child(reader, full, memory_limit)))
    return _Reply(*fork_child(child, die_with_parent=True))


def _outcome(reply: _Reply, status: int, timed_out: bool, limit: float, path: Path, what: str):
    """The child's result, or the NwbItError that says why there is none."""
    if timed_out:
        return NwbItError(f"the {what} reader did not finish within {limit:.0f} s (a damaged file can make it "
                          "loop): the file is corrupt", path)
    if reply.result is None:
        code = os.waitstatus_to_exitcode(status)
        return NwbItError(f"the {what} reader crashed on this file (exit code {code}): it is corrupt", path)
    outcome, payload = reply.result
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
            waiting = [r for r in replies if r.open]
            left = deadline - time.monotonic()
            ready = wait([r.conn for r in waiting], left) if left > 0 else []
            if not ready:                              # the time limit: every child still reading is killed
                for r in waiting:
                    os.kill(r.pid, signal.SIGKILL)
                    timed_out.add(r.pid)
                    r.open = False
                break
            for reply in (r for r in waiting if r.conn in ready):
                try:
                    kind, value = reply.conn.recv()
                except (EOFError, OSError):            # the child ended (after its result, or crashed before)
                    reply.open = False
                    continue
                if kind == "tick":
                    shown.update(value)
                elif kind == "total":
                    shown.total = (shown.total or 0) + value
                    shown.refresh()
                else:
                    reply.result = value
    finally:
        for r in replies:
            if r.open:                          # interrupted here (Ctrl-C): a child still reading is not waited on
                os.kill(r.pid, signal.SIGKILL)
            r.conn.close()
            statuses[r.pid] = os.waitpid(r.pid, 0)[1]
    results = [_outcome(r, statuses[r.pid], r.pid in timed_out, limit, path, what) for r in replies]
    for result in results:
        if isinstance(result, NwbItError):
            raise result
    return results


def run_isolated(reader, args: tuple, path: Path, what: str, memory_limit: int | None = None):
    """``reader(*args)`` in a forked child; its result, or one error line naming ``path``.

    ``what`` names the reader in messages ("MATLAB v5/v7", "MATLAB v7.3 (HDF5)"). The child is
    :func:`nwb_it.io.child.fork_child`'s; its result comes back pickled (our own child's arrays and
    decoded fields, never a file's bytes).
    """
    return run_isolated_parts(reader, [args], path, what, memory_limit)[0]
