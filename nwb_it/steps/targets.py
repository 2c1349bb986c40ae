"""Where a verb's results go: into the file itself, or into a derivative NWB file.

A local file its owner lets us change is updated in place (atomically). A remote file
(URL, ``DANDI:`` asset), a read-only file, or any file when the output policy names a
``derivative_dir``, gets a derivative there (:mod:`nwb_it.nwb.derivative`), made on first
use and reused after; the verb then reads and writes the derivative, and every later
verb accepts it as input.
"""
from __future__ import annotations

import contextlib
from pathlib import Path

from ..core.errors import NwbItError
from ..core.locations import redact_location
from ..core.logs import logger
from ..core.output import OutputPolicy
from ..core.params import MISC_MODULE, PresentationSpec
from ..io.atomic import atomic_output, check_updatable, locked
from ..io.digest import file_sha256
from ..nwb.derivative import (
    SOURCE_TABLE,
    build_derivative,
    derivative_path,
    identity_differences,
    read_source_identity,
    source_identity,
)
from ..nwb.io import reading, write_nwb
from ..nwb.remote import is_remote


def results_target(path: str | Path, output: OutputPolicy = OutputPolicy(), *,
                   presentations: PresentationSpec = PresentationSpec()) -> Path:
    """The local NWB file a verb reads and writes for ``path`` (the file itself, or its derivative).

    A derivative is reused only for the source it was made from: its ``nwb_it_source`` row
    (identifier, object id, SHA-256 of a local file; size, ETag and first block as served
    for a remote one) must match ``path``'s. Another source mapping to the same
    ``sub-X_ses-Y`` name (a changed file, another dandiset's ``ses-1``, a server now serving
    a new file) is refused naming both, unless ``output.overwrite`` (the derivative is then made
    anew from this source, its earlier results dropped). Checking, creating and updating a
    derivative happen under one lock: two verbs starting on one new derivative make it once.

    Examples
    --------
    >>> from nwb_it import example_metadata_path, run_convert, write_example_session
    >>> _ = write_example_session("t_fixshortvid1_coco.mat", n_units=2, n_clips=3, n_repeats=2)
    >>> nwb = run_convert("t_fixshortvid1_coco.mat", example_metadata_path(), out_dir="nwb")
    >>> results_target(nwb) == nwb                                         # a local file: updated in place
    True
    >>> results_target(nwb, OutputPolicy(derivative_dir="derivatives")).relative_to("derivatives").as_posix()
    'sub-coco/sub-coco_ses-t-fixshortvid1_desc-nwbit_ecephys.nwb'
    """
    derivative_dir, force = output.derivative_dir, output.force
    if derivative_dir is None:
        if is_remote(path):
            raise NwbItError("a remote file cannot be updated: pass `output.derivative_dir=DIR` for a derivative NWB "
                             "file holding the results", str(path))
        try:
            check_updatable(path, force)
        except NwbItError as exc:
            if "read-only" not in exc.problem:
                raise
            raise NwbItError(f"{exc.problem}, or `output.derivative_dir=DIR` to keep it as it is and write a "
                             "derivative NWB file holding the results", path) from None
        return Path(path)
    remote = is_remote(path)
    location = redact_location(path) if remote else str(Path(path).resolve())
    stats: dict = {}
    with reading(path, stats) as source, contextlib.ExitStack() as held:
        target = derivative_path(source, derivative_dir)
        if not remote and Path(path).resolve() == target.resolve():
            return target                                     # the input is this derivative already
        target.parent.mkdir(parents=True, exist_ok=True)
        held.enter_context(locked(target))                    # creation under the lock that guards updates
        current = source_identity(source, "" if remote else file_sha256(path), stats.get("identity"))
        if target.exists():
            with reading(target) as made:
                stored = read_source_identity(made)
            differ = identity_differences(stored, current) if stored is not None else ["nwb_it_source"]
            if not differ:
                check_updatable(target, force)
                return target
            if not output.overwrite:
                was = (stored or {}).get("location", "an unknown source")
                raise NwbItError(f"is the derivative of {was}, not of {location} (they differ in "
                                 f"{', '.join(differ)}): pass `output.overwrite=True` to make it anew from this source "
                                 "(its results are dropped), or another `output.derivative_dir`", target)
        derivative = build_derivative(source, location, presentations, current)     # copies of what it needs
        read = int(stats["bytes_so_far"]() if remote else 0)
        derivative.processing[MISC_MODULE][SOURCE_TABLE]["bytes_read"].data[0] = read
        with atomic_output(target, overwrite=target.exists(), force=force) as tmp:
            write_nwb(derivative, tmp)
        logger.info("%s: derivative made at %s", location, target)
    return target


def results_source(path: str | Path, output: OutputPolicy = OutputPolicy(), *,
                   presentations: PresentationSpec = PresentationSpec()) -> str | Path:
    """The file a reading verb (heatmaps, plot-activations, report) reads the results of ``path`` from.

    Without ``output.derivative_dir`` the file is read itself (a remote one too: a step that needs
    results it lacks says to pass ``derivative_dir``). With it, its derivative there, when it
    exists and was made from this very source (:func:`results_target`'s identity check); a
    local file without one is read itself, a remote one is an error that says which verb
    writes the derivative.
    """
    derivative_dir = output.derivative_dir
    if derivative_dir is None:
        return path                 # a remote file is read itself (its results, if any, name `derivative_dir`)
    with reading(path) as source:
        target = derivative_path(source, derivative_dir)
    if not target.exists():
        if is_remote(path):
            raise NwbItError(f"no derivative in {derivative_dir} yet ({target.name}): run nwb-it reliability with "
                             "`output.derivative_dir` first", redact_location(path))
        return path
    return results_target(path, OutputPolicy(derivative_dir=derivative_dir), presentations=presentations)
