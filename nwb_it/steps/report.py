"""The HTML report of a session: read the NWB file -> the report's data -> one self-contained page.

``read_report_data`` reads everything the page shows from the file (units, spikes around
every onset, the reliability and comparison tables, the clips' frames from the stimulus
templates or a frames folder); ``compute_report`` turns it into the page's numbers and
arrays (pure); ``draw_report`` draws its figures; ``write_report`` writes the page
(:mod:`nwb_it.viz.report_html`). ``run_report`` does the four for many files and writes
the dataset's index page. A report of a remote file is made from its derivative.
"""
from __future__ import annotations

import base64
import dataclasses
import io
import os
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.errors import NwbItError
from ..core.locations import location_stem
from ..core.output import OutputPolicy
from ..core.params import HeatmapParams, PresentationSpec, ReportParams
from ..core.progress import progress_bar
from ..io.atomic import atomic_output, refuse_existing
from ..models.frames import discover_clips, load_frames
from ..nwb.compare_tables import layer_summaries, read_encoding_rows
from ..nwb.io import reading
from ..nwb.presentations import read_presentations
from ..nwb.recording import read_spike_trains
from ..nwb.results import read_reliability_table_or_none
from ..nwb.stimuli import contained_file, read_stimulus_templates
from ..viz.heatmaps import histogram_figures, population_figure
from ..viz.layers import depth_figure, ranking_figure
from ..viz.report_html import figure_png, index_page, session_page
from ..viz.time import best_layer_figure, time_course_figure
from .heatmaps import heatmap_data
from .score import read_scores
from .stimuli import match_clips

REPORT_NAME = "report.html"
INDEX_NAME = "index.html"
FIGURE_SUFFIXES = (".png",)


@dataclass
class ReportData:
    """What a session's report is made of, read from its NWB file (module doc)."""

    path: str
    session: dict[str, str]
    unit_ids: np.ndarray
    unit_names: list[str]
    spikes: list[np.ndarray]                   # per unit: spike times (s), sorted
    onset: np.ndarray                          # (presentations,) clip onsets
    clip: np.ndarray                           # (presentations,) index into clip_names
    repeat: np.ndarray
    clip_names: list[str]
    reliability: object | None                 # ReliabilityResult
    encodings: list[dict] = field(default_factory=list)
    curves: list[dict] = field(default_factory=list)
    frames: dict[str, tuple[list, float]] = field(default_factory=dict)   # clip -> (frames, fps)
    heatmap: object | None = None              # HeatmapData of the population figure
    figure_files: list[Path] = field(default_factory=list)


def _clip_frames(nwb, nwb_path: str, names: list[str], stimuli: str | Path | None) -> dict[str, tuple[list, float]]:
    """Each shown clip's frames: from a frames folder when given, else the file's stimulus templates.

    A template whose files lie outside the NWB file's folder is not followed (the same rule as
    extraction's; give the folder as ``stimuli`` instead)."""
    out: dict[str, tuple[list, float]] = {}
    if stimuli is not None:
        clips = discover_clips(stimuli)
        for clip, name in zip(clips, match_clips([c.key for c in clips], names, unmatched_ok=True)):
            if name is not None:
                out[name] = (list(clip.frames), clip.fps or 30.0)
    if str(nwb_path).startswith(("http://", "https://", "DANDI:")):
        return out
    for key, t in read_stimulus_templates(nwb).items():
        if key in names and key not in out:
            try:
                files = [contained_file(f, Path(nwb_path)) for f in t.files]
            except NwbItError:
                continue
            out[key] = ([f for f in files if f.is_file()], t.rate)
    return out


