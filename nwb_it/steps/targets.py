"""Where a verb's results go: into the file itself, or into a derivative NWB file.

A local file its owner lets us change is updated in place (atomically). A remote file
(URL, ``DANDI:`` asset), a read-only file, or any file when ``derivative_dir`` is given,
gets a derivative in ``derivative_dir`` (:mod:`nwb_it.nwb.derivative`), made on first
use and reused after; the verb then reads and writes the derivative, and every later
verb accepts it as input.
"""
from __future__ import annotations

from pathlib import Path

from pynwb import NWBHDF5IO

from ..core.errors import NwbItError
from ..core.params import MISC_MODULE, PresentationSpec
from ..io.atomic import atomic_output, check_updatable
from ..io.digest import file_sha256
from ..nwb.derivative import SOURCE_TABLE, build_derivative, derivative_path
from ..nwb.io import reading
from ..nwb.remote import is_remote


def results_target(path: str | Path, derivative_dir: str | Path | None = None, *,
                   presentations: PresentationSpec = PresentationSpec(), force: bool = False) -> Path:
    """The local NWB file a verb reads and writes for ``path`` (the file itself, or its derivative).

    Examples
    --------
    >>> target = results_target("https://host/ses.nwb", "derivatives")     # doctest: +SKIP
    >>> target.name                                                        # doctest: +SKIP
    'sub-coco_ses-1_desc-nwbit_ecephys.nwb'
    """
    if derivative_dir is None:
        if is_remote(path):
            raise NwbItError("a remote file cannot be updated: pass `derivative_dir=DIR` for a derivative NWB file "
                             "holding the results", str(path))
        try:
            check_updatable(path, force)
        except NwbItError as exc:
            if "read-only" not in exc.problem:
                raise
            raise NwbItError(f"{exc.problem}, or `derivative_dir=DIR` to keep it as it is and write a derivative NWB "
                             "file holding the results", path) from None
        return Path(path)
    location = str(path) if is_remote(path) else str(Path(path).resolve())
    stats: dict = {}
    with reading(path, stats) as source:
        target = derivative_path(source, derivative_dir)
        if not is_remote(path) and Path(path).resolve() == target.resolve():
            return target                                     # the input is this derivative already
        if target.exists():
            check_updatable(target, force)
            return target
        sha = "" if is_remote(path) else file_sha256(path)
        derivative = build_derivative(source, location, presentations, sha)     # copies: usable once closed
    derivative.processing[MISC_MODULE][SOURCE_TABLE]["bytes_read"].data[0] = int(stats.get("bytes_read", 0))
    target.parent.mkdir(parents=True, exist_ok=True)
    with atomic_output(target, overwrite=False) as tmp, NWBHDF5IO(str(tmp), "w") as io:
        io.write(derivative)
    return target
