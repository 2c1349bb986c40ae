"""One forked child talking to this process over a connection: the readers' isolation and the batch workers.

A plain ``os.fork`` rather than ``multiprocessing``: Dask's worker processes are daemonic, and
multiprocessing refuses children of daemons. The child runs ``run(conn)`` and leaves with
``os._exit`` (its copy of this process's ``atexit`` handlers and buffered output are not its own);
messages both ways are pickled by :class:`multiprocessing.connection.Connection`.
"""
from __future__ import annotations

import ctypes
import os
import signal
import socket
import sys
import threading
from collections.abc import Callable
from multiprocessing.connection import Connection

PR_SET_PDEATHSIG = 1          # prctl option: a signal this process gets when its parent dies


def _die_with(parent: int, main_thread: bool) -> None:
    """This child is killed when its parent dies (Linux ``PR_SET_PDEATHSIG``). Only for a fork from the main
    thread: the signal comes when the forking *thread* ends, and a pool's thread (a Dask worker's) may end
    while its process lives on. Elsewhere nothing is set."""
    if not main_thread:
        return
    try:
        ctypes.CDLL(None, use_errno=True).prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    except (OSError, AttributeError):
        return
    if os.getppid() != parent:                     # the parent died before the call: nobody waits for the child
        os._exit(1)


def fork_child(run: Callable[[Connection], object], die_with_parent: bool = False) -> tuple[int, Connection]:
    """Fork a child that calls ``run(conn)`` and exits (code 0, or 1 if ``run`` raised); here: its pid and the
    other end of ``conn``. ``die_with_parent``: the child is killed if this process dies first (a reader whose
    batch worker was killed by Ctrl-C does not read on)."""
    ours, theirs = socket.socketpair()
    for stream in (sys.stdout, sys.stderr):          # nothing buffered here is written twice by the child
        stream.flush()
    parent, main_thread = os.getpid(), threading.current_thread() is threading.main_thread()
    pid = os.fork()
    if pid == 0:
        code = 0
        try:
            ours.close()
            if die_with_parent:
                _die_with(parent, main_thread)
            run(Connection(theirs.detach()))
        except BaseException:
            code = 1
        finally:
            os._exit(code)
    theirs.close()
    return pid, Connection(ours.detach())


def exit_description(status: int) -> str:
    """A child's wait status in words: ``exit code 1``, ``killed by signal 9``."""
    code = os.waitstatus_to_exitcode(status)
    return f"killed by signal {-code}" if code < 0 else f"exit code {code}"