def read_report_data(nwb_path: str | Path, params: ReportParams = ReportParams(), *,
                     presentations: PresentationSpec = PresentationSpec(), stimuli: str | Path | None = None,
                     figures_dir: str | Path | None = None) -> ReportData:
    """Read what the report of one NWB file shows (``figures_dir``: the verbs' figures of this session)."""
    with reading(nwb_path) as nwb:
        pres = read_presentations(nwb, presentations)
        # clips in the file's own order (its stimulus index), each named by its presentations
        order, first = np.unique(pres.clip, return_index=True)
        names, clip = pres.names[first], np.searchsorted(order, pres.clip)
        ids = np.asarray(nwb.units.id[:], dtype=np.int64)
        trains = read_spike_trains(nwb)
        subject = nwb.subject.subject_id if nwb.subject is not None else ""
        data = ReportData(path=str(nwb_path), session={
            "identifier": nwb.identifier, "session_id": nwb.session_id or "", "subject": subject or "",
            "start": str(nwb.session_start_time), "description": nwb.session_description or ""},
            unit_ids=ids, unit_names=trains.names, onset=pres.onset, clip=clip.ravel(),
            spikes=[np.sort(trains.unit(u)) for u in range(len(ids))],          # searched: sorted
            repeat=pres.repeat, clip_names=[str(n) for n in names], reliability=read_reliability_table_or_none(nwb),
            encodings=read_encoding_rows(nwb), curves=layer_summaries(nwb))
        data.frames = _clip_frames(nwb, str(nwb_path), data.clip_names, stimuli)
        if data.reliability is not None:                 # the population heatmap, from what is read already
            data.heatmap = heatmap_data(nwb, HeatmapParams(), pres, trains)
    # result tables name units by their row of the units table; the page names them by id (they differ in
    # files whose ids are not 0..n-1)
    if data.reliability is not None:
        data.reliability = dataclasses.replace(data.reliability, unit_ids=ids[data.reliability.unit_ids])
    for enc in data.encodings:
        enc["unit_id"] = ids[enc["unit_id"]]
    if figures_dir is not None and Path(figures_dir).is_dir():
        data.figure_files = sorted(p for p in Path(figures_dir).rglob("*") if p.suffix in FIGURE_SUFFIXES
                                   and p.is_file() and not p.name.startswith("."))
    return data


def _b64(values: np.ndarray) -> str:
    return base64.b64encode(np.ascontiguousarray(values).tobytes()).decode("ascii")


def aligned_spikes(spikes: np.ndarray, onset: np.ndarray, window: tuple[float, float]
                   ) -> tuple[np.ndarray, np.ndarray]:
    """Spike times relative to each onset inside ``window``: (pointer (presentations + 1,), times), vectorised.

    Examples
    --------
    >>> ptr, t = aligned_spikes(np.array([0.1, 1.05, 1.2, 3.0]), np.array([0.0, 1.0]), (-0.1, 0.5))
    >>> ptr.tolist(), np.round(t, 2).tolist()
    ([0, 1, 3], [0.1, 0.05, 0.2])
    """
    lo = np.searchsorted(spikes, onset + window[0], side="left")
    hi = np.searchsorted(spikes, onset + window[1], side="left")
    n = hi - lo
    ptr = np.concatenate([[0], np.cumsum(n)])
    index = np.arange(ptr[-1]) - np.repeat(ptr[:-1] - lo, n)
    return ptr, spikes[index] - np.repeat(onset, n)


def _rates(data: ReportData, window: tuple[float, float]) -> np.ndarray:
    """Each unit's mean rate in ``window`` after onset over every presentation (spikes counted, not listed)."""
    span = (window[1] - window[0]) * len(data.onset)
    return np.array([(np.searchsorted(s, data.onset + window[1]) - np.searchsorted(s, data.onset + window[0])).sum()
                     / span for s in data.spikes])


def _clip_view_units(data: ReportData, params: ReportParams) -> np.ndarray:
    """Rows of the units shown in the clip view: compared units, then responsive ones by d', then the rest."""
    rank = np.zeros(len(data.unit_ids))
    if data.reliability is not None:
        rel = data.reliability
        row = {u: i for i, u in enumerate(data.unit_ids)}
        d = np.nan_to_num(np.asarray(rel.dprime, dtype=float), nan=-np.inf)
        for u, dp, resp in zip(rel.unit_ids, d, rel.responsive):
            rank[row[int(u)]] = dp + (1e6 if resp else 0)
    compared = set().union(*(set(e["unit_id"].tolist()) for e in data.encodings)) if data.encodings else set()
    rank += np.array([2e6 if int(u) in compared else 0 for u in data.unit_ids])
    return np.sort(np.argsort(-rank, kind="stable")[:params.max_units])


