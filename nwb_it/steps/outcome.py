"""What one session's job did (:class:`Outcome`), and :func:`run_job`, which every kind of worker runs."""
from __future__ import annotations

import time
import warnings
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from ..core.errors import NwbItError

Job = Callable[[Path], "dict | str"]


@dataclass(frozen=True)
class Outcome:
    """What one session's job did: ``status`` is ok, findings (ran; the file has problems), failed or cancelled;
    ``value`` the row the job returned (:mod:`nwb_it.steps.jobs`), ``message`` the error of a failed one."""

    session: str
    status: str
    seconds: float
    message: str
    warnings: tuple[str, ...] = field(default=())
    value: dict | None = None

    @property
    def failed(self) -> bool:
        return self.status == "failed"


def run_job(job: Job, path: Path, debug: bool = False) -> Outcome:
    """Run one job and turn whatever happens into an Outcome (what every worker, Dask's or forked, executes).

    A job returns a row (a dict; its ``status`` key, when there, reports ``findings``) or a message.
    ``debug`` lets unexpected exceptions propagate with their traceback.
    """
    start = time.perf_counter()
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("default")
        for noisy in (DeprecationWarning, FutureWarning, ResourceWarning):
            warnings.filterwarnings("ignore", category=noisy)
        try:
            result = job(path)
            value = result if isinstance(result, dict) else None
            status = value.get("status", "ok") if value is not None else "ok"
            message = "" if value is not None else result
        except NwbItError as exc:
            if debug:
                raise
            status, message, value = "failed", str(exc), None
        except Exception as exc:  # one session's unexpected failure must not stop the others
            if debug:
                raise
            detail = str(exc).strip().splitlines()[0][:300] if str(exc).strip() else ""
            status, message, value = "failed", f"{path}: {type(exc).__name__}: {detail}", None
    seen = tuple(dict.fromkeys(str(w.message) for w in caught))       # once each, in order
    return Outcome(str(path), status, time.perf_counter() - start, message or "", seen, value)
