"""``nwb-it design``: the candidate clips to record next, where two compared models disagree most.

read (:func:`read_design_data`: the session's counts in the window and each model's features on the
recorded clips; :func:`candidate_features`: the same models run on the candidates, refused when the
model folder is not the model that made the stored table) -> compute (:func:`compute_design`, pure;
:mod:`nwb_it.process.design`) -> write (:func:`write_design`: ``design.csv``) -> draw
(:func:`draw_design`: ``design.png``).
"""
from __future__ import annotations

import csv
import itertools
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..core.benchmark import DesignResult
from ..core.benchmark_params import DesignParams
from ..core.errors import NwbItError
from ..core.output import OutputPolicy
from ..core.params import ExtractionParams, PresentationSpec
from ..core.results import Activations
from ..io.atomic import atomic_output, refuse_existing
from ..models.frames import discover_clips
from ..models.windows import extract
from ..nwb.activations import read_activations
from ..nwb.io import reading
from ..process.brainscore import activations_per_bin
from ..process.design import design_clips, divergence, predicted_responses, presentation_noise
from ..process.stats import group_means
from ..viz.benchmark import design_figure
from ..viz.save import save_figure_folder
from .aligned import read_aligned
from .compare import check_finite

OUTPUT = "design.csv"
FIGURE = "design.png"
FEATURE_BIN = 0.01        # features sampled every 10 ms of the window, then averaged: the window's mean features


@dataclass(frozen=True)
class DesignModel:
    """One side of the comparison: an activations table of the session, its layer, and the model that made it."""

    table: str
    layer: str
    model: str

    @property
    def label(self) -> str:
        return f"{self.table}:{self.layer}"


def parse_model(text: str) -> DesignModel:
    """``TABLE[:LAYER]=MODEL_FOLDER`` (layer ``last`` when left out).

    Examples
    --------
    >>> parse_model("videomae_activations:layer3=/models/videomae")
    DesignModel(table='videomae_activations', layer='layer3', model='/models/videomae')
    """
    if "=" not in text:
        raise NwbItError(f"'{text}': give a model as TABLE[:LAYER]=MODEL_FOLDER (the session's activations table, "
                         "its layer, and the model folder that made it)")
    left, model = text.split("=", 1)
    table, _, layer = left.partition(":")
    if not table or not model:
        raise NwbItError(f"'{text}': give a model as TABLE[:LAYER]=MODEL_FOLDER")
    return DesignModel(table, layer or "last", model)


@dataclass(frozen=True)
class DesignData:
    """What :func:`compute_design` needs of the session: counts in the window and each model's recorded features."""

    counts: np.ndarray                     # (units, presentations) spike count in the window
    clip_of: np.ndarray                    # (presentations,) recorded clip (row of ``responses``)
    responses: np.ndarray                  # (recorded clips with activations, units) mean count
    shown: dict[str, np.ndarray]           # model label -> (recorded clips, features)
    provenance: dict[str, dict]            # model label -> what made its table


def mean_window_features(acts: Activations, layer: str, window: tuple[float, float]) -> np.ndarray:
    """Each clip's features averaged over the window (sampled every 10 ms; :func:`activations_per_bin`)."""
    n = max(1, round((window[1] - window[0]) / FEATURE_BIN))
    return activations_per_bin(acts, layer, np.linspace(window[0], window[1], n + 1)).mean(axis=2)


