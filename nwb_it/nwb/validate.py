"""Schema validation (pynwb) and best-practice inspection (nwbinspector, DANDI config)."""
from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import h5py
import pynwb

from ..core.errors import NwbItError


@dataclass
class Finding:
    """One problem found in a file."""

    path: Path
    severity: str      # SCHEMA, CRITICAL, BEST_PRACTICE_VIOLATION or BEST_PRACTICE_SUGGESTION
    check: str
    location: str
    message: str

    @property
    def blocking(self) -> bool:
        """Whether DANDI would refuse or warn (schema errors, CRITICAL, BEST_PRACTICE_VIOLATION)."""
        return self.severity in ("SCHEMA", "CRITICAL", "BEST_PRACTICE_VIOLATION")

    def __str__(self) -> str:
        return f"{self.path}: {self.severity} {self.check} at {self.location}: {self.message}"


def validate_nwb(path: str | Path) -> list[Finding]:
    """Run pynwb's schema validation and nwbinspector's DANDI configuration on one file.

    Examples
    --------
    >>> from nwb_it import example_metadata_path, run_convert, write_example_session
    >>> _ = write_example_session("v_fixshortvid1_coco.mat", n_units=3, n_clips=4, n_repeats=3)
    >>> nwb = run_convert("v_fixshortvid1_coco.mat", example_metadata_path(), out_dir="nwb")
    >>> [f for f in validate_nwb(nwb) if f.blocking]                   # nothing stands in the way of DANDI
    []
    """
    from nwbinspector import Importance, inspect_nwbfile, load_config  # slow to import: only when validating

    path = Path(path)
    if not path.is_file():
        raise NwbItError("no such file", path)
    if not h5py.is_hdf5(path):
        raise NwbItError("not an NWB (HDF5) file", path)
    try:
        errors = pynwb.validate(path=str(path))
    except Exception as exc:  # pynwb raises assorted errors on files it cannot read
        raise NwbItError(f"cannot be read as NWB ({exc})", path) from None
    findings = [Finding(path, "SCHEMA", type(e).__name__, getattr(e, "location", "") or "/", str(e))
                for e in errors]
    for msg in inspect_nwbfile(nwbfile_path=str(path), config=load_config("dandi"),
                               importance_threshold=Importance.BEST_PRACTICE_SUGGESTION):
        findings.append(Finding(path, msg.importance.name, msg.check_function_name,
                                msg.location or "/", msg.message))
    return findings
