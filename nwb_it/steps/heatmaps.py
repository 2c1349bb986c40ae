"""``nwb-it heatmaps``: firing-rate heatmaps and the reliability histograms from an NWB file."""
from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

from ..core.output import OutputPolicy
from ..core.params import HeatmapParams, PresentationSpec
from ..core.recording import AlignedCounts
from ..core.results import ReliabilityResult
from ..nwb.activations import activation_tables, read_activations
from ..nwb.io import reading
from ..nwb.recording import file_clips, read_presentations, read_spike_trains
from ..nwb.results import read_reliability_table_or_none
from ..process.binning import bin_aligned
from ..process.selection import select_units
from ..viz.heatmaps import dprime_figure, population_figure, r2_figure, unit_figure
from ..viz.save import save_figure_folder
from .jobs import elsewhere, session_folder
from .reliability import FIGURES as RELIABILITY_FIGURES
from .targets import results_source


def safe_name(text: str) -> str:
    """``text`` usable in a file name."""
    return re.sub(r"[^A-Za-z0-9_.-]", "_", text)


def _session_title(nwb) -> str:
    return f"session {nwb.session_id}, subject {nwb.subject.subject_id if nwb.subject else '?'}"


def _clip_durations(nwb) -> dict[int, float]:
    """Each clip's length in seconds (its frames / fps) from the file's first activations table; {} without one."""
    names = activation_tables(nwb)
    if not names:
        return {}
    acts = read_activations(nwb, names[0], with_layers=False)      # the windows are enough
    pad, fps = int(acts.provenance.get("pad", 0)), acts.fps
    return {int(acts.stimulus_index[c]): (int(acts.last_frame[acts.clip_of_window == c].max()) - pad + 1) / fps
            for c in range(len(acts.clip_keys))}


@dataclass(frozen=True)
class HeatmapData:
    """What the heatmaps are drawn from: binned responses, clip lengths, the reliability result (if stored)."""

    aligned: AlignedCounts
    durations: dict[int, float]
    reliability: ReliabilityResult | None
    every_clip: dict[int, str]
    title: str


def heatmap_data(nwb, params: HeatmapParams, pres, trains) -> HeatmapData:
    """:class:`HeatmapData` of an open file whose presentations and spike trains are read already (the report
    reads them for itself too: read once)."""
    result = read_reliability_table_or_none(nwb)
    aligned = bin_aligned(trains, pres, params.window, params.bin_size, select_units(result, params.units))
    durations = _clip_durations(nwb)
    if params.clip_duration:
        durations = {int(c): params.clip_duration for c in aligned.clip_index}
    return HeatmapData(aligned, durations, result, file_clips(nwb, pres), _session_title(nwb))


def read_heatmap_data(nwb_path: str | Path, params: HeatmapParams = HeatmapParams(), *,
                      presentations: PresentationSpec = PresentationSpec()) -> HeatmapData:
    """The selected units' binned responses, every clip of the file, clip lengths and the reliability table."""
    with reading(nwb_path) as nwb:
        return heatmap_data(nwb, params, read_presentations(nwb, presentations), read_spike_trains(nwb))


def draw_heatmaps(data: HeatmapData, out_dir: str | Path, params: HeatmapParams = HeatmapParams(), *,
                  output: OutputPolicy = OutputPolicy()) -> list[Path]:
    """The population heatmap, one heatmap per unit (``units/``) and, with a reliability result, its histograms."""
    out_dir, fmt, how, aligned = Path(out_dir), params.fmt, params.normalize, data.aligned
    makers = {out_dir / f"population.{fmt}": lambda: population_figure(aligned, how, data.title, data.durations)}
    for row in range(len(aligned.unit_ids)):
        name = f"unit{aligned.unit_ids[row]:04d}_{safe_name(aligned.unit_names[row])}.{fmt}"
        makers[out_dir / "units" / name] = (
            lambda row=row: unit_figure(aligned, row, how, data.title, data.durations, data.every_clip))
    if data.reliability is not None:
        for name, draw in zip(RELIABILITY_FIGURES, (r2_figure, dprime_figure)):
            makers[out_dir / f"{name}.{fmt}"] = lambda draw=draw: draw(data.reliability, data.title)
    return save_figure_folder(out_dir, "heatmaps", makers, fmt, output)


def run_heatmaps(nwb_path: str | Path, params: HeatmapParams = HeatmapParams(), *, out_dir: str | Path,
                 presentations: PresentationSpec = PresentationSpec(), output: OutputPolicy = OutputPolicy()
                 ) -> list[Path]:
    """Write the population heatmap, one heatmap per unit and the reliability histograms into ``out_dir``.

    With ``overwrite`` the previous run's figures are replaced as a set: a unit's figure from
    an earlier run that this run does not draw (no longer responsive) is removed.

    Examples
    --------
    >>> from nwb_it import example_metadata_path, run_convert, write_example_session
    >>> _ = write_example_session("x_fixshortvid1_coco.mat", n_units=6, n_clips=12, n_repeats=4)
    >>> nwb = run_convert("x_fixshortvid1_coco.mat", example_metadata_path(), out_dir="nwb")
    >>> paths = run_heatmaps(nwb, HeatmapParams(units="all"), out_dir="figures")
    >>> sorted(p.name for p in paths)[:2]
    ['population.png', 'unit0000_ch001_u1.png']
    """
    data = read_heatmap_data(nwb_path, params, presentations=presentations)
    return draw_heatmaps(data, out_dir, params, output=output)


def heatmaps_job(nwb: Path, out_dir: Path, params: HeatmapParams = HeatmapParams(),
                 presentations: PresentationSpec = PresentationSpec(), output: OutputPolicy = OutputPolicy()
                 ) -> dict:
    """:func:`~nwb_it.steps.heatmaps.run_heatmaps` on one file (its results read from its derivative with
    ``output.derivative_dir``): how many figures, where."""
    folder = session_folder(out_dir, nwb, "heatmaps")
    source = results_source(nwb, output, presentations=presentations)
    paths = run_heatmaps(source, params, out_dir=folder, presentations=presentations, output=output)
    return {"nwb": str(nwb), "figures": len(paths), "folder": str(folder), "read_from": elsewhere(nwb, source)}
