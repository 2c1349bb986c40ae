"""The namespaces an NWB file caches: those it uses, whatever else the writing process has loaded.

pynwb caches in ``/specifications`` every namespace loaded in the process that writes (an
extension imported for another file included), so a file's contents would depend on what
ran before it in the same process (a dataset ``run``, a notebook, a test session). After
each write nwb_it keeps the namespaces whose types the file holds, those they include, and
the three pynwb always writes (:func:`keep_used_specifications`). Reading then loads an
extension only for files that use it (:func:`declares`): ndx-binned-spikes' specification
alone costs ~0.5 s to build.

Examples
--------
>>> from datetime import datetime, timezone
>>> import tempfile, os
>>> from pynwb import NWBFile, NWBHDF5IO
>>> path = os.path.join(tempfile.mkdtemp(), "x.nwb")
>>> with NWBHDF5IO(path, "w") as io:
...     io.write(NWBFile(session_description="x", identifier="x", session_start_time=datetime.now(timezone.utc)))
>>> removed = keep_used_specifications(path)     # what else this process had loaded (an extension, ...)
>>> sorted(cached_namespaces(path))
['core', 'hdmf-common', 'hdmf-experimental']
"""
from __future__ import annotations

import json
from pathlib import Path

import h5py

#: Namespaces pynwb writes into every file.
ALWAYS = frozenset({"core", "hdmf-common", "hdmf-experimental"})


def _text(value) -> str | None:
    return value.decode() if isinstance(value, bytes) else value if isinstance(value, str) else None


def cached_namespaces(path: str | Path) -> set[str]:
    """The namespaces whose specification ``path`` caches (empty for a file that is not HDF5 or caches none)."""
    try:
        with h5py.File(path, "r") as f:
            return set(f.get("specifications", {}))
    except OSError:
        return set()


def declares(path: str | Path, namespace: str) -> bool:
    """Whether ``path`` caches the specification of ``namespace`` (NWB writers cache every namespace they use)."""
    return namespace in cached_namespaces(path)


def _used(f: h5py.File) -> set[str]:
    used = {_text(f.attrs.get("namespace"))}
    f.visititems(lambda _, obj: used.add(_text(obj.attrs.get("namespace"))))
    return {ns for ns in used if ns}


def _includes(specs: h5py.Group, namespace: str) -> set[str] | None:
    """The namespaces ``namespace``'s cached specification includes (every version cached); None when a cached
    specification cannot be read as one (another writer's layout): then nothing is pruned."""
    out: set[str] = set()
    try:
        for version in specs[namespace].values():
            if not isinstance(version, h5py.Group) or "namespace" not in version:
                continue
            for ns in json.loads(_text(version["namespace"][()]) or "{}").get("namespaces", []):
                out |= {entry["namespace"] for entry in ns.get("schema", []) if "namespace" in entry}
    except (ValueError, TypeError, AttributeError, KeyError):
        return None
    return out


def keep_used_specifications(path: str | Path | h5py.File) -> list[str]:
    """Remove from ``path``'s ``/specifications`` the namespaces it neither uses nor needs; return their names.

    Kept: :data:`ALWAYS`, every namespace of a type in the file, and what their specifications include
    (all of them when a specification cannot be read). ``path`` may be a file already open for writing.
    """
    if not isinstance(path, h5py.File):
        with h5py.File(path, "r+") as f:
            return keep_used_specifications(f)
    specs = path.get("specifications")
    if specs is None:
        return []
    keep, todo = set(ALWAYS), _used(path) - ALWAYS
    while todo:
        ns = todo.pop()
        keep.add(ns)
        if ns in specs:
            included = _includes(specs, ns)
            if included is None:
                return []
            todo |= included - keep
    removed = sorted(set(specs) - keep)
    for ns in removed:
        del specs[ns]
    return removed
