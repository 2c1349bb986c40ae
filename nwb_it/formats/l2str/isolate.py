"""Reading a MAT file in a child process: a damaged file can crash or hang the library that reads it.

``scipy.io.loadmat`` can kill the interpreter (a segfault) on a damaged v5 file, and the
HDF5 library can loop forever on a damaged v7.3 file (a zeroed block inside a variable-length
attribute was found to do it). :func:`run_isolated` runs a reader in a forked child with a
memory cap and a time limit that grows with the file's size; a crash, a hang or an exception
there is one :class:`NwbItError` here, naming the file. The child is forked before any file
is opened, and its result (decoded fields and flat spike arrays) comes back through a pipe.
"""
from __future__ import annotations

import multiprocessing
import resource
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


def _child(reader, args: tuple, memory_limit: int | None, conn) -> None:
    try:
        if memory_limit:
            resource.setrlimit(resource.RLIMIT_AS, (memory_limit, memory_limit))  # a damaged size fails here
        conn.send(("ok", reader(*args)))
    except NwbItError as exc:
        conn.send(("error", (exc.problem, None if exc.path is None else str(exc.path))))
    except BaseException as exc:
        conn.send(("raised", f"{type(exc).__name__}: {str(exc).splitlines()[0] if str(exc) else ''}"))
    finally:
        conn.close()


def run_isolated(reader, args: tuple, path: Path, what: str, memory_limit: int | None = None):
    """``reader(*args)`` in a forked child; its result, or one error line naming ``path``.

    ``what`` names the reader in messages ("MATLAB v5", "MATLAB v7.3 (HDF5)").
    """
    ctx = multiprocessing.get_context("fork")
    receive, send = ctx.Pipe(duplex=False)
    child = ctx.Process(target=_child, args=(reader, args, memory_limit, send), daemon=True)
    child.start()
    send.close()
    limit = time_limit(path)
    try:
        if not receive.poll(limit):
            child.kill()
            raise NwbItError(f"the {what} reader did not finish within {limit:.0f} s (a damaged file can make it "
                             "loop): the file is corrupt", path)
        status, payload = receive.recv()
    except EOFError:
        status, payload = "crashed", None
    finally:
        child.join()
        receive.close()
    if status == "crashed":
        raise NwbItError(f"the {what} reader crashed on this file (exit code {child.exitcode}): it is corrupt", path)
    if status == "error":
        problem, where = payload
        raise NwbItError(problem, where or path)
    if status == "raised":
        if payload.startswith("MemoryError"):
            raise NwbItError("declares more data than fits in memory: file corrupt", path)
        raise NwbItError(f"cannot read as a {what} file ({payload})", path)
    return payload
