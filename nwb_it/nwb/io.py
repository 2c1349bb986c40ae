"""Opening NWB files with one-line errors; adding results to an existing file, crash-safe.

Earlier results of the same name are replaced.

pynwb cannot delete objects in place, so the file is read, the old container is
dropped from its processing module, the new one added, and everything is
exported to a temporary file beside the original, which is then renamed over it.
Units, trials and all other content are copied unchanged.
"""
from __future__ import annotations

import contextlib
from collections.abc import Callable, Iterable, Iterator
from pathlib import Path

import h5py
from pynwb import NWBHDF5IO, NWBFile

from ..core.errors import NwbItError
from ..core.provenance import generated_by
from ..io.atomic import atomic_output, locked, refuse_existing
from .remote import is_remote, open_remote
from .specs import declares, keep_used_specifications


def open_nwb(path: str | Path) -> NWBHDF5IO:
    """Open an NWB file for reading, turning unreadable files into one-line errors."""
    path = Path(path)
    if not path.is_file():
        raise NwbItError("no such file", path)
    if declares(path, "ndx-binned-spikes"):     # registers BinnedAlignedSpikes, so files holding it re-export
        with contextlib.suppress(ImportError):   # (only for them: building its specification takes ~0.5 s)
            import ndx_binned_spikes  # noqa: F401
    try:
        return NWBHDF5IO(str(path), "r")
    except Exception as exc:  # h5py/pynwb raise many types for non-NWB files
        raise NwbItError(f"cannot be opened as NWB ({exc})", path) from None


def read_nwb(io: NWBHDF5IO, path: str | Path) -> NWBFile:
    try:
        return io.read()
    except Exception as exc:
        raise NwbItError(f"cannot be read as NWB ({exc})", path) from None


@contextlib.contextmanager
def reading(path: str | Path, stats: dict | None = None) -> Iterator[NWBFile]:
    """Open and read an NWB file (a local path, an http(s) URL or a ``DANDI:`` asset); an NwbItError without a
    file raised inside the block is blamed on it. For a remote file, ``stats["bytes_read"]`` (when ``stats`` is
    given) grows by the bytes received over HTTP, and ``stats["identity"]`` says what was served (size, ETag,
    Last-Modified, SHA-256 of the first 64 KiB)."""
    if is_remote(path):
        io, remote, h5 = open_remote(str(path))
        if stats is not None:
            stats["identity"] = remote.identity()
            base = stats.get("bytes_read", 0)
            stats["bytes_so_far"] = lambda: base + remote.bytes_read      # while the file is open
        try:
            with io:
                yield read_nwb(io, path)
        except NwbItError as exc:
            raise NwbItError(exc.problem, exc.path or str(path)) from None
        except OSError as exc:      # a range fetch that failed after its retries, mid-analysis
            raise NwbItError(f"reading over HTTP failed ({str(exc).splitlines()[0][:200]})", str(path)) from None
        finally:
            if stats is not None:
                stats["bytes_read"] = stats.get("bytes_read", 0) + remote.bytes_read
            h5.close()
            remote.close()
        return
    with open_nwb(path) as io:
        try:
            yield read_nwb(io, path)
        except NwbItError as exc:
            if exc.path is None:
                raise NwbItError(exc.problem, path) from None
            raise


def mark_generated(nwb: NWBFile) -> None:
    """Add nwb_it and its version to ``nwb.was_generated_by`` (NWB 2.8+), keeping what other software wrote there."""
    rows = generated_by(nwb.was_generated_by)
    if nwb.was_generated_by is None:
        nwb.was_generated_by = rows
    else:                                     # hdmf sets a field once: replace it, and have export write it
        nwb.fields["was_generated_by"] = rows
    nwb.set_modified()


def write_nwb(nwb: NWBFile, path: str | Path) -> None:
    """Write a new NWB file at ``path`` (a temporary file of :func:`~nwb_it.io.atomic.atomic_output`), caching only
    the namespaces it uses (:mod:`nwb_it.nwb.specs`): the same file whatever this process loaded before."""
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    keep_used_specifications(path)


def _check_written_as(f, module: str, containers: list) -> None:
    """Every container went in as its own type (``f``: the written file, open): an extension's type unknown to the
    reading io (imported after it was opened) is written as its base class, without its data, with no error from
    pynwb."""
    for container in containers:
        stored = f[f"processing/{module}/{container.name}"].attrs.get("neurodata_type")
        stored = stored.decode() if isinstance(stored, bytes) else stored
        if stored != container.data_type:
            raise NwbItError(f"{container.name} would be written as {stored}, not {container.data_type} "
                             "(its extension was loaded after the file was opened): nothing was written")


def replace_in_module(path: str | Path, module: str, description: str,
                      make: Callable[[NWBFile], Iterable], force: bool = False) -> None:
    """Put the containers that ``make(nwbfile)`` returns into ``processing/<module>``.

    Containers already there under the same names are replaced. ``make`` sees the
    file as read (units, trials, earlier results), so it can link to its tables.
    The whole file is exported to a temporary file that is renamed over the original
    (measured: no slower than appending to a copy), caching only the namespaces it uses
    (:mod:`nwb_it.nwb.specs`).
    A file its owner made read-only is refused before anything is computed, unless ``force``.
    """
    path = Path(path)
    refuse_existing(path, overwrite=True, force=force)
    with locked(path), open_nwb(path) as io:        # another step's table, written meanwhile, is kept
        nwb = read_nwb(io, path)
        containers = list(make(nwb))
        mod = nwb.processing.get(module) or nwb.create_processing_module(module, description)
        for container in containers:
            if container.name in mod.data_interfaces:
                mod.data_interfaces.pop(container.name)
            mod.add(container)
        mark_generated(nwb)
        with atomic_output(path, overwrite=True, force=force) as tmp:
            with NWBHDF5IO(str(tmp), "w") as out:
                out.export(src_io=io, nwbfile=nwb)
            with h5py.File(tmp, "r+") as written:         # one more open of the new file: check, then prune
                _check_written_as(written, module, containers)
                keep_used_specifications(written)