def _best_layers(data: ReportData) -> list[dict]:
    out = []
    for enc in data.encodings:
        layers = list(dict.fromkeys(enc["layer"]))
        medians = {k: float(np.nanmedian(v)) if (v := enc["normalized"][(enc["layer"] == k) & enc["included"]]).size
                   else float("nan") for k in layers}
        scored = {k: v for k, v in medians.items() if np.isfinite(v)}
        best = max(scored, key=scored.get) if scored else layers[0]
        # named as its table (tiny_activations -> tiny): two models of one family stay apart
        label = str(enc["activations"]).removesuffix("_activations")
        out.append({"activations": enc["activations"], "family": str(enc["family"]), "label": label,
                    "best_layer": best, "best_score": medians[best], "layers": medians})
    return out


def _frame_images(frames: list, fps: float, params: ReportParams) -> list[dict]:
    pick = np.unique(np.linspace(0, len(frames) - 1, min(params.max_frames, len(frames))).round().astype(int))
    images = load_frames([frames[i] for i in pick], params.frame_px)
    out = []
    for i, img in zip(pick, images):
        buf = io.BytesIO()
        img.save(buf, format="JPEG", quality=75)
        out.append({"t": round(float(i) / fps, 4), "src": "data:image/jpeg;base64," +
                    base64.b64encode(buf.getvalue()).decode("ascii")})
    return out


def _predictions(data: ReportData, shown: np.ndarray, best: list[dict]) -> list[dict]:
    out = []
    clip_of = {n: i for i, n in enumerate(data.clip_names)}
    for enc, b in zip(data.encodings, best):
        if enc["predicted"] is None or enc["edges"] is None:
            continue
        rows = {int(u): i for i, (u, k) in enumerate(zip(enc["unit_id"], enc["layer"])) if k == b["best_layer"]}
        units = {str(int(u)): _b64(np.asarray(enc["predicted"][rows[int(u)]], dtype=np.float32))
                 for u in data.unit_ids[shown] if int(u) in rows}
        out.append({"model": f"{b['label']} {b['best_layer']}", "activations": enc["activations"],
                    "edges": [round(float(e), 6) for e in enc["edges"]],
                    "clips": [clip_of.get(c, -1) for c in enc["clips"]], "units": units})
    return out


def compute_report(data: ReportData, params: ReportParams = ReportParams()) -> dict:
    """The page's numbers, unit table and clip-view arrays (JSON-able; arrays as base64 of little-endian types)."""
    rel = data.reliability
    rates = _rates(data, (0.0, params.window[1]))
    row = {int(u): i for i, u in enumerate(data.unit_ids)}
    table = [{"id": int(u), "name": n, "rate": round(float(r), 3)} for u, n, r in
             zip(data.unit_ids, data.unit_names, rates)]
    numbers: dict[str, object] = {"units": len(data.unit_ids), "clips": len(data.clip_names),
                                  "presentations": len(data.onset)}
    if rel is not None:
        for u, d, p, q, resp in zip(rel.unit_ids, rel.dprime, rel.p_value, rel.q_value, rel.responsive):
            table[row[int(u)]].update(dprime=_num(d), p=_num(p), q=_num(q), responsive=bool(resp))
        finite = np.asarray(rel.dprime, dtype=float)
        finite = finite[np.isfinite(finite)]
        numbers.update(responsive=int(np.sum(rel.responsive)), q05=int(np.sum(np.asarray(rel.q_value) < 0.05)),
                       dprime_quartiles=[round(float(v), 2) for v in np.percentile(finite, [25, 50, 75])]
                       if finite.size else [])
    best = _best_layers(data)
    columns = []
    for enc, b in zip(data.encodings, best):
        name = f"{b['label']} {b['best_layer']}"
        columns.append(name)
        for u, k, v in zip(enc["unit_id"], enc["layer"], enc["normalized"]):
            if k == b["best_layer"] and int(u) in row:
                table[row[int(u)]][name] = _num(v)
    numbers["models"] = best
    numbers["time"] = _time_rows(data.curves, best)
    shown = _clip_view_units(data, params)
    order = np.lexsort((data.repeat, data.clip))              # clip-major, as the raster draws them
    spikes = {}
    for i in shown:
        ptr, t = aligned_spikes(data.spikes[i], data.onset[order], params.window)
        spikes[str(int(data.unit_ids[i]))] = {"ptr": _b64(ptr.astype("<i4")),
                                              # floor, not round: a bin edge in whole ms keeps every
                                              # spike in its own bin (49.6 ms stays before a 50 ms edge)
                                              "t": _b64(np.floor(t * 1e3 + 1e-9).astype("<i2"))}
    clips = []
    for k, name in enumerate(data.clip_names):
        frames, fps = data.frames.get(name, ([], 30.0))
        clips.append({"name": name, "n": int(np.sum(data.clip == k)),
                      "frames": _frame_images(frames, fps, params) if frames else []})
    clip_view = {"window": list(params.window), "bin": params.bin_size,
                 "pres_clip": _b64(data.clip[order].astype("<i4")), "clips": clips,
                 "units": [{"id": int(data.unit_ids[i]), "name": data.unit_names[i]} for i in shown],
                 "spikes": spikes, "predictions": _predictions(data, shown, best),
                 "frames_from": "embedded" if any(c["frames"] for c in clips) else "none"}
    return {"session": data.session, "path": data.path, "numbers": numbers, "units": table,
            "score_columns": columns, "clip_view": clip_view}


