"""``nwb-it summary DIR``: one table (CSV) and figures across the sessions of a folder.

One row per (session, activations, layer) compared, or one per session without a
comparison: units, responsive units (d' > cutoff), units with q < 0.05, and the
median encoding score with its 95 % interval and its margins over the baselines, the population
convention (median sign(r) r² / median ceiling) and how many units were scored or left out (ceiling).
"""
from __future__ import annotations

import csv
from pathlib import Path

import numpy as np

from ..core.errors import NwbItError
from ..io.atomic import TEMP_PATTERN, atomic_output, refuse_existing
from ..nwb.compare_tables import layer_summaries
from ..nwb.io import reading
from ..nwb.results import read_reliability_or_none
from ..viz.save import save_figures
from ..viz.summary import responsive_figure, scores_figure

COLUMNS = ("file", "session_id", "subject_id", "units", "responsive", "q_below_0.05", "activations", "family",
           "layer", "median_score", "ci_low", "ci_high", "above_clip_shuffled", "above_onset_only", "population_score",
           "units_scored", "units_below_ceiling")


def session_rows(path: Path) -> list[dict]:
    """The summary rows of one NWB file."""
    with reading(path) as nwb:
        rel = read_reliability_or_none(nwb)
        base = {"file": str(path), "session_id": nwb.session_id,
                "subject_id": nwb.subject.subject_id if nwb.subject else "",
                "units": len(nwb.units) if nwb.units is not None else 0,
                "responsive": int(rel.responsive.sum()) if rel else "",
                "q_below_0.05": int(np.nansum(rel.q_value < 0.05)) if rel else ""}
        curves = layer_summaries(nwb)
    rows = [{**base, "activations": c["activations"], "family": c["family"], "layer": layer,
             "median_score": s["median"], "ci_low": s["ci_low"], "ci_high": s["ci_high"],
             "above_clip_shuffled": s["above_clip_shuffled"], "above_onset_only": s["above_onset_only"],
             "population_score": s.get("population", ""), "units_scored": s.get("units_scored", ""),
             "units_below_ceiling": s.get("units_below_ceiling", "")}
            for c in curves for layer, s in c["summary"].items()]
    return rows or [base]


def run_summary(folder: str | Path, *, out_dir: str | Path, overwrite: bool = False, progress: bool = False,
                force: bool = False) -> list[Path]:
    """Write ``summary.csv`` and two figures for every NWB file under ``folder``.

    Examples
    --------
    >>> run_summary("dandiset", out_dir="summary")         # doctest: +SKIP
    """
    folder, out_dir = Path(folder), Path(out_dir)
    files = sorted(f for f in folder.rglob("*.nwb") if not TEMP_PATTERN.match(f.name))
    if not files:
        raise NwbItError("no .nwb file found", folder)
    outputs = [out_dir / "summary.csv", out_dir / "responsive_units.png", out_dir / "scores_by_layer.png"]
    for path in outputs:
        refuse_existing(path, overwrite, force)
    rows = [row for f in files for row in session_rows(f)]
    with atomic_output(outputs[0], overwrite, force) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=COLUMNS, restval="")
        writer.writeheader()
        writer.writerows(rows)

    save_figures({outputs[1]: lambda: responsive_figure(rows), outputs[2]: lambda: scores_figure(rows)},
                 "png", overwrite, force=force)
    return outputs
