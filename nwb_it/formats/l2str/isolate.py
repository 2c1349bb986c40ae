"""Reading a MAT file in a child process: a damaged file can crash or hang the library that reads it.

``scipy.io.loadmat`` can kill the interpreter (a segfault) on a damaged v5 file, and the
HDF5 library can loop forever on a damaged v7.3 file (a zeroed block inside a variable-length
attribute was found to do it). :func:`run_isolated` runs a reader in a forked child with a
memory cap and a time limit that grows with the file's size; a crash, a hang or an exception
there is one :class:`NwbItError` here, naming the file. The child is forked before any file
is opened, and its result (decoded fields and flat spike arrays) comes back through a pipe.
"""
from __future__ import annotations

import os
import pickle
import resource
import select
import signal
import time
from pathlib import Path

from ...core.errors import NwbItError

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


def _receive(fd: int, pid: int, limit: float) -> bytes | None:
    """Everything the child writes until it closes the pipe, or None when ``limit`` seconds pass first."""
    chunks, deadline = [], time.monotonic() + limit
    while True:
        left = deadline - time.monotonic()
        if left <= 0 or not select.select([fd], [], [], left)[0]:
            os.kill(pid, signal.SIGKILL)
            return None
        chunk = os.read(fd, 1 << 20)
        if not chunk:
            return b"".join(chunks)
        chunks.append(chunk)


def run_isolated(reader, args: tuple, path: Path, what: str, memory_limit: int | None = None):
    """``reader(*args)`` in a forked child; its result, or one error line naming ``path``.

    ``what`` names the reader in messages ("MATLAB v5/v7", "MATLAB v7.3 (HDF5)"). A plain
    ``os.fork`` rather than ``multiprocessing``: Dask's worker processes are daemonic, and
    multiprocessing refuses children of daemons. The result comes back pickled (our own child's
    arrays and decoded fields, never a file's bytes).
    """
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:                                   # the child: read, send, leave without running any cleanup
        code = 0
        try:
            os.close(read_end)
            data = pickle.dumps(_child(reader, args, memory_limit), protocol=pickle.HIGHEST_PROTOCOL)
            with os.fdopen(write_end, "wb") as out:
                out.write(data)
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    os.close(write_end)
    limit = time_limit(path)
    try:
        data = _receive(read_end, pid, limit)
    finally:
        os.close(read_end)
        _, status = os.waitpid(pid, 0)
    if data is None:
        raise NwbItError(f"the {what} reader did not finish within {limit:.0f} s (a damaged file can make it "
                         "loop): the file is corrupt", path)
    if not data:
        code = os.waitstatus_to_exitcode(status)
        raise NwbItError(f"the {what} reader crashed on this file (exit code {code}): it is corrupt", path)
    outcome, payload = pickle.loads(data)
    if outcome == "error":
        problem, where = payload
        raise NwbItError(problem, where or path)
    if outcome == "raised":
        if payload.startswith("MemoryError"):
            raise NwbItError("declares more data than fits in memory: file corrupt", path)
        raise NwbItError(f"cannot read as a {what} file ({payload})", path)
    return payload
