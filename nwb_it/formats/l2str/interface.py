"""The ``L2_str`` MAT session as a source interface (``get_metadata``, ``add_to_nwbfile``, ...)."""
from __future__ import annotations

import re
from datetime import datetime
from pathlib import Path
from typing import Any

from ...core.session import Session
from ...nwb.session_file import add_session
from ..base import SourceInterface
from .reader import MAX_SPIKE_TIME_S, SourceLayout, read_mat_header, read_session


def parse_session_name(path: Path) -> tuple[str | None, str | None]:
    """``<recording>_<stimset>_<monkey>.mat`` -> (session_id, subject_id).

    The session id keeps everything before the monkey, so recordings of one stimulus set
    on different days stay apart: the date (or whatever the name starts with), the
    stimulus set, joined by ``-`` (DANDI ids hold letters, digits and ``-`` only; other
    characters become ``-``). A name without three ``_`` tokens gives no ids (the
    metadata must give them).

    Examples
    --------
    >>> parse_session_name(Path("20240301_fixshortvid1_coco.mat"))
    ('20240301-fixshortvid1', 'coco')
    >>> parse_session_name(Path("rec_fixshortvid1_coco.mat"))
    ('rec-fixshortvid1', 'coco')
    """
    parts = Path(path).stem.split("_")
    if len(parts) >= 3:
        session = re.sub(r"-{2,}", "-", re.sub(r"[^A-Za-z0-9-]", "-", "-".join(parts[:-1]))).strip("-")
        return session or None, parts[-1]
    return None, None


def stimulus_set(path: Path) -> str | None:
    """The stimulus set named by ``<recording>_<stimset>_<monkey>.mat`` (None if the name has no such token)."""
    parts = Path(path).stem.split("_")
    return parts[-2] if len(parts) >= 3 else None


class L2StrSource(SourceInterface):
    """A MATLAB v7.3 or v5 file holding the lab's ``L2_str`` struct.

    Examples
    --------
    >>> from nwb_it.examples import write_example_session
    >>> _ = write_example_session("rec_fixshortvid1_coco.mat", n_units=3, n_clips=4, n_repeats=3)
    >>> src = L2StrSource("rec_fixshortvid1_coco.mat")
    >>> src.get_metadata()["Subject"]["subject_id"], src.read().n_units
    ('coco', 3)
    """

    def __init__(self, file_path: str | Path, layout: SourceLayout = SourceLayout(),
                 max_spike_time: float = MAX_SPIKE_TIME_S, readers: int | None = None):
        self.file_path = Path(file_path)
        self.layout = layout
        self.max_spike_time = max_spike_time
        self.readers = readers            # processes reading a v7.3 file's spike cells (None: read_session's default)
        self._session: Session | None = None

    def read(self) -> Session:
        if self._session is None:
            self._session = read_session(self.file_path, self.layout, self.max_spike_time,
                                         self.readers)
        return self._session

    def sniff(self) -> None:
        read_mat_header(self.file_path)

    def ids(self) -> tuple[str | None, str | None]:
        """(session_id, subject_id) from the file name, before anything is read."""
        return parse_session_name(self.file_path)

    def get_metadata(self) -> dict[str, Any]:
        session_id, subject_id = self.ids()
        stimset = stimulus_set(self.file_path)
        name = self.file_path.name
        return {
            "NWBFile": {"session_description": (
                f"Spiking responses of macaque inferior temporal (IT) cortex units to repeated video clips"
                f"{' of stimulus set ' + stimset if stimset else ''}; converted from {name}."),
                "session_id": session_id or self.file_path.stem,
                "experiment_description": "Passive fixation while short video clips were shown, each repeated "
                                          "several times; single- and multi-unit spiking recorded in IT cortex."},
            "Subject": {"subject_id": subject_id, "species": "Macaca mulatta", "sex": "U",
                        "description": "Rhesus macaque."},
            "Ecephys": {"Device": {"name": "array", "description": "Extracellular recording array in IT cortex."},
                        "ElectrodeGroup": {"name": "IT", "description": "Electrodes in inferior temporal cortex.",
                                           "location": "inferior temporal cortex"}},
            "Units": {"resolution": 1.0 / 30000.0},
        }

    def session_start_fallback(self) -> tuple[datetime, str] | None:
        created = self.read().created
        return None if created is None else (created, "the MAT header's 'Created on'")

    def add_to_nwbfile(self, nwbfile, metadata: dict[str, Any]) -> None:

        add_session(nwbfile, self.read(), metadata)
