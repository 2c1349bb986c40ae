"""Many sessions per command: one job per file, run here, on a local Dask cluster or on a remote one.

A *job* is a picklable callable ``job(path) -> dict`` (a row saying what it did) that
raises :class:`NwbItError` when the file is bad; the verbs' jobs (``reliability_job``, ...,
bound with ``functools.partial``; :mod:`nwb_it.steps.jobs`) are examples. The Dask clients it
uses are made in :mod:`nwb_it.steps.dask_client`.
:func:`run_batch` runs one job per path and returns one :class:`Outcome` per path,
in the order given:

- ``workers=None`` (the default): this machine's cores, on forked workers (they start in
  milliseconds); where fork is unsafe, the first file here and the rest on a LocalCluster (which
  takes seconds to start) only when they would take this process longer than ``MIN_PARALLEL_WORK_S``;
- ``workers=1`` (or a single path, no scheduler): in this process, one after the other;
- ``workers=N``: N single-threaded worker *processes* (HDF5 and torch are not safe to share
  between threads; each worker's BLAS/OpenMP is pinned to one thread, so N workers use N
  cores): forked from this process where that is safe (:mod:`nwb_it.steps.forked`, no
  start-up), else a ``dask.distributed.LocalCluster``;
- ``scheduler="tcp://host:8786"``: a running cluster (e.g. started with dask-jobqueue);
  the files must be on storage the workers see, so paths are sent absolute.

One failed session never stops the others: its outcome holds the error line.
Results do not depend on where a job runs: every random stream is seeded from the
job's parameters, never from the worker.
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from pathlib import Path

from ..core.errors import NwbItError
from ..core.logs import logger
from ..core.params import ClusterParams, usable_cores
from ..core.progress import bars_shown, progress_bar, verbose
from ..io.atomic import remove_stale_temporaries
from ..nwb.remote import is_remote
from .clusters import placement
from .dask_client import cluster_client, stop_local_workers
from .forked import fork_is_safe, run_forked
from .outcome import Job, Outcome, run_job

MIN_PARALLEL_WORK_S = 20.0   # default workers: a LocalCluster only for more sequential work than this (README)


class BatchInterrupted(KeyboardInterrupt):
    """Ctrl-C during a batch: ``outcomes`` says which sessions finished and which were cancelled."""

    def __init__(self, outcomes: list[Outcome]):
        super().__init__()
        self.outcomes = outcomes


def remove_partial_outputs(folders: Sequence[Path]) -> list[Path]:
    """Temporary files of writers that no longer run, in ``folders`` and below (after a cancelled batch)."""

    removed = []
    for folder in dict.fromkeys(Path(f) for f in folders):
        if folder.is_dir():
            for sub in [folder, *(p for p in folder.rglob("*") if p.is_dir())]:
                removed += remove_stale_temporaries(sub)
    return removed


def _unique(paths: Sequence[str | Path]) -> list[Path]:
    """Absolute paths (workers may run elsewhere), each file once however it was written."""
    out: dict = {}
    for p in paths:
        if is_remote(p):                       # a URL is its own identity
            if p in out:
                warnings.warn(f"{p}: named more than once; run once", stacklevel=3)
            out[p] = p
            continue
        path = Path(p).expanduser().absolute()
        if path.resolve() in out:
            warnings.warn(f"{p}: named more than once; run once", stacklevel=3)
            continue
        out[path.resolve()] = path
    return list(out.values())


def run_batch(job: Job, paths: Sequence[str | Path], workers: int | None = None, scheduler: str | None = None,
              desc: str = "sessions", debug: bool = False,
              outputs: Sequence[str | Path] = (), cluster: ClusterParams | None = None) -> list[Outcome]:
    """Run ``job`` on every path; outcomes in the order of ``paths`` (a path given twice runs once).

    ``workers=None`` (the default) uses this machine's cores on forked workers; where fork is
    unsafe (:func:`~nwb_it.steps.forked.fork_is_safe`) it runs the first file here and starts a
    LocalCluster for the rest only when they would take this process longer than
    ``MIN_PARALLEL_WORK_S`` (a cluster's start-up makes small batches slower). ``cluster`` (kind slurm,
    pbs or lsf) sends every file to a batch-system cluster started for them (:mod:`nwb_it.steps.clusters`).
    ``outputs``: folders the jobs write into; after Ctrl-C the partial files of cancelled jobs are removed there, and
    :class:`BatchInterrupted` carries the outcomes. Under :func:`~nwb_it.core.progress.verbose` a bar counts the
    sessions; a single session shows its own bars instead.

    Examples
    --------
    >>> from functools import partial
    >>> from nwb_it import ReliabilityParams, example_metadata_path, run_convert, write_example_session
    >>> from nwb_it import reliability_job
    >>> nwbs = []
    >>> for day in ("b1", "b2"):
    ...     _ = write_example_session(f"{day}_fixshortvid1_coco.mat", n_units=4, n_clips=8, n_repeats=4)
    ...     nwbs.append(run_convert(f"{day}_fixshortvid1_coco.mat", example_metadata_path(), out_dir=day))
    >>> outcomes = run_batch(partial(reliability_job, params=ReliabilityParams(n_perm=10)), nwbs, workers=1)
    >>> [(o.status, o.value["units"]) for o in outcomes]
    [('ok', 4), ('ok', 4)]
    """
    paths = _unique(paths)
    if workers is not None and workers < 1:
        raise NwbItError(f"`workers={workers}`: at least 1")
    bar = progress_bar(total=len(paths), desc=desc, unit="session", enabled=bars_shown() and len(paths) > 1)
    outcomes: list[Outcome | None] = [None] * len(paths)
    try:
        with verbose(bars_shown() and len(paths) == 1):        # one bar: the sessions', or one session's own
            return _run_all(job, paths, outcomes, workers, scheduler, debug, bar, cluster)
    except KeyboardInterrupt:
        remove_partial_outputs([*outputs, *(p.parent for p in paths)])
        raise BatchInterrupted([o if o is not None else Outcome(str(p), "cancelled", float("nan"), "")
                                for o, p in zip(outcomes, paths)]) from None
    finally:
        bar.close()


def _run_all(job: Job, paths: list[Path], outcomes: list, workers: int | None, scheduler: str | None, debug: bool,
             bar, cluster: ClusterParams | None) -> list[Outcome]:
    """:func:`run_batch`'s choice of where the jobs run, filling ``outcomes``."""
    remote = scheduler is not None or (cluster is not None and cluster.kind != "local")
    here = not remote and (workers == 1 or len(paths) == 1 or usable_cores() == 1)
    if not remote and workers is None and not here and not fork_is_safe():   # a LocalCluster only when it pays:
        outcomes[0] = run_job(job, paths[0], debug)                            # time the first session here
        bar.update()
        here = outcomes[0].seconds * (len(paths) - 1) < MIN_PARALLEL_WORK_S
    if here:
        for i, path in enumerate(paths):
            if outcomes[i] is None:
                outcomes[i] = run_job(job, path, debug)
                bar.update()
        return outcomes
    todo = [i for i, o in enumerate(outcomes) if o is None]
    _in_parallel(job, paths, todo, outcomes, min(workers or usable_cores(), len(todo)), scheduler, debug, bar,
                cluster)
    return outcomes


