"""``nwb-it summary DIR``: one table (CSV) and figures across the sessions of a folder.

One row per (session, activations, layer) compared, or one per session without a
comparison: units, responsive units (d' > cutoff), units with q < 0.05, and the
median encoding score with its 95 % interval and its margins over the baselines, Brain-Score's
explained-variance convention (median (r / ceiling)²) and how many units were scored or left out (ceiling).
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..core.errors import NwbItError
from ..core.output import OutputPolicy
from ..io.atomic import TEMP_PATTERN, atomic_output, refuse_existing
from ..nwb.compare_tables import layer_summaries
from ..nwb.derivative import read_source_identity
from ..nwb.io import reading
from ..nwb.results import read_reliability_table_or_none
from ..viz.save import save_figures
from ..viz.summary import responsive_figure, scores_figure

COLUMNS = ("file", "session_id", "subject_id", "units", "responsive", "q_below_0.05", "activations", "family",
           "layer", "median_score", "ci_low", "ci_high", "above_clip_shuffled", "above_onset_only",
           "brainscore_explained_variance",
           "units_scored", "units_below_ceiling")


class SummaryIncomplete(NwbItError):
    """Some files could not be read; the summary of the others was written (``outputs``)."""

    def __init__(self, problem: str, outputs: list[Path]):
        self.outputs = outputs
        super().__init__(problem)


def session_rows(path: Path) -> tuple[list[dict], str, str | None]:
    """The summary rows of one NWB file, its NWB identifier and that of the source it derives from (or None)."""
    with reading(path) as nwb:
        source = read_source_identity(nwb)
        identity = str(nwb.identifier), (str(source["identifier"]) if source else None)
        rel = read_reliability_table_or_none(nwb)
        base = {"file": str(path), "session_id": nwb.session_id,
                "subject_id": nwb.subject.subject_id if nwb.subject else "",
                "units": len(nwb.units) if nwb.units is not None else 0,
                "responsive": int(rel.responsive.sum()) if rel else "",
                "q_below_0.05": int(np.nansum(rel.q_value < 0.05)) if rel else ""}
        curves = layer_summaries(nwb)
    rows = [{**base, "activations": c["activations"], "family": c["family"], "layer": layer,
             "median_score": s["median"], "ci_low": s["ci_low"], "ci_high": s["ci_high"],
             "above_clip_shuffled": s["above_clip_shuffled"], "above_onset_only": s["above_onset_only"],
             "brainscore_explained_variance": s.get("brainscore_explained_variance", ""),
             "units_scored": s.get("units_scored", ""),
             "units_below_ceiling": s.get("units_below_ceiling", "")}
            for c in curves for layer, s in c["summary"].items()]
    return rows or [base], *identity


def summary_files(folder: str | Path | list[str | Path]) -> list[Path]:
    """The NWB files a summary reads: those given, or every ``.nwb`` under ``folder`` (temporary files left out)."""
    given = isinstance(folder, (list, tuple))
    files = [Path(f) for f in folder] if given else \
        sorted(f for f in Path(folder).rglob("*.nwb") if not TEMP_PATTERN.match(f.name))
    if not files:
        raise NwbItError("no .nwb file found" if not given else "no NWB file given", None if given else folder)
    return files


def read_summary_rows(files: list[Path]) -> tuple[list[dict], list[str]]:
    """Every file's rows (each file read once; a source whose derivative is here too counts once, by its
    derivative, which holds the results) and the files that could not be read, each with its problem."""
    read, bad = [], []
    for f in files:
        try:
            read.append(session_rows(f))
        except NwbItError as exc:
            bad.append(f"{f.name} ({exc.problem})")
    derived = {source for _, _, source in read if source}
    return [row for file_rows, identifier, _ in read if identifier not in derived for row in file_rows], bad


def write_summary(rows: list[dict], path: str | Path, *, output: OutputPolicy = OutputPolicy()) -> Path:
    """``summary.csv``: :data:`COLUMNS`, one row per (session, activations, layer)."""
    with atomic_output(Path(path), output.overwrite, output.force) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, restval="")
        writer.writeheader()
        writer.writerows(rows)
    return Path(path)


def draw_summary(rows: list[dict], out_dir: str | Path, *, output: OutputPolicy = OutputPolicy()
                 ) -> list[Path]:
    """``responsive_units.png`` and ``scores_by_layer.png``."""
    out_dir = Path(out_dir)
    outputs = [out_dir / "responsive_units.png", out_dir / "scores_by_layer.png"]
    save_figures({outputs[0]: lambda: responsive_figure(rows), outputs[1]: lambda: scores_figure(rows)},
                 "png", output)
    return outputs


def run_summary(folder: str | Path | list[str | Path], *, out_dir: str | Path,
                output: OutputPolicy = OutputPolicy()) -> list[Path]:
    """Write ``summary.csv`` and two figures for every NWB file under ``folder`` (or in a list of files).

    A file that cannot be read is left out and named: the summary of the others is written,
    then :class:`SummaryIncomplete` lists the bad ones (the command line exits 2). A source
    and its derivative (``desc-nwbit``) in the same folder are one session: its derivative's
    row, which holds the results.

    Examples
    --------
    >>> from nwb_it import example_metadata_path, run_convert, write_example_session
    >>> _ = write_example_session("x_fixshortvid1_coco.mat", n_units=6, n_clips=12, n_repeats=4)
    >>> nwb = run_convert("x_fixshortvid1_coco.mat", example_metadata_path(), out_dir="nwb")
    >>> [p.name for p in run_summary("nwb", out_dir="summary")]
    ['summary.csv', 'responsive_units.png', 'scores_by_layer.png']
    """
    out_dir = Path(out_dir)
    files = summary_files(folder)
    outputs = [out_dir / "summary.csv", out_dir / "responsive_units.png", out_dir / "scores_by_layer.png"]
    for path in outputs:
        refuse_existing(path, output.overwrite, output.force)
    rows, bad = read_summary_rows(files)
    write_summary(rows, outputs[0], output=output)
    draw_summary(rows, out_dir, output=output)
    if bad:
        raise SummaryIncomplete(f"{len(bad)} of {len(files)} files could not be read and are not in the summary: "
                                f"{'; '.join(bad[:5])}{' ...' if len(bad) > 5 else ''}", outputs)
    return outputs
