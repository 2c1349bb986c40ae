"""Verbs of the field's benchmark: ``score`` (a model on a lab's benchmark, Brain-Score's metric) and ``design``
(which clips to record next)."""
from __future__ import annotations

from pathlib import Path

from ..core.benchmark_params import BrainScoreExportParams, DesignParams, ScoreParams
from ..core.errors import NwbItError
from ..core.params import UNIT_CHOICES, default
from . import verb
from .options import (
    absolute,
    command,
    location,
    optional_float,
    output_policy,
    overwrite_option,
    params_from,
    presentation_options,
    spec,
)


def _activation_sources(files: list[Path], tables: list[str]) -> dict[str, tuple[Path, str]]:
    """label -> (NWB file, table): every table of every file; the file's stem joins the label when there are
    several files."""
    out = {}
    for f in files:
        for t in tables:
            label = f"{f.stem}:{t}" if len(files) > 1 else t
            out[label] = (absolute(f), t)
    return out


def _recipe_options(p) -> None:
    """The benchmark recipe's options (:class:`BrainScoreExportParams`), for export-brainscore and for score's NWB
    files."""
    p.add_argument("--window", type=float, nargs=2, default=default(BrainScoreExportParams, "window"),
                   metavar=("START", "END"), help="time window after onset (s)")
    p.add_argument("--bin", type=float, default=default(BrainScoreExportParams, "bin_size"), help="bin size (s)")
    p.add_argument("--units", choices=UNIT_CHOICES, default=default(BrainScoreExportParams, "units"),
                   help="units to consider (the recipe: all, selected by reliability alone)")
    p.add_argument("--min-reliability", type=optional_float,
                   default=default(BrainScoreExportParams, "min_reliability"),
                   help="keep neuroids whose split-half reliability in the window exceeds this (Brain-Score's "
                        "recipe); 'none' keeps every unit")
    p.add_argument("--seed", type=int, default=default(BrainScoreExportParams, "seed"),
                   help="base seed of the reliability's random halves")


@verb("export-brainscore")
def _export_brainscore(sub) -> None:
    p = command(sub, "export-brainscore", "a Brain-Score neural assembly (NetCDF), stimulus set and benchmark module")
    p.add_argument("nwb", type=location, nargs="+", help="NWB file(s), paths or URLs (one assembly: their neuroids "
                   "side by side, presentations joined on stimulus and repetition)")
    p.add_argument("-o", "--out-dir", type=Path, required=True, help="folder for assembly.nc, stimulus_set.csv and "
                   "benchmark.py")
    _recipe_options(p)
    overwrite_option(p, "an earlier export")
    presentation_options(p)

    def run(args) -> int:
        from ..steps.export import run_export_brainscore

        params = params_from(BrainScoreExportParams, args)
        paths = run_export_brainscore([absolute(p) for p in args.nwb], params, out_dir=args.out_dir,
                                      presentations=spec(args), output=output_policy(args))
        print("\n".join(str(p) for p in paths))
        return 0
    p.set_defaults(func=run)