def read_design_data(nwb_path: str | Path, models: list[DesignModel], params: DesignParams = DesignParams(), *,
                     presentations: PresentationSpec = PresentationSpec()) -> DesignData:
    """The session's fully observed units' counts in ``params.window`` and each model's window features on the
    recorded clips that every table holds."""
    width = params.window[1] - params.window[0]
    with reading(nwb_path) as nwb:
        aligned = read_aligned(nwb, params.window, width, None, presentations)
        tables = {m.table: read_activations(nwb, m.table) for m in models}
    for m in models:
        if m.layer not in tables[m.table].layers:
            raise NwbItError(f"no layer '{m.layer}' in the activations table '{m.table}' (have: "
                             f"{', '.join(tables[m.table].layers)})", nwb_path)
        check_finite(tables[m.table], [m.layer], m.table)
    aligned = aligned.select_units(aligned.fully_observed())
    names = list(aligned.clip_names)
    common = [c for c, n in enumerate(names) if all(n in (t.stimulus_names or []) for t in tables.values())]
    if len(common) < 10:
        raise NwbItError(f"{len(common)} recorded clips have activations in every table: the encoding models need 10",
                         nwb_path)
    shown = {}
    for m in models:
        acts = tables[m.table]
        row_of = {name: i for i, name in enumerate(acts.stimulus_names)}
        rows = [row_of[names[c]] for c in common]
        shown[m.label] = mean_window_features(acts, m.layer, params.window)[rows]
    keep = np.isin(aligned.clip_of, common)
    counts = aligned.presentation_counts[:, keep, 0].astype(np.float64)
    clip_of = np.searchsorted(common, aligned.clip_of[keep])
    responses = group_means(counts.T, clip_of, len(common))
    return DesignData(counts, clip_of, responses, shown, {m.label: tables[m.table].provenance for m in models})


def candidate_features(candidates: str | Path, models: list[DesignModel], data: DesignData,
                       params: DesignParams = DesignParams(), *, device: str = "auto"
                       ) -> tuple[list[str], dict[str, np.ndarray]]:
    """Run every model on the candidate clips with the settings stored with its table; refuse a model folder whose
    configuration is not the one that made the table (the two sets of features would not be comparable)."""
    clips = discover_clips(candidates)
    out, names = {}, [c.key for c in clips]
    for folder in sorted({m.model for m in models}):
        users = [m for m in models if m.model == folder]
        prov = data.provenance[users[0].label]
        settings = ExtractionParams(model=str(folder), layers="all", device=device,
                                    **{k: prov[k] for k in ("family", "dtype", "pool", "pad", "grey", "fps")
                                       if k in prov})
        acts = extract(clips, settings)
        for m in users:
            made_by = data.provenance[m.label].get("config_sha256_16")
            if made_by and acts.provenance.get("config_sha256_16") != made_by:
                raise NwbItError(f"{folder} is not the model that made the table '{m.table}' (its configuration "
                                 f"hash {acts.provenance.get('config_sha256_16')} != {made_by}): pass that model's "
                                 "folder")
            if m.layer not in acts.layers:
                raise NwbItError(f"the model has no layer '{m.layer}' (has: {', '.join(acts.layers)})", folder)
            check_finite(acts, [m.layer], f"{folder} on the candidates")
            out[m.label] = mean_window_features(acts, m.layer, params.window)
    return names, out


def compute_design(data: DesignData, candidates: list[str], features: dict[str, np.ndarray],
                   params: DesignParams = DesignParams()) -> tuple[DesignResult, np.ndarray]:
    """Predict every candidate with each model, rank by divergence, pick ``params.n_clips`` (pure). With more than
    two models every pair is to be told apart: one divergence per pair, the picks by greedy maximin."""
    labels = list(data.shown)
    if len(labels) < 2:
        raise NwbItError(f"design compares two models or more; {len(labels)} given")
    noise = presentation_noise(data.counts, data.clip_of)
    predicted = {m: predicted_responses(data.shown[m], data.responses, features[m], params.n_pcs) for m in labels}
    div = np.stack([divergence(predicted[a], predicted[b], noise) for a, b in itertools.combinations(labels, 2)])
    n_units = int((np.isfinite(noise) & (noise > 0)).sum())
    if n_units == 0:
        raise NwbItError("no unit varies from presentation to presentation: nothing to tell the models apart with")
    return design_clips(div, candidates, params.n_clips, params.power, tuple(labels), n_units, params.seed)


