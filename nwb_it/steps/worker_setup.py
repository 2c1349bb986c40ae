"""Set up each local Dask worker process this package starts (a Dask preload: ``dask_setup`` runs in the worker).

Ctrl-C in a terminal reaches every process of the command's group. The command's own process
cancels the workers' tasks and removes their partial files (:func:`nwb_it.steps.batch.run_batch`);
a worker that died of the same Ctrl-C mid-task would report a traceback instead. So each worker
ignores SIGINT in its own process, set here, in the worker's main thread; the command's process
and its signal handlers are left as they were.
"""
from __future__ import annotations

import signal


def dask_setup(worker) -> None:
    """Called by Dask in a new worker process: SIGINT is the command's to handle, not this worker's."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
