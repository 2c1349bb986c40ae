"""``nwb-it score``: a model's activations scored on a lab's benchmark with Brain-Score's metric.

read (:func:`read_benchmark`, :func:`read_model_activations`, :func:`extract_model_activations`)
-> compute (:func:`compute_scores`, pure) -> write (:func:`write_scores`: ``scores.csv`` and
``scores_by_time.csv``) -> draw (:func:`draw_scores`: ``score_over_time.png``). The benchmark is an
``export-brainscore`` folder or NWB files (exported in memory by the same recipe).
"""
from __future__ import annotations

import csv
import warnings
from dataclasses import replace
from pathlib import Path

import numpy as np
import xarray as xr

from ..core.benchmark import BenchmarkData, ModelScore
from ..core.benchmark_params import BrainScoreExportParams, ScoreParams
from ..core.errors import NwbItError
from ..core.locations import redact_location
from ..core.output import OutputPolicy
from ..core.params import DEFAULT_ACTIVATIONS, ExtractionParams, PresentationSpec
from ..core.progress import progress_bar
from ..core.results import Activations
from ..io.atomic import atomic_output, refuse_existing
from ..models.frames import discover_clips
from ..models.windows import extract
from ..nwb.activations import read_activations
from ..nwb.io import reading
from ..nwb.remote import is_remote
from ..process.brainscore import activations_per_bin, cross_regressed_correlation
from ..process.stats import group_means
from ..viz.benchmark import score_time_figure
from ..viz.save import save_figure_folder
from .compare import check_finite, chosen_layers
from .export import build_assembly

OUTPUTS = ("scores.csv", "scores_by_time.csv")
FIGURE = "score_over_time.png"
MIN_STIMULI = 10          # ten splits of 10 % test stimuli need ten stimuli at least


def benchmark_from_assembly(assembly, source: str) -> BenchmarkData:
    """The mean responses of an assembly (presentation x neuroid x time_bin) and its ceiling; stimuli a neuroid was
    never shown are left out (with a warning)."""
    need = ("stimulus_id", "neuroid_id", "time_bin_start", "time_bin_end")
    missing = [c for c in need if c not in assembly.coords]
    if set(assembly.dims) != {"presentation", "neuroid", "time_bin"} or missing:
        raise NwbItError(f"not an nwb_it/Brain-Score assembly (dims {tuple(assembly.dims)}, missing coords "
                         f"{', '.join(missing) or 'none'}): export it with nwb-it export-brainscore", source)
    assembly = assembly.transpose("presentation", "neuroid", "time_bin")
    names, stimulus = np.unique(assembly["stimulus_id"].values.astype(str), return_inverse=True)
    responses = group_means(np.asarray(assembly.values, dtype=np.float64), stimulus, names.size)
    complete = np.isfinite(responses).all(axis=(1, 2))
    if not complete.all():
        warnings.warn(f"{source}: {int((~complete).sum())} of {names.size} stimuli were not shown while every "
                      "neuroid was recorded; they are left out of the score", stacklevel=3)
    if complete.sum() < MIN_STIMULI:
        raise NwbItError(f"{int(complete.sum())} stimuli with responses of every neuroid; the metric's 10 splits "
                         f"need {MIN_STIMULI} at least", source)
    starts = assembly["time_bin_start"].values.astype(float)
    ends = assembly["time_bin_end"].values.astype(float)
    if not (np.isfinite(starts).all() and np.isfinite(ends).all() and (ends > starts).all()
            and np.array_equal(starts[1:], ends[:-1])):
        raise NwbItError("its time bins are not consecutive bins of positive width (time_bin_start, time_bin_end: "
                         f"{starts.tolist()[:3]}..., {ends.tolist()[:3]}...)", source)
    ids = assembly["neuroid_id"].values.astype(str)
    if np.unique(ids).size != ids.size:
        raise NwbItError("two neuroids share a neuroid_id: the assembly is not one benchmark", source)
    reliability = (assembly["reliability"].values.astype(float) if "reliability" in assembly.coords
                   else np.full(assembly.sizes["neuroid"], np.nan))
    ceiling = float(assembly.attrs.get("ceiling", np.nan))
    ceiling_error = float(assembly.attrs.get("ceiling_error", np.nan))
    if np.isfinite(ceiling) and not (0 < ceiling <= 1 and (np.isnan(ceiling_error) or ceiling_error >= 0)):
        raise NwbItError(f"its ceiling {ceiling:g} (error {ceiling_error:g}) is not a reliability in (0, 1]: ceiled "
                         "scores would be meaningless; export the benchmark again", source)
    if not np.isfinite(ceiling):
        warnings.warn(f"{source}: the assembly carries no ceiling (no neuroid has a split-half reliability: fewer "
                      "than 11 clips with two repeats, or an export of an older nwb_it): ceiled scores are NaN",
                      stacklevel=3)
    return BenchmarkData(responses=responses[complete], stimulus_ids=[str(n) for n in names[complete]],
                         neuroid_ids=ids.tolist(), edges_ms=np.append(starts, ends[-1]),
                         reliability=reliability, ceiling=ceiling, ceiling_error=ceiling_error, source=source)


