"""The clips shown, in the file: one ``ImageSeries`` per clip in ``/stimulus/templates``, linked from the trials.

Each template points at the lab's own files (``external_file``: paths relative to the
NWB file's folder, as the NWB and DANDI best practices ask; ``starting_frame``: the
index of each file's first frame; ``rate``: frames per second), so the file stays small
and a DANDI dataset can ship the stimuli beside it. The trials table's
``stimulus_template`` column names each presentation's template; nwb_it reads the
templates back to find the clips of a file without the lab's folders
(``extract-activations --nwb F.nwb`` without a frames folder).

Examples
--------
>>> templates = read_stimulus_templates(nwbfile)          # doctest: +SKIP
>>> templates["1_dog"].files[:2]                          # doctest: +SKIP
['../../stimuli/1_dog_1.png', '../../stimuli/1_dog_2.png']
"""
from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

from pynwb import NWBFile
from pynwb.image import ImageSeries

from ..core.errors import NwbItError

TEMPLATE_COLUMN = "stimulus_template"


@dataclass(frozen=True)
class StimulusTemplate:
    """One clip as stored: its files (relative to the NWB file's folder), each file's first frame, its rate."""

    key: str
    files: list[str]
    starting_frame: list[int]
    rate: float
    n_frames: int


def add_stimulus_templates(nwb: NWBFile, templates: list[StimulusTemplate], trial_templates: list[str]) -> None:
    """Add one ``ImageSeries`` per template and the trials' ``stimulus_template`` column ("" where none)."""
    if nwb.trials is None or len(trial_templates) != len(nwb.trials):
        raise NwbItError("stimulus templates need one entry per trial")
    for t in templates:
        nwb.add_stimulus_template(ImageSeries(
            name=t.key, description=f"Clip {t.key}: frames in the external file(s), relative to this file's folder.",
            external_file=t.files, starting_frame=t.starting_frame, format="external", rate=float(t.rate),
            num_samples=int(t.n_frames)))
    nwb.trials.add_column(name=TEMPLATE_COLUMN, description="Name of the presentation's clip in /stimulus/templates "
                          "(an ImageSeries of the clip's frames; empty where the clip was not given).",
                          data=list(trial_templates))


def relative_files(files: list[Path], nwb_path: Path) -> list[str]:
    """``files`` relative to the folder of ``nwb_path`` (POSIX separators, as stored)."""
    return [Path(os.path.relpath(Path(f).resolve(), Path(nwb_path).resolve().parent)).as_posix() for f in files]


def read_stimulus_templates(nwb: NWBFile) -> dict[str, StimulusTemplate]:
    """Every ``ImageSeries`` with external files in ``/stimulus/templates``, by name ({} without any)."""
    out = {}
    for name, series in nwb.stimulus_template.items():
        if isinstance(series, ImageSeries) and series.external_file is not None:
            out[name] = StimulusTemplate(key=name, files=[str(f) for f in series.external_file[:]],
                                         starting_frame=[int(x) for x in series.starting_frame[:]],
                                         rate=float(series.rate), n_frames=int(series.num_samples or 0))
    return out
