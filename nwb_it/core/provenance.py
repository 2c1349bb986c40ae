"""Machine-readable provenance of result tables.

Every table nwb_it writes ends its description with one line
``nwb_it provenance (JSON): {...}`` holding the package version, the step, its
parameters and (for model activations) the model's identity. Reading it back is
``json.loads`` of what follows the marker: no regular expression over prose.
(A JSON string in a table *cell* is flagged by nwbinspector; a description is not.)

Examples
--------
>>> text = with_provenance("Split-half reliability.", "reliability", {"n_perm": 100})
>>> read_provenance(text)["parameters"]
{'n_perm': 100}
"""
from __future__ import annotations

import json
from importlib import metadata
from typing import Any

MARKER = "\nnwb_it provenance (JSON): "


def generated_by(existing=None) -> list[list[str]]:
    """``NWBFile.was_generated_by`` (NWB 2.8+: the software that made a file) with nwb_it and its version added:
    earlier entries (NeuroConv, another tool, an earlier nwb_it) are kept, this version once.

    Examples
    --------
    >>> generated_by([["neuroconv", "0.10.0"]])[0]
    ['neuroconv', '0.10.0']
    >>> generated_by()[-1][0]
    'nwb_it'
    """
    rows = [] if existing is None else [[str(v.decode() if isinstance(v, bytes) else v) for v in row]
                                        for row in existing[:]]
    mine = ["nwb_it", package_version()]
    return rows if mine in rows else rows + [mine]


def package_version() -> str:
    """The installed nwb_it version (from the package metadata, never written by hand)."""
    try:
        return metadata.version("nwb_it")
    except metadata.PackageNotFoundError:      # running from a source tree that was never installed
        return "0+unknown"


def with_provenance(prose: str, step: str, parameters: dict[str, Any], **extra: Any) -> str:
    """``prose`` followed by the provenance line."""
    record = {"package": "nwb_it", "version": package_version(), "step": step, "parameters": parameters, **extra}
    return prose.rstrip() + MARKER + json.dumps(record, sort_keys=True)


def read_provenance(description: str) -> dict[str, Any]:
    """The provenance record of a table description; ``{}`` for tables written without one."""
    if MARKER not in description:
        return {}
    return json.loads(description.split(MARKER, 1)[1])
