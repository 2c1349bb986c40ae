"""Dask clients for a batch: a running scheduler (checked, then probed), a batch-system cluster, or a LocalCluster.

Connecting, probing and stopping a LocalCluster's workers at Ctrl-C live here; where the jobs run and what
they returned is :mod:`nwb_it.steps.batch`'s.
"""
from __future__ import annotations

import asyncio
import contextlib
import logging
import os
import signal
from concurrent.futures import ThreadPoolExecutor

from ..core.errors import NwbItError
from ..core.logs import dropped_mentions
from ..core.params import ClusterParams
from .clusters import batch_cluster_client

CONNECT_TIMEOUT_S = 20.0     # a scheduler that does not answer within this is reported, not waited on
SCHEMES = ("tcp", "tls", "ws", "wss")


def check_scheduler_address(address: str) -> str:
    """``scheme://host:port`` of a dask.distributed scheduler, checked before anything connects.

    Examples
    --------
    >>> check_scheduler_address("tcp://127.0.0.1:8786")
    'tcp://127.0.0.1:8786'
    >>> check_scheduler_address("garbage://x")                   # doctest: +ELLIPSIS
    Traceback (most recent call last):
    ...
    nwb_it.core.errors.NwbItError: `scheduler=garbage://x`: not a Dask scheduler address; ...
    """
    hint = "write it as tcp://HOST:PORT (or tls://, ws://, wss://)"
    scheme, _, rest = str(address).partition("://")
    host, _, port = rest.rpartition(":")
    if scheme not in SCHEMES or not host or "/" in rest or not port.isdigit() or not 0 < int(port) < 65536:
        raise NwbItError(f"`scheduler={address}`: not a Dask scheduler address; {hint}")
    return str(address)


def _probe_scheduler(address: str, timeout: float) -> None:
    """Connect and complete distributed's handshake within ``timeout`` seconds, in a thread of its own loop."""

    from distributed.comm import connect

    async def probe() -> None:
        comm = await asyncio.wait_for(connect(address, timeout=timeout), timeout)
        await comm.close()

    with ThreadPoolExecutor(1) as pool:           # its own event loop, even when the caller runs one (notebooks)
        pool.submit(asyncio.run, probe()).result(timeout + 5)


WORKER_SETUP = "nwb_it.steps.worker_setup"


def cluster_client(workers: int, scheduler: str | None, cluster: ClusterParams | None = None, n_tasks: int = 1):
    """A Client of the cluster at ``scheduler``, of a new batch-system cluster (``cluster``, dask-jobqueue,
    adaptive up to ``n_tasks`` jobs), or of a new LocalCluster of ``workers`` processes.

    A scheduler address is checked, then probed (connect + handshake) within
    ``CONNECT_TIMEOUT_S``: an address that accepts and never answers, or a server that
    speaks another protocol, is one error line, not a hang or a traceback.
    """
    from distributed import Client

    if cluster is not None and cluster.kind != "local":
        return batch_cluster_client(cluster, n_tasks)
    if scheduler is not None:
        check_scheduler_address(scheduler)
        try:
            _probe_scheduler(scheduler, CONNECT_TIMEOUT_S)
            return Client(scheduler, timeout=f"{CONNECT_TIMEOUT_S}s")
        except Exception as exc:  # OSError, timeouts, a foreign protocol's garbage read as frame sizes, ...
            raise NwbItError(f"no Dask scheduler answered at {scheduler} within {CONNECT_TIMEOUT_S:g} s "
                             f"({type(exc).__name__}); start one with `dask scheduler` and workers with "
                             "`dask worker ADDRESS`") from None
    # the workers ignore Ctrl-C, each in its own process (nwb_it.steps.worker_setup, a Dask preload): this
    # process cancels their tasks; its own signal handlers stay as they are
    return Client(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                  silence_logs=logging.ERROR, preload=[WORKER_SETUP])


def stop_local_workers(client) -> None:
    """Kill a LocalCluster's worker processes at once: a cancelled task must not finish its write meanwhile
    (a running task cannot be interrupted; its temporary file is removed afterwards), and close the client.

    Dask reports each killed worker as an error: expected here, so its records that name one of these workers
    (process id or address) are dropped while they stop; its other records, and its level, are left alone."""
    nannies = list(getattr(client.cluster, "workers", {}).values())
    pids = [getattr(getattr(getattr(n, "process", None), "process", None), "pid", None) for n in nannies]
    named = [str(p) for p in pids if p] + [str(getattr(n, "worker_address", "") or "") for n in nannies]
    with dropped_mentions("distributed", named):
        for pid in pids:
            if pid:
                with contextlib.suppress(OSError):
                    os.kill(pid, signal.SIGKILL)
        client.close()
