"""Many sessions per command: one job per file, run here, on a local Dask cluster or on a remote one.

A *job* is a picklable callable ``job(path) -> str`` (a line saying what it did) that
raises :class:`NwbItError` when the file is bad; the command line's jobs
(:mod:`nwb_it.cli.jobs`, bound with ``functools.partial``) are examples.
:func:`run_batch` runs one job per path and returns one :class:`Outcome` per path,
in the order given:

- ``workers=1`` (or a single path, no scheduler): in this process, one after the other;
- ``workers=N``: a ``dask.distributed.LocalCluster`` of N single-threaded worker
  *processes* (HDF5 and torch are not safe to share between threads; the nanny pins
  each process's BLAS/OpenMP to one thread, so N workers use N cores);
- ``scheduler="tcp://host:8786"``: a running cluster (e.g. started with dask-jobqueue);
  the files must be on storage the workers see, so paths are sent absolute.

One failed session never stops the others: its outcome holds the error line.
Results do not depend on where a job runs: every random stream is seeded from the
job's parameters, never from the worker.
"""
from __future__ import annotations

import logging
import time
import warnings
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import NwbItError
from ..core.params import usable_cores

Job = Callable[[Path], "str | tuple[str, str]"]
CONNECT_TIMEOUT = "20s"      # a scheduler that does not answer within this is reported, not waited on


@dataclass(frozen=True)
class Outcome:
    """What one session's job did: ``status`` is ok, findings (ran; the file has problems) or failed."""

    session: str
    status: str
    seconds: float
    message: str
    warnings: tuple[str, ...] = field(default=())

    @property
    def failed(self) -> bool:
        return self.status == "failed"


def run_job(job: Job, path: Path, debug: bool = False) -> Outcome:
    """Run one job and turn whatever happens into an Outcome (what a Dask worker executes).

    A job returns a message, or ``(status, message)`` to report ``findings``.
    ``debug`` lets unexpected exceptions propagate with their traceback.
    """
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for noisy in (DeprecationWarning, FutureWarning, ResourceWarning):
            warnings.filterwarnings("ignore", category=noisy)
        try:
            result = job(path)
            status, message = result if isinstance(result, tuple) else ("ok", result)
        except NwbItError as exc:
            if debug:
                raise
            status, message = "failed", str(exc)
        except Exception as exc:  # one session's unexpected failure must not stop the others
            if debug:
                raise
            detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            status, message = "failed", f"{path}: {type(exc).__name__}: {detail}"
    seen = tuple(dict.fromkeys(str(w.message) for w in caught))       # once each, in order
    return Outcome(str(path), status, time.perf_counter() - start, message or "", seen)


def cluster_client(workers: int, scheduler: str | None):
    """A Client of the cluster at ``scheduler``, or of a new LocalCluster of ``workers`` processes."""
    from distributed import Client

    if scheduler is not None:
        try:
            return Client(scheduler, timeout=CONNECT_TIMEOUT)
        except (OSError, TimeoutError) as exc:
            raise NwbItError(f"cannot reach the Dask scheduler at {scheduler} ({type(exc).__name__}); "
                             "start one with `dask scheduler` and workers with `dask worker ADDRESS`") from None
    # the client owns this cluster: closing it stops the worker processes
    return Client(n_workers=workers, threads_per_worker=1, processes=True, dashboard_address=None,
                  silence_logs=logging.ERROR)


def run_batch(job: Job, paths: Sequence[str | Path], workers: int | None = None, scheduler: str | None = None,
              progress: bool = True, desc: str = "sessions", debug: bool = False) -> list[Outcome]:
    """Run ``job`` on every path; outcomes in the order of ``paths``.

    Examples
    --------
    >>> from functools import partial
    >>> from nwb_it.cli.jobs import reliability_job
    >>> from nwb_it.core.params import PresentationSpec, ReliabilityParams
    >>> job = partial(reliability_job, params=ReliabilityParams(), pickle_out=None, many=True,
    ...               presentations=PresentationSpec(), store_binned=False, overwrite=False)
    >>> outcomes = run_batch(job, ["a.nwb", "b.nwb"], workers=2)                     # doctest: +SKIP
    >>> [o.status for o in outcomes]                                                 # doctest: +SKIP
    ['ok', 'ok']
    """
    from tqdm.auto import tqdm

    paths = [Path(p).expanduser().absolute() for p in paths]      # workers may run elsewhere
    workers = usable_cores() if workers is None else workers
    if workers < 1:
        raise NwbItError(f"`workers={workers}`: at least 1")
    bar = tqdm(total=len(paths), desc=desc, unit="session", disable=not progress or len(paths) < 2)
    outcomes: list[Outcome | None] = [None] * len(paths)
    if scheduler is None and (workers == 1 or len(paths) == 1):
        for i, path in enumerate(paths):
            outcomes[i] = run_job(job, path, debug)
            bar.update()
        bar.close()
        return outcomes
    from distributed import as_completed

    with cluster_client(min(workers, len(paths)), scheduler) as client:
        futures = client.map(run_job, [job] * len(paths), paths, [debug] * len(paths), pure=False)
        where = {f.key: i for i, f in enumerate(futures)}
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
        finally:
            bar.close()
    return outcomes


def summary_lines(outcomes: Sequence[Outcome]) -> list[str]:
    """The end-of-run table: session, status, seconds, and the error line of failures."""
    width = max(len(Path(o.session).name) for o in outcomes)
    lines = [f"{'session':<{width}}  {'status':<8}  {'seconds':>8}  error"]
    for o in outcomes:
        error = o.message.removeprefix(f"{o.session}: ") if o.failed else ""
        lines.append(f"{Path(o.session).name:<{width}}  {o.status:<8}  {o.seconds:8.1f}  {error}")
    n_failed = sum(o.failed for o in outcomes)
    lines.append(f"{len(outcomes) - n_failed} of {len(outcomes)} sessions done, {n_failed} failed")
    return lines


def exit_code(outcomes: Sequence[Outcome]) -> int:
    """2 when any session failed, 1 when any has (validation) findings, else 0."""
    if any(o.failed for o in outcomes):
        return 2
    return 1 if any(o.status == "findings" for o in outcomes) else 0