def _time_rows(curves: list[dict], best: list[dict]) -> list[dict]:
    """Per model, its best layer's median r²/ceiling bin by bin (from the time summaries)."""
    out = []
    for curve, b in zip(curves, best):
        t = (curve.get("time") or {}).get(b["best_layer"])
        if t:
            out.append({"model": f"{b['label']} {b['best_layer']}", "bin_start": t["bin_start"],
                        "median": [_num(v) for v in t.get("median", [])],
                        "ci_low": [_num(v) for v in t.get("ci_low", [])],
                        "ci_high": [_num(v) for v in t.get("ci_high", [])]})
    return out


def _num(value) -> float | None:
    value = float(value)
    return round(value, 4) if np.isfinite(value) else None


def draw_report(data: ReportData, params: ReportParams = ReportParams()) -> list[dict]:
    """The report's figures: drawn from the file, then those the verbs left in ``figures_dir`` (embedded up to the
    budget, linked after it)."""
    title = data.session.get("session_id") or data.session["identifier"]
    makers = []
    if data.reliability is not None:
        r2, dp = histogram_figures(data.reliability, title)
        makers += [("Split-half r² (true vs null)", r2), ("d′ distribution", dp)]
    if data.heatmap is not None:
        makers.append(("Population heatmap", population_figure(data.heatmap.aligned, "zscore", title,
                                                               data.heatmap.durations)))
    if data.curves:
        makers += [("Score through time", time_course_figure(data.curves, title)),
                   ("Best layer per bin", best_layer_figure(data.curves, title)),
                   ("Score against depth", depth_figure(data.curves, title)),
                   ("Models × layers", ranking_figure(data.curves, title))]
    out = [{"title": t, "src": "data:image/png;base64," + base64.b64encode(figure_png(f)).decode("ascii")}
           for t, f in makers]
    budget = params.figure_budget_mb * 2 ** 20
    for path in data.figure_files:
        size = path.stat().st_size
        if size <= budget:
            budget -= size
            out.append({"title": path.stem, "src": "data:image/png;base64," +
                        base64.b64encode(path.read_bytes()).decode("ascii"), "file": path.as_posix()})
        else:
            out.append({"title": path.stem, "link": path.as_posix()})
    return out


def write_report(payload: dict, figures: list[dict], path: str | Path, *,
                 output: OutputPolicy = OutputPolicy()) -> Path:
    """The session page at ``path`` (figure links made relative to it)."""
    path = Path(path)
    for fig in figures:
        for key in ("link", "file"):
            if key in fig:
                fig[key] = Path(_relative(Path(fig[key]), path.parent)).as_posix()
    with atomic_output(path, output.overwrite, output.force) as tmp:
        tmp.write_text(session_page(payload, figures), encoding="utf-8")
    return path


def _relative(target: Path, start: Path) -> str:
    return os.path.relpath(target.absolute(), start.absolute())