@verb("score")
def _score(sub) -> None:
    p = command(sub, "score", "score model activations on a lab's benchmark with Brain-Score's metric (spantime_pls): "
                "raw, ceiling, ceiled and bounded")
    p.add_argument("benchmark", type=location, nargs="+", help="an export-brainscore folder, or NWB files (exported "
                   "in memory by the recipe options below)")
    p.add_argument("-o", "--out-dir", type=Path, required=True, help="folder for scores.csv, scores_by_time.csv and "
                   "score_over_time.png")
    src = p.add_argument_group("the model (one of)")
    src.add_argument("--activations-from", type=Path, action="append", default=[], metavar="NWB",
                     help="an NWB file holding activations tables of the benchmark's clips (repeatable)")
    src.add_argument("--table", action="append", default=None, help="activations table(s) of those files "
                     "(repeatable; default videomae_activations)")
    src.add_argument("--clips", type=Path, help="a folder of the benchmark's clips (frame folders or videos) to run "
                     "--model on")
    src.add_argument("--model", action="append", default=[], help="a local model folder to run on --clips "
                     "(repeatable)")
    p.add_argument("--layers", default=default(ScoreParams, "layer"), help="layers scored: all, NAME or A,B")
    p.add_argument("--components", type=int, default=default(ScoreParams, "components"), help="PLS components")
    p.add_argument("--splits", type=int, default=default(ScoreParams, "splits"), help="cross-validation splits")
    _recipe_options(p.add_argument_group("the recipe, for NWB files given as the benchmark"))
    overwrite_option(p, "earlier scores")
    presentation_options(p)

    def run(args) -> int:
        from ..steps.score import extract_model_activations, run_score, summary_lines

        if bool(args.activations_from) == bool(args.clips or args.model):
            raise NwbItError("give the model as --activations-from NWB [--table T] or as --clips DIR --model FOLDER")
        if args.clips and not args.model:
            raise NwbItError("--clips needs --model FOLDER (a local model folder)")
        if args.activations_from:
            models = _activation_sources(args.activations_from, args.table or ["videomae_activations"])
        else:
            if not args.clips:
                raise NwbItError("--model needs --clips DIR (the benchmark's clips)")
            models = {Path(m).name: extract_model_activations(args.clips, absolute(m))
                      for m in args.model}
        params = params_from(ScoreParams, args)
        export = params_from(BrainScoreExportParams, args)
        scores = run_score([absolute(b) for b in args.benchmark], models, params, out_dir=args.out_dir,
                           export=export, presentations=spec(args), output=output_policy(args))
        print("\n".join(summary_lines(scores)))
        return 0
    p.set_defaults(func=run)


@verb("design")
def _design(sub) -> None:
    p = command(sub, "design", "rank candidate clips by how far two compared models' predicted IT responses diverge "
                "relative to the units' noise; pick N and the repeats they need")
    p.add_argument("nwb", type=location, help="the session (with the models' activations tables)")
    p.add_argument("--candidates", type=Path, required=True, help="folder of candidate clips not yet shown (frame "
                   "folders or videos)")
    p.add_argument("--model", action="append", required=True, metavar="TABLE[:LAYER]=FOLDER",
                   help="a model compared on the session: its activations table, layer (default last) and model "
                   "folder; give two or more (every pair is to be told apart)")
    p.add_argument("-o", "--out-dir", type=Path, required=True, help="folder for design.csv and design.png")
    p.add_argument("-n", "--n-clips", type=int, default=default(DesignParams, "n_clips"), help="clips to pick")
    p.add_argument("--power", type=float, default=default(DesignParams, "power"),
                   help="probability that the right model predicts better, for the repeats")
    p.add_argument("--window", type=float, nargs=2, default=default(DesignParams, "window"), metavar=("START", "END"),
                   help="response window after onset (s)")
    p.add_argument("--n-pcs", type=int, default=default(DesignParams, "n_pcs"),
                   help="principal components of each model's features in its encoding model")
    p.add_argument("--seed", type=int, default=default(DesignParams, "seed"), help="seed of the random comparison")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto", help="where the models run")
    overwrite_option(p, "an earlier design")
    presentation_options(p)

    def run(args) -> int:
        from ..steps.design import parse_model, run_design

        models = [parse_model(m) for m in args.model]
        if len(models) < 2:
            raise NwbItError(f"give two --model options or more (got {len(models)})")
        params = params_from(DesignParams, args)
        result = run_design(absolute(args.nwb), args.candidates, models, params, out_dir=args.out_dir,
                            device=args.device, presentations=spec(args), output=output_policy(args))
        chosen = ", ".join(result.candidates[i] for i in result.chosen)
        print(f"{' vs '.join(result.models)} on {result.n_units} units: chose {len(result.chosen)} of "
              f"{len(result.candidates)} candidates ({chosen})")
        print(f"repeats per clip for power {result.power:g}: {result.repeats} ({result.presentations} presentations); "
              f"as many random clips: {result.random_repeats:.1f} per clip on average")
        print(Path(args.out_dir) / "design.csv")
        return 0
    p.set_defaults(func=run)