def read_benchmark(sources: list[str | Path], params: BrainScoreExportParams = BrainScoreExportParams(), *,
                   presentations: PresentationSpec = PresentationSpec()) -> BenchmarkData:
    """An exported benchmark folder (its ``assembly.nc``), or NWB files exported in memory with ``params``."""
    if len(sources) == 1 and not is_remote(sources[0]) and Path(sources[0]).is_dir():
        path = Path(sources[0]) / "assembly.nc"
        if not path.is_file():
            raise NwbItError("no assembly.nc in this folder: give an export-brainscore folder or NWB files",
                             sources[0])
        try:
            assembly = xr.load_dataarray(path, engine="h5netcdf")
        except (OSError, ValueError) as exc:
            raise NwbItError(f"cannot read the assembly ({exc})", path) from None
        return benchmark_from_assembly(assembly, str(path))
    assembly, _ = build_assembly(list(sources), params, presentations=presentations)
    return benchmark_from_assembly(assembly, ", ".join(redact_location(s) for s in sources))


def read_model_activations(nwb_path: str | Path, table: str = DEFAULT_ACTIVATIONS) -> Activations:
    """The activations table ``table`` of an NWB file (``extract-activations`` wrote it)."""
    with reading(nwb_path) as nwb:
        return read_activations(nwb, table)


def extract_model_activations(clips: str | Path, model: str | Path, settings: ExtractionParams = ExtractionParams(),
) -> Activations:
    """Run ``model`` on every clip under ``clips`` (frame folders or videos); clip keys name the stimuli."""
    return extract(discover_clips(clips, settings.vfr), replace(settings, model=str(model), layers="all"))


def _stimulus_rows(bench: BenchmarkData, acts: Activations, label: str) -> tuple[np.ndarray, np.ndarray]:
    """(benchmark rows, clip rows) of the stimuli both have, matched by name (the trials' clip names for
    activations read from an NWB file, the clip keys otherwise)."""
    names = acts.stimulus_names or acts.clip_keys
    clip_of = {str(n): i for i, n in enumerate(names)}
    rows = [(b, clip_of[s]) for b, s in enumerate(bench.stimulus_ids) if s in clip_of]
    if len(rows) < MIN_STIMULI:
        raise NwbItError(f"{len(rows)} of the benchmark's {bench.n_stimuli} stimuli have activations in {label} "
                         f"(e.g. benchmark '{bench.stimulus_ids[0]}', model '{names[0]}'): the metric needs "
                         f"{MIN_STIMULI}; extract the activations of the benchmark's clips")
    if len(rows) < bench.n_stimuli:
        warnings.warn(f"{label}: {bench.n_stimuli - len(rows)} of the benchmark's {bench.n_stimuli} stimuli have no "
                      "activations; they are left out of its score", stacklevel=3)
    b, c = np.array(rows).T
    return b, c


def compute_scores(bench: BenchmarkData, models: dict[str, Activations], params: ScoreParams = ScoreParams()
                   ) -> list[ModelScore]:
    """Every (model, layer)'s ``spantime_pls`` score on ``bench`` (pure)."""
    if not models:
        raise NwbItError("no model to score: give activations tables or clips and a model folder")
    edges_s = bench.edges_ms / 1000.0
    jobs = []
    for label, acts in models.items():
        layers = chosen_layers(params.layer, list(acts.layers), label)
        check_finite(acts, layers, label)
        rows = _stimulus_rows(bench, acts, label)
        jobs += [(label, layer, rows, acts) for layer in layers]
    out, digest = [], bench.digest
    for label, layer, (bench_rows, clip_rows), acts in progress_bar(jobs, desc="score", unit="layer"):
        source = activations_per_bin(acts, layer, edges_s)[clip_rows]
        score = cross_regressed_correlation(source, bench.responses[bench_rows], n_splits=params.splits,
                                            n_components=params.components)
        out.append(ModelScore(model=label, layer=layer, per_bin=score.per_bin, per_bin_error=score.per_bin_error,
                              raw=score.raw, raw_error=score.raw_error, ceiling=bench.ceiling,
                              ceiling_error=bench.ceiling_error, n_components=score.n_components,
                              n_stimuli=int(bench_rows.size), n_neuroids=len(bench.neuroid_ids),
                              edges_ms=bench.edges_ms, benchmark=bench.source, benchmark_digest=digest,
                              model_config=str(acts.provenance.get("config_sha256_16", "")),
                              unconverged=score.unconverged))
        if score.unconverged:
            warnings.warn(f"{label} {layer}: the PLS fit reached scikit-learn's iteration limit in "
                          f"{score.unconverged} of {params.splits} splits (features with little relation to the "
                          "responses); scored all the same, as Brain-Score scores it", stacklevel=2)
    return out