def report_session(path: str | Path, page: str | Path, params: ReportParams = ReportParams(), *,
                   presentations: PresentationSpec = PresentationSpec(), stimuli: str | Path | None = None,
                   output: OutputPolicy = OutputPolicy()) -> dict:
    """Write one session's page (figures the verbs drew beside ``page`` are shown); its row of the index."""
    page = Path(page)
    data = read_report_data(path, params, presentations=presentations, stimuli=stimuli, figures_dir=page.parent)
    payload = compute_report(data, params)
    write_report(payload, draw_report(data, params), page, output=output)
    return {"session": page.parent.name, "page": f"{page.parent.name}/{page.name}",
            "identifier": data.session["identifier"], **_index_numbers(payload["numbers"])}


def _png_figures(folder: str | Path | None) -> list[dict]:
    if folder is None or not Path(folder).is_dir():
        return []
    return [{"title": p.stem, "src": "data:image/png;base64," + base64.b64encode(p.read_bytes()).decode()}
            for p in sorted(Path(folder).glob("*.png"))]


def write_index(rows: list[dict], path: str | Path, *, summary_dir: str | Path | None = None,
                scores_dir: str | Path | None = None, output: OutputPolicy = OutputPolicy()) -> Path:
    """The dataset's index page: one row per session (:func:`report_session`'s rows), the summary's figures, and
    the benchmark scores of ``scores_dir`` (``nwb-it score``'s folder: its table and figure)."""
    path = Path(path)
    scores = read_scores(scores_dir) if scores_dir is not None else None
    with atomic_output(path, output.overwrite, output.force) as tmp:
        tmp.write_text(index_page(rows, _png_figures(summary_dir), scores, _png_figures(scores_dir)),
                       encoding="utf-8")
    return path


def run_report(paths: list[str | Path], params: ReportParams = ReportParams(), *, out_dir: str | Path,
               presentations: PresentationSpec = PresentationSpec(), stimuli: str | Path | None = None,
               summary_dir: str | Path | None = None, scores_dir: str | Path | None = None,
               output: OutputPolicy = OutputPolicy(), names: list[str] | None = None) -> list[Path]:
    """``OUT/<session>/report.html`` for every file and ``OUT/index.html`` for them all.

    ``<session>`` is each file's stem, or ``names`` (the inputs a user gave, when ``paths``
    are their derivatives: the page sits where that input's figures are).

    Figures the verbs drew into ``OUT/<session>/`` are shown in that session's page; the
    figures of ``summary_dir`` (``nwb-it summary``) in the index, and the models' scores on the lab's benchmark
    (``scores_dir``: ``nwb-it score``'s folder) below them.

    Examples
    --------
    >>> from nwb_it import ReliabilityParams, example_metadata_path, run_convert, run_reliability
    >>> from nwb_it import write_example_session
    >>> _ = write_example_session("r_fixshortvid1_coco.mat", n_units=4, n_clips=6, n_repeats=3)
    >>> nwb = run_convert("r_fixshortvid1_coco.mat", example_metadata_path(), out_dir="nwb")
    >>> _ = run_reliability(nwb, ReliabilityParams(n_perm=20))
    >>> pages = run_report([nwb], out_dir="report")
    >>> [p.relative_to("report").as_posix() for p in pages]
    ['sub-coco_ses-r-fixshortvid1_ecephys/report.html', 'index.html']
    """
    out_dir = Path(out_dir)
    if not paths:
        raise NwbItError("no NWB file to report on")
    names = names or [location_stem(p) for p in paths]
    pages = [out_dir / name / REPORT_NAME for name in names]
    for page in [*pages, out_dir / INDEX_NAME]:
        refuse_existing(page, output.overwrite, output.force)
    if scores_dir is not None:
        read_scores(scores_dir)                     # a wrong folder fails before any page is written
    rows = [report_session(path, page, params, presentations=presentations, stimuli=stimuli, output=output)
            for path, page in progress_bar(list(zip(paths, pages)), desc="reports")]
    return [*pages, write_index(rows, out_dir / INDEX_NAME, summary_dir=summary_dir, scores_dir=scores_dir,
                                output=output)]


def _index_numbers(numbers: dict) -> dict:
    best = "; ".join(f"{m['label']} {m['best_layer']} {m['best_score']:.2f}" for m in numbers.get("models", []))
    q = numbers.get("dprime_quartiles") or []
    return {"units": numbers["units"], "responsive": numbers.get("responsive", ""), "q05": numbers.get("q05", ""),
            "dprime_median": q[1] if q else "", "best": best}
