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
>>> import warnings
>>> from pynwb import NWBHDF5IO
>>> from nwb_it import example_metadata_path, run_convert, write_example_session
>>> from nwb_it.examples import example_clip_names, write_example_frames
>>> _ = write_example_session("s_fixshortvid1_coco.mat", n_units=3, n_clips=4, n_repeats=3)
>>> _ = write_example_frames("stimuli", example_clip_names(4), n_frames=3, size=16)
>>> with warnings.catch_warnings(record=True):          # the example leaves one clip unshown: it says so
...     nwb = run_convert("s_fixshortvid1_coco.mat", example_metadata_path(), out_dir="nwb", stimuli="stimuli")
>>> with NWBHDF5IO(str(nwb), "r") as io:
...     templates = read_stimulus_templates(io.read())
>>> templates["1_clip001"].files[:2]                     # relative to the NWB file: the folder travels with it
['../../stimuli/1_clip001_1.png', '../../stimuli/1_clip001_2.png']
"""
from __future__ import annotations

import os
import re
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


def add_stimulus_templates(nwb: NWBFile, templates: list[StimulusTemplate], trial_templates: list[str],
                           never_shown: set[str] = frozenset()) -> None:
    """Add one ``ImageSeries`` per template and the trials' ``stimulus_template`` column ("" where none); a
    template in ``never_shown`` (a clip of the set no trial presented) says so in its description."""
    if nwb.trials is None or len(trial_templates) != len(nwb.trials):
        raise NwbItError("stimulus templates need one entry per trial")
    for t in templates:
        shown = " Never shown in this session." if t.key in never_shown else ""
        nwb.add_stimulus_template(ImageSeries(
            name=t.key, description=f"Clip {t.key}: frames in the external file(s), relative to this file's "
                                    f"folder.{shown}",
            external_file=t.files, starting_frame=t.starting_frame, format="external", rate=float(t.rate),
            num_samples=int(t.n_frames)))
    nwb.trials.add_column(name=TEMPLATE_COLUMN, description="Name of the presentation's clip in /stimulus/templates "
                          "(an ImageSeries of the clip's frames; empty where the clip was not given).",
                          data=list(trial_templates))


def relative_files(files: list[Path], nwb_path: Path) -> list[str]:
    """``files`` relative to the folder of ``nwb_path`` (POSIX separators, as stored), as given: a symbolic
    link is kept, never replaced by its target (the author's private folder layout)."""
    return [Path(os.path.relpath(os.path.abspath(f), os.path.abspath(Path(nwb_path).parent))).as_posix()
            for f in files]


def contained_file(stored: str, nwb_path: Path, root: str | Path | None = None) -> Path:
    """The local file a template's ``external_file`` entry names, inside the file's folder (or ``root``).

    An entry is relative to the NWB file's folder. Absolute entries and entries that lead
    out of that folder (``..``, or a link whose target is elsewhere) are refused: a file
    from someone else must not make nwb_it read images from anywhere on this disk. With
    ``root`` (``--stimuli-root``), entries may lead anywhere inside ``root`` instead.
    """
    folder = Path(nwb_path).resolve().parent
    allowed = Path(root).resolve() if root is not None else folder
    hint = ("pass `stimuli_root=DIR` to allow stimulus files under DIR" if root is None
            else f"it is not under the stimuli root {allowed}")
    if Path(stored).is_absolute() or re.match(r"^[A-Za-z]:[\\/]", stored) or "://" in stored:
        raise NwbItError(f"a stimulus template names an absolute location ({stored}); only paths relative to the "
                         f"file's folder are read: {hint}", nwb_path)
    path = (folder / stored).resolve()
    if not path.is_relative_to(allowed):
        raise NwbItError(f"a stimulus template's file {stored} leads out of the file's folder; {hint}", nwb_path)
    return path


def read_stimulus_templates(nwb: NWBFile) -> dict[str, StimulusTemplate]:
    """Every ``ImageSeries`` with external files in ``/stimulus/templates``, by name ({} without any)."""
    out = {}
    for name, series in nwb.stimulus_template.items():
        if isinstance(series, ImageSeries) and series.external_file is not None:
            out[name] = StimulusTemplate(key=name, files=[str(f) for f in series.external_file[:]],
                                         starting_frame=[int(x) for x in series.starting_frame[:]],
                                         rate=float(series.rate), n_frames=int(series.num_samples or 0))
    return out


def stored_images(nwb: NWBFile) -> list[tuple[str, str, int | None]]:
    """Images stored in the file's ``/stimulus/templates`` (or an ``Images`` container in
    ``/stimulus/presentation``): (key, HDF5 dataset, frame index or None) of every
    image of an ``Images`` container (key: the image's name, in ``order_of_images`` where given) and every frame of
    an ``ImageSeries`` holding its data (key: the frame's index, as an ``IndexSeries`` over it names its
    presentations)."""
    out = []
    # templates, and /stimulus/presentation where some write their Images (the DiCarlo lab's package does)
    for series in [*nwb.stimulus_template.values(), *nwb.stimulus.values()]:
        kind = type(series).__name__
        if kind == "Images":
            order = getattr(series, "order_of_images", None)
            images = list(order.data) if order is not None else list(series.images.values())
            out += [(img.name, img.data.name, None) for img in images if hasattr(img.data, "name")]
        elif isinstance(series, ImageSeries) and series.external_file is None and getattr(series.data, "name", None):
            out += [(str(i), series.data.name, i) for i in range(series.data.shape[0])]
    return out
