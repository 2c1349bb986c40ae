"""Clusters nwb_it starts itself (``--cluster slurm|pbs|lsf``) and where tasks go on them.

A batch-system cluster is a dask-jobqueue cluster: one worker per job with ``cores``,
``memory``, ``walltime``, ``queue`` and ``env_setup`` (the lines that activate the
environment), scaled adaptively between 0 and min(files, ``max_jobs``) jobs. With
``gpus`` the jobs ask the batch system for GPUs and their workers declare the Dask
resource ``GPU``; extraction then asks for that resource (it never lands on a CPU-only
worker), and analyses go to the workers without it where there are any.

Examples
--------
>>> from nwb_it.core.params import ClusterParams
>>> print(job_script(ClusterParams(kind="slurm", queue="gpu", gpus=1)))          # doctest: +SKIP
#!/usr/bin/env bash
#SBATCH -J dask-worker
...
"""
from __future__ import annotations

import logging
import shutil
from typing import Any

from ..core.cluster import SUBMIT_COMMANDS
from ..core.errors import NwbItError
from ..core.params import ClusterParams

#: How each batch system is asked for GPUs.
GPU_DIRECTIVES = {"slurm": "--gres=gpu:{n}", "pbs": "-l ngpus={n}", "lsf": '-gpu "num={n}"'}


def jobqueue_cluster(params: ClusterParams, scheduler_host: str | None = None):
    """The dask-jobqueue cluster of ``params``; its scheduler runs here (on ``scheduler_host``, default: Dask's)."""
    try:
        import dask_jobqueue  # optional: only for batch-system clusters
    except ImportError:
        raise NwbItError("--cluster slurm|pbs|lsf needs dask-jobqueue: pip install dask-jobqueue") from None
    cls = {"slurm": dask_jobqueue.SLURMCluster, "pbs": dask_jobqueue.PBSCluster,
           "lsf": dask_jobqueue.LSFCluster}[params.kind]
    gpu = params.gpus > 0
    extra = {"interface": params.interface} if params.interface else {}
    return cls(queue=params.queue, account=params.account, cores=params.cores, processes=1, memory=params.memory,
               walltime=params.walltime,
               job_script_prologue=list(params.env_setup),
               worker_extra_args=["--resources", f"GPU={params.gpus}"] if gpu else [],
               job_extra_directives=[GPU_DIRECTIVES[params.kind].format(n=params.gpus)] if gpu else [],
               scheduler_options={"dashboard_address": None,
                                  **({"host": scheduler_host} if scheduler_host else extra)},
               silence_logs=logging.ERROR, **extra)


def job_script(params: ClusterParams) -> str:
    """The batch script each job of ``params`` runs (what ``--print-job-script`` shows; the scheduler address in it
    is a placeholder on the loopback: a run puts its own)."""
    cluster = jobqueue_cluster(params, scheduler_host="127.0.0.1")
    try:
        return cluster.job_script()
    finally:
        cluster.close()


def placement(client: Any, gpu: bool) -> dict[str, Any]:
    """``submit``/``map`` keywords: GPU tasks on workers declaring ``GPU``, others on the rest (when there are
    both); nothing when no worker declares a GPU."""
    workers = client.scheduler_info().get("workers", {})
    with_gpu = [a for a, w in workers.items() if (w.get("resources") or {}).get("GPU")]
    if not with_gpu:
        return {}
    if gpu:
        return {"resources": {"GPU": 1}}
    without = [a for a in workers if a not in with_gpu]
    return {"workers": without, "allow_other_workers": False} if without else {}


class ClusterClient:
    """A Dask client of a cluster it owns: closing it stops the cluster (and cancels its jobs)."""

    def __init__(self, cluster, maximum: int):
        from distributed import Client

        self.cluster = cluster
        cluster.adapt(minimum=0, maximum=maximum)
        self.client = Client(cluster)

    def __enter__(self):
        return self.client

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.client.close()
        self.cluster.close()


def check_submit_command(params: ClusterParams) -> None:
    """The batch system's submit command (sbatch, qsub, bsub) must be here: without it jobs would never start
    and the run would wait for workers for ever."""
    command = SUBMIT_COMMANDS[params.kind]
    if shutil.which(command) is None:
        raise NwbItError(f"--cluster {params.kind} submits jobs with {command}, which is not on this machine's PATH: "
                         "run nwb-it on the cluster's login node (or load its module)")


def batch_cluster_client(params: ClusterParams, n_tasks: int) -> ClusterClient:
    """A client of a new batch-system cluster scaling adaptively up to min(``n_tasks``, ``max_jobs``) jobs."""
    check_submit_command(params)
    return ClusterClient(jobqueue_cluster(params), max(1, min(n_tasks, params.max_jobs)))
