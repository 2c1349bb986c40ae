"""Local worker processes forked from this one: a batch's parallel sessions without start-up cost.

A ``LocalCluster``'s workers are new interpreters: each imports numpy, h5py, pynwb and
nwb_it before its first task, which on a 2-core machine takes as long as converting a
small session (measured: ``scripts/bench_sessions.py``), so two workers stopped paying.
Workers forked from the command's process inherit every module it imported and start in
milliseconds. They receive a session's index and send back its :class:`Outcome`; the job
and the paths are inherited, never pickled.

Fork is safe only where no other thread of this process can hold a lock at that moment
and no OpenMP pool is live: :func:`fork_is_safe` (Linux, a single Python thread, torch not
imported). :func:`~nwb_it.steps.batch.run_batch` uses these workers then and a Dask
``LocalCluster`` otherwise (a notebook's kernel has threads; a model has torch).

Like the cluster's workers, each forked worker ignores Ctrl-C (this process cancels and
kills them), uses one BLAS/OpenMP thread and runs on its share of this process's cores (N
workers, N cores: a session's reader then reads with one process, see
:func:`~nwb_it.formats.l2str.reader.read_session`), and leaves with
``os._exit`` (the parent's ``atexit`` handlers and buffered output are not its own). A
worker that dies (killed for memory, a crash in a C library) fails its session only:
"worker lost", and a new worker takes the next one.
"""
from __future__ import annotations

import os
import signal
import sys
import threading
import traceback
from collections.abc import Callable, Sequence
from multiprocessing.connection import Connection, wait
from pathlib import Path

from threadpoolctl import threadpool_limits

from ..core.errors import NwbItError
from ..io.child import exit_description, fork_child
from .outcome import Outcome, run_job


def fork_is_safe() -> bool:
    """Whether forking this process now cannot deadlock a child (see the module doc)."""
    return sys.platform.startswith("linux") and threading.active_count() == 1 and "torch" not in sys.modules


class _Raised(Exception):
    """An exception a worker raised with ``debug``: its traceback, re-raised here."""


def _serve(conn: Connection, job, paths: Sequence[Path], debug: bool, cores: set[int]) -> None:
    signal.signal(signal.SIGINT, signal.SIG_IGN)          # this child's own handler: the parent handles Ctrl-C
    os.sched_setaffinity(0, cores)                        # this child's own share of the cores
    with threadpool_limits(1):
        while (i := conn.recv()) is not None:
            try:
                outcome = run_job(job, paths[i], debug)
            except BaseException as exc:     # run_job lets through only --debug's errors and exits (SystemExit)
                outcome = (_Raised(traceback.format_exc()) if debug else
                           Outcome(str(paths[i]), "failed", float("nan"), f"{paths[i]}: {type(exc).__name__}"))
            conn.send((i, outcome))


class _Worker:
    def __init__(self, job, paths: Sequence[Path], debug: bool, cores: set[int]):
        self.pid, self.conn = fork_child(lambda conn: _serve(conn, job, paths, debug, cores))
        self.session: int | None = None
        self.cores = cores

    def give(self, i: int | None) -> None:
        self.session = i
        self.conn.send(i)

    def reap(self) -> str:
        """How the worker ended (it has closed its end: told to stop, or died), once it has: "exit code 0", ..."""
        self.conn.close()
        return exit_description(os.waitpid(self.pid, 0)[1])

    def kill(self) -> None:
        try:
            os.kill(self.pid, signal.SIGKILL)
            os.waitpid(self.pid, 0)
        except (ProcessLookupError, ChildProcessError):
            pass
        self.conn.close()


def run_forked(job, paths: Sequence[Path], todo: Sequence[int], workers: int, debug: bool,
               done: Callable[[int, Outcome], None]) -> None:
    """Run ``job`` on ``paths[i]`` for every ``i`` in ``todo`` on ``workers`` forked processes; ``done(i, outcome)``
    as each finishes. Ctrl-C (KeyboardInterrupt here) kills the workers before it propagates."""
    queue = list(todo)[::-1]
    pool: list[_Worker] = []
    n = min(workers, len(queue))
    mine = sorted(os.sched_getaffinity(0))
    shares = [set(mine[i::n]) or {mine[i % len(mine)]} for i in range(n)]      # more workers than cores: shared
    try:
        for cores in shares:
            pool.append(_Worker(job, paths, debug, cores))
            pool[-1].give(queue.pop())
        while pool:
            for conn in wait([w.conn for w in pool]):
                worker = next(w for w in pool if w.conn is conn)
                try:
                    i, outcome = worker.conn.recv()
                except (EOFError, OSError):
                    i = worker.session
                    outcome = Outcome(str(paths[i]), "failed", float("nan"),
                                      f"{paths[i]}: worker lost ({worker.reap()})")
                    pool.remove(worker)
                    if queue:
                        pool.append(_Worker(job, paths, debug, worker.cores))
                        pool[-1].give(queue.pop())
                    done(i, outcome)
                    continue
                if isinstance(outcome, _Raised):
                    raise outcome
                done(i, outcome)
                if queue:
                    worker.give(queue.pop())
                else:
                    worker.give(None)
                    worker.reap()
                    pool.remove(worker)
    finally:
        for worker in pool:
            worker.kill()


def call_in_child(fn: Callable, *args):
    """``fn(*args)`` in one forked child (where :func:`fork_is_safe`); its result, or the exception it raised.

    For work that loads what would make this process unsafe to fork afterwards: ``nwb-it run`` extracts
    activations this way, so torch never loads here and its later steps still fork their workers. No time
    limit (a model may run for hours); Ctrl-C here kills the child. A child that dies is an NwbItError.
    """
    def child(conn: Connection) -> None:
        try:
            reply = ("ok", fn(*args))
        except BaseException as exc:           # sent back and raised there (NwbItError keeps its one line)
            reply = ("raised", exc)
        try:
            conn.send(reply)
        except Exception:                      # an unpicklable result or exception: say what it was
            conn.send(("raised", NwbItError(f"{type(reply[1]).__name__} could not be sent back: "
                                            f"{str(reply[1])[:300]}")))
    pid, conn = fork_child(child)
    try:
        kind, value = conn.recv()
    except (EOFError, OSError):
        status, pid = os.waitpid(pid, 0)[1], 0
        raise NwbItError(f"the child process running {getattr(fn, '__name__', 'the work')} died "
                         f"({exit_description(status)})") from None
    except BaseException:
        os.kill(pid, signal.SIGKILL)
        raise
    finally:
        conn.close()
        if pid:
            os.waitpid(pid, 0)
    if kind == "raised":
        raise value
    return value

