"""``nwb-it convert``: one source session -> one DANDI-layout NWB file, written atomically."""
from __future__ import annotations

from pathlib import Path

from pynwb import NWBHDF5IO

from ..formats.base import SourceInterface
from ..formats.l2str import L2StrSource, SourceLayout
from ..formats.l2str.reader import MAX_SPIKE_TIME_S
from ..nwb.atomic import atomic_output, refuse_existing
from ..nwb.metadata import build_metadata, load_metadata_yaml


def dandi_path(out_dir: str | Path, subject_id: str, session_id: str) -> Path:
    """``OUT/sub-<subject>/sub-<subject>_ses-<session>_ecephys.nwb``."""
    return Path(out_dir) / f"sub-{subject_id}" / f"sub-{subject_id}_ses-{session_id}_ecephys.nwb"


def _user_metadata(metadata: dict | str | Path | None) -> tuple[dict, Path | None]:
    if metadata is None or isinstance(metadata, dict):
        return dict(metadata or {}), None
    return load_metadata_yaml(Path(metadata)), Path(metadata)


def convert_source(source: SourceInterface, out_dir: str | Path, metadata: dict | str | Path | None = None,
                   overwrite: bool = False, progress: bool = False, strict: bool = False) -> Path:
    """Write ``source`` as ``OUT/sub-<subject>/sub-<subject>_ses-<session>_ecephys.nwb``; return the path.

    The metadata (a dict or a YAML file) is deep-merged over what the source gives and
    validated before anything is written; the write is atomic. ``strict`` refuses what
    ``dandi validate`` would flag (no subject age, ...) instead of warning.
    """
    from ..nwb.session_file import new_nwbfile

    user, meta_path = _user_metadata(metadata)
    source_meta = source.get_metadata()
    subject = (user.get("Subject") or {}).get("subject_id", source_meta["Subject"].get("subject_id"))
    session = (user.get("NWBFile") or {}).get("session_id", source_meta["NWBFile"].get("session_id"))
    if isinstance(subject, str) and isinstance(session, str):
        refuse_existing(dandi_path(out_dir, subject, session), overwrite)          # before the slow read
    data = source.read(progress=progress)
    meta = build_metadata(source_meta, user, meta_path, data.source_path, source.session_start_fallback(), strict)
    out = dandi_path(out_dir, meta["Subject"]["subject_id"], meta["NWBFile"]["session_id"])
    nwb = new_nwbfile(meta)
    source.add_to_nwbfile(nwb, meta)
    with atomic_output(out, overwrite) as tmp, NWBHDF5IO(tmp, "w") as io:
        io.write(nwb)
    return out


def convert_session(mat_path: str | Path, out_dir: str | Path, metadata: dict | str | Path | None = None,
                    overwrite: bool = False, layout: SourceLayout = SourceLayout(), progress: bool = False,
                    max_spike_time: float = MAX_SPIKE_TIME_S, strict: bool = False) -> Path:
    """Convert one ``L2_str`` MAT session into ``OUT/sub-<subject>/sub-<subject>_ses-<session>_ecephys.nwb``.

    Parameters
    ----------
    mat_path : path of the ``.mat`` session (v7.3 or v5/v7)
    out_dir : folder of the DANDI-layout output
    metadata : dict or path of a YAML file with ``NWBFile:``/``Subject:``/``Ecephys:``/``Units:`` sections
    overwrite : replace an existing output file
    layout : struct and field names of the source

    Returns
    -------
    Path of the written NWB file. The write is atomic: on any failure no partial
    file is left and an existing file is untouched.

    Examples
    --------
    >>> import tempfile, os
    >>> from nwb_it.examples import write_example_session
    >>> d = tempfile.mkdtemp(); mat = os.path.join(d, "rec_fixshortvid1_coco.mat")
    >>> _ = write_example_session(mat, n_units=3, n_clips=4, n_repeats=3)
    >>> meta = {"NWBFile": {"session_start_time": "2024-01-01T10:00:00+00:00"}, "Subject": {"age": "P7Y"}}
    >>> convert_session(mat, d, meta).name
    'sub-coco_ses-fixshortvid1_ecephys.nwb'
    """
    return convert_source(L2StrSource(mat_path, layout, max_spike_time), out_dir, metadata, overwrite, progress,
                          strict)