def write_scores(scores: list[ModelScore], out_dir: str | Path, *, output: OutputPolicy = OutputPolicy()
                 ) -> list[Path]:
    """``scores.csv`` (one row per model and layer) and ``scores_by_time.csv`` (one row per bin too)."""
    out_dir = Path(out_dir)
    paths = [out_dir / name for name in OUTPUTS]
    for path in paths:
        refuse_existing(path, output.overwrite, output.force)
    out_dir.mkdir(parents=True, exist_ok=True)
    rows = [s.row() for s in scores]
    with atomic_output(paths[0], output.overwrite, output.force) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.DictWriter(fh, fieldnames=list(rows[0]))
        writer.writeheader()
        writer.writerows(rows)
    with atomic_output(paths[1], output.overwrite, output.force) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["model", "layer", "bin_start_ms", "bin_end_ms", "raw", "raw_error"])
        for s in scores:
            for b in range(s.per_bin.size):
                writer.writerow([s.model, s.layer, s.edges_ms[b], s.edges_ms[b + 1], s.per_bin[b], s.per_bin_error[b]])
    return paths


def draw_scores(scores: list[ModelScore], out_dir: str | Path, *, title: str = "",
                output: OutputPolicy = OutputPolicy()) -> list[Path]:
    """``score_over_time.png``: each model's best layer bin by bin, with the ceiling band."""
    return save_figure_folder(out_dir, "score", {Path(out_dir) / FIGURE: lambda: score_time_figure(scores, title)},
                              output=output)


def read_scores(scores_dir: str | Path) -> list[dict]:
    """The rows of ``nwb-it score``'s ``scores.csv`` in ``scores_dir`` (an error naming the folder when absent)."""
    path = Path(scores_dir) / "scores.csv"
    if not path.is_file():
        raise NwbItError("no scores.csv here: give the folder nwb-it score wrote (its -o)", scores_dir)
    with open(path, newline="", encoding="utf-8") as fh:
        return list(csv.DictReader(fh))


def summary_lines(scores: list[ModelScore]) -> list[str]:
    """What the command prints: raw, ceiling, ceiled and bounded with their errors, one line per (model, layer)."""
    return [f"{s.model} {s.layer}: raw {s.raw:.3f} ± {s.raw_error:.3f}  ceiling {s.ceiling:.3f} ± "
            f"{s.ceiling_error:.3f}  ceiled {s.ceiled:.3f} ± {s.ceiled_error:.3f}  bounded {s.bounded:.3f}  "
            f"({s.n_stimuli} stimuli, {s.n_neuroids} neuroids, {s.per_bin.size} bins)" for s in scores]


def run_score(benchmark: list[str | Path], models: dict[str, Activations | tuple[str | Path, str]],
              params: ScoreParams = ScoreParams(), *, out_dir: str | Path,
              export: BrainScoreExportParams = BrainScoreExportParams(),
              presentations: PresentationSpec = PresentationSpec(), output: OutputPolicy = OutputPolicy()
              ) -> list[ModelScore]:
    """Score each model on the benchmark; write the tables and the figure into ``out_dir``.

    ``models`` maps a label to its :class:`Activations` or to ``(nwb_path, table)``.

    Examples
    --------
    >>> from nwb_it import example_metadata_path, run_convert, write_example_session
    >>> from nwb_it.core.benchmark_params import BrainScoreExportParams
    >>> from nwb_it.core.results import Activations
    >>> truth = write_example_session("x_fixshortvid1_coco.mat", n_units=8, n_clips=14, n_repeats=4)
    >>> nwb = run_convert("x_fixshortvid1_coco.mat", example_metadata_path(), out_dir="nwb")
    >>> names = [f"{k}_clip{k:03d}" for k in range(1, 15)]               # the example's clip names
    >>> features = np.random.default_rng(0).normal(size=(14, 30))        # one window per clip: a still-image model
    >>> # 13 stimuli: the example leaves one clip unshown, so it is not in the benchmark
    >>> acts = Activations(names, np.arange(14), np.zeros(14, int), np.zeros(14, int), {"last": features})
    >>> scores = run_score([nwb], {"random": acts}, out_dir="scores",
    ...                    export=BrainScoreExportParams(min_reliability=None))
    >>> [(s.model, s.layer, s.n_stimuli) for s in scores], -1 < scores[0].raw < 1
    ([('random', 'last', 13)], True)
    """
    for path in [Path(out_dir) / n for n in (*OUTPUTS, FIGURE)]:
        refuse_existing(path, output.overwrite, output.force)
    bench = read_benchmark(benchmark, export, presentations=presentations)
    acts = {label: m if isinstance(m, Activations) else read_model_activations(*m) for label, m in models.items()}
    scores = compute_scores(bench, acts, params)
    write_scores(scores, out_dir, output=output)
    draw_scores(scores, out_dir, title=f"{len(bench.neuroid_ids)} neuroids, {bench.n_stimuli} stimuli",
                output=output)
    return scores