def write_design(result: DesignResult, out_dir: str | Path, *, output: OutputPolicy = OutputPolicy()
                 ) -> Path:
    """``design.csv``: every candidate, its divergence (more than two models: the smallest over the pairs, and one
    column per pair), and its rank among the chosen (blank when not chosen); chosen first, in the order picked."""
    path = Path(out_dir) / OUTPUT
    refuse_existing(path, output.overwrite, output.force)
    path.parent.mkdir(parents=True, exist_ok=True)
    rank = {int(c): i + 1 for i, c in enumerate(result.chosen)}
    per_pair = result.pairwise if len(result.pairwise) > 1 else None
    order = [*map(int, result.chosen), *[int(i) for i in np.argsort(-result.divergence, kind="stable")
                                         if int(i) not in rank]]
    with atomic_output(path, output.overwrite, output.force) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        pair_names = [f"divergence_{a}_vs_{b}" for a, b in result.pairs] if per_pair is not None else []
        writer.writerow(["candidate", "divergence", "chosen_rank", "repeats", *pair_names])
        for i in order:
            writer.writerow([result.candidates[i], result.divergence[i], rank.get(i, ""),
                             result.repeats if i in rank else "", *(per_pair[:, i] if per_pair is not None else [])])
    return path


def draw_design(result: DesignResult, random_divergence: np.ndarray, out_dir: str | Path, *,
                output: OutputPolicy = OutputPolicy()) -> list[Path]:
    """``design.png``: the candidates' divergences with the chosen marked, and the chosen set against random sets."""
    return save_figure_folder(out_dir, "design", {Path(out_dir) / FIGURE: lambda: design_figure(result,
                              random_divergence)}, output=output)


def run_design(nwb_path: str | Path, candidates: str | Path, models: list[DesignModel],
               params: DesignParams = DesignParams(), *, out_dir: str | Path, device: str = "auto",
               presentations: PresentationSpec = PresentationSpec(), output: OutputPolicy = OutputPolicy()
               ) -> DesignResult:
    """Rank the clips under ``candidates`` for telling two models (or more) apart on this session; write the table and
    the figure.

    Examples
    --------
    >>> from nwb_it import ExtractionParams, example_metadata_path, run_convert, run_extract, write_example_session
    >>> from nwb_it.examples import example_clip_names, write_example_frames
    >>> from nwb_it.examples.random_model import save_random_videomae
    >>> _ = write_example_session("g_fixshortvid1_coco.mat", n_units=5, n_clips=12, n_repeats=4)  # 11 shown
    >>> nwb = run_convert("g_fixshortvid1_coco.mat", example_metadata_path(), out_dir="nwb")
    >>> shown = write_example_frames("shown", example_clip_names(12), n_frames=8, size=16)
    >>> new = write_example_frames("new", [f"{k}_new{k:03d}" for k in range(20, 26)], n_frames=8, size=16, seed=1)
    >>> for name, seed in (("a", 0), ("b", 1)):                  # two models compared on the session
    ...     model = save_random_videomae(f"model_{name}", seed)
    ...     _ = run_extract(shown, ExtractionParams(model=str(model)), nwb_paths=[nwb],
    ...                     activations=f"{name}_activations")
    >>> result = run_design(nwb, new, [parse_model("a_activations=model_a"), parse_model("b_activations=model_b")],
    ...                     DesignParams(n_clips=2, n_pcs=3), out_dir="design")
    >>> len(result.chosen), sorted(p.name for p in Path("design").iterdir() if not p.name.startswith("."))
    (2, ['design.csv', 'design.png'])
    """
    for path in (Path(out_dir) / OUTPUT, Path(out_dir) / FIGURE):
        refuse_existing(path, output.overwrite, output.force)
    data = read_design_data(nwb_path, models, params, presentations=presentations)
    names, features = candidate_features(candidates, models, data, params, device=device)
    result, random_div = compute_design(data, names, features, params)
    write_design(result, out_dir, output=output)
    draw_design(result, random_div, out_dir, output=output)
    return result
