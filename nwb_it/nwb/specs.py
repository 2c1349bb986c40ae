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
>>> keep_used_specifications(path), sorted(cached_namespaces(path))
([], ['core', 'hdmf-common', 'hdmf-experimental'])
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


def _includes(specs: h5py.Group, namespace: str) -> set[str]:
    """The namespaces ``namespace``'s cached specification includes (every version cached)."""
    out: set[str] = set()
    for version in specs[namespace].values():
        if "namespace" not in version:
            continue
        text = version["namespace"][()]
        for ns in json.loads(_text(text) or "{}").get("namespaces", []):
            out |= {entry["namespace"] for entry in ns.get("schema", []) if "namespace" in entry}
    return out


def keep_used_specifications(path: str | Path) -> list[str]:
    """Remove from ``path``'s ``/specifications`` the namespaces it neither uses nor needs; return their names.

    Kept: :data:`ALWAYS`, every namespace of a type in the file, and what their specifications include.
    """
    with h5py.File(path, "r+") as f:
        specs = f.get("specifications")
        if specs is None:
            return []
        keep, todo = set(ALWAYS), _used(f) - ALWAYS
        while todo:
            ns = todo.pop()
            keep.add(ns)
            if ns in specs:
                todo |= _includes(specs, ns) - keep
        removed = sorted(set(specs) - keep)
        for ns in removed:
            del specs[ns]
    return removed