def _in_parallel(job: Job, paths: list[Path], todo: list[int], outcomes: list, workers: int, scheduler: str | None,
                debug: bool, bar, cluster: ClusterParams | None = None) -> None:
    """Run the jobs ``todo`` in parallel, filling ``outcomes``; Ctrl-C cancels what has not finished.

    This machine's workers are forked from this process where that is safe (:mod:`nwb_it.steps.forked`:
    no start-up), else a Dask LocalCluster's; a scheduler or a batch-system cluster is Dask's.
    """
    if scheduler is None and (cluster is None or cluster.kind == "local") and fork_is_safe():
        logger.info("%d sessions on %d forked workers", len(todo), workers)

        def done(i: int, outcome: Outcome) -> None:
            outcomes[i] = outcome
            bar.update()
        run_forked(job, paths, todo, workers, debug, done)
        return
    from distributed import as_completed

    with cluster_client(workers, scheduler, cluster, len(todo)) as client:
        logger.info("%d sessions on Dask (%s)", len(todo), scheduler or (cluster.kind if cluster else "a LocalCluster"))
        futures = client.map(run_job, [job] * len(todo), [paths[i] for i in todo], [debug] * len(todo), pure=False,
                             **placement(client, gpu=False))             # analyses off the GPU workers
        where = {f.key: i for f, i in zip(futures, todo)}
        try:
            for future in as_completed(futures):
                i = where[future.key]
                try:
                    outcomes[i] = future.result()
                except Exception as exc:  # the worker itself died (e.g. killed for memory): this session failed
                    if debug:
                        raise
                    outcomes[i] = Outcome(str(paths[i]), "failed", float("nan"),
                                          f"{paths[i]}: worker lost ({type(exc).__name__})")
                bar.update()
        except KeyboardInterrupt:
            client.cancel(futures, force=True)
            if scheduler is None and (cluster is None or cluster.kind == "local"):
                stop_local_workers(client)
            raise
