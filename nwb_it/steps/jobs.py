"""What each verb does to one file, as a picklable function ``job(path, ...) -> row`` (the batch API).

Each runner module defines its verb's job beside its runner (``reliability_job`` in
:mod:`nwb_it.steps.reliability`, ...; all importable from ``nwb_it``); this module holds the
naming rules they share and ``validate_job``. These are the units
:func:`nwb_it.steps.batch.run_batch` sends to its workers (bound with ``functools.partial``:
frozen parameter dataclasses and plain values only). Each returns a row (a dict of plain values: what was
done, where it went, the numbers a user checks first); :func:`~nwb_it.steps.batch.run_batch` wraps it in an
:class:`~nwb_it.steps.outcome.Outcome` (``outcome.value``), and only the command line turns rows into lines.

Examples
--------
>>> from functools import partial
>>> from nwb_it import OutputPolicy, ReliabilityParams, reliability_job, run_batch, run_convert
>>> from nwb_it import example_metadata_path, write_example_session
>>> _ = write_example_session("j_fixshortvid1_coco.mat", n_units=5, n_clips=10, n_repeats=4)
>>> nwb = run_convert("j_fixshortvid1_coco.mat", example_metadata_path(), out_dir="nwb_j")
>>> job = partial(reliability_job, params=ReliabilityParams(n_perm=20), output=OutputPolicy())
>>> [(o.status, o.value["units"]) for o in run_batch(job, [nwb])]
[('ok', 5)]
"""
from __future__ import annotations

from pathlib import Path

from ..core.locations import location_stem
from ..nwb.validate import validate_nwb


def per_session(out: Path | None, path: Path, many: bool, suffix: str = "") -> Path | None:
    """A file output (``--export-pickle``) of a many-file run is named after the session's file."""
    if out is None or not many:
        return out
    return Path(out) / f"{location_stem(path)}{suffix}"


def session_folder(out: Path | None, path: str | Path, *parts: str) -> Path | None:
    """``OUT/<session>/<parts>``: every verb's figures, one layout whatever the number of files (and ``run``'s)."""
    return None if out is None else Path(out, location_stem(path), *parts)


def model_folder(activations: str) -> str:
    """The folder of one model's figures: its table's name without ``_activations`` (``run``'s model name)."""
    return activations.removesuffix("_activations") or activations


def elsewhere(source: str | Path, target: str | Path | None) -> str | None:
    """The derivative results went to (or were read from) when that is not the file given; else None."""
    return None if target is None or str(target) == str(source) else str(target)


def validate_job(path: Path) -> dict:
    """Every finding of the file's checks; status ``findings`` when one blocks a DANDI upload."""
    findings = validate_nwb(path)
    blocking = sum(f.blocking for f in findings)
    return {"status": "findings" if blocking else "ok", "file": str(path), "findings": [str(f) for f in findings],
            "blocking": blocking}
