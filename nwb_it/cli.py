"""The ``nwb-it`` command line: one verb per pipeline step, defaults read from ``core.params``."""
from __future__ import annotations

import argparse
import os
import sys
import warnings
from collections.abc import Callable
from pathlib import Path

from .core.errors import NwbItError
from .core.params import (
    NORMALIZATIONS,
    NULL_CHOICES,
    UNIT_CHOICES,
    CompareParams,
    ExtractionSettings,
    HeatmapParams,
    PresentationSpec,
    ReliabilityParams,
    default,
)
from .core.provenance import package_version
from .formats.l2str.reader import SourceLayout

VERBS: dict[str, Callable[[argparse._SubParsersAction], None]] = {}
FORMATTER = argparse.ArgumentDefaultsHelpFormatter    # every option's help shows its default


def verb(name: str):
    """Register a function that adds one sub-command to the parser."""
    def deco(fn):
        VERBS[name] = fn
        return fn
    return deco


def _parser(sub, name: str, help_text: str) -> argparse.ArgumentParser:
    return sub.add_parser(name, help=help_text, description=help_text, formatter_class=FORMATTER)


def _window(p: argparse.ArgumentParser, cls: type, help_text: str = "analysis window around clip onset (s)") -> None:
    p.add_argument("--window", type=float, nargs=2, default=default(cls, "window"), metavar=("START", "END"),
                   help=help_text)
    p.add_argument("--bin", type=float, default=default(cls, "bin_size"), help="bin size (s)")


def _presentation_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("presentations (any NWB file)")
    g.add_argument("--intervals", default=default(PresentationSpec, "intervals"),
                   help="table under /intervals holding one row per stimulus presentation")
    g.add_argument("--stimulus-column", default=default(PresentationSpec, "stimulus_column"),
                   help="column naming each presentation's stimulus")
    g.add_argument("--onset-column", help="column of stimulus onsets (default: stimulus_onset where present, "
                   "else start_time)")


def _spec(args) -> PresentationSpec:
    return PresentationSpec(args.intervals, args.stimulus_column, args.onset_column)


def _layout(args) -> SourceLayout:
    return SourceLayout(struct=args.struct, spikes=args.spikes_field, itemnames=args.itemnames_field,
                        neuron_id=args.neuron_id_field, trialnum=args.trialnum_field)


def _layout_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("source layout")
    g.add_argument("--struct", default=default(SourceLayout, "struct"), help="name of the session struct")
    g.add_argument("--spikes-field", default=default(SourceLayout, "spikes"),
                   help="field holding spikes{unit}{clip}{repeat}")
    g.add_argument("--itemnames-field", default=default(SourceLayout, "itemnames"), help="field naming the clips")
    g.add_argument("--neuron-id-field", default=default(SourceLayout, "neuron_id"), help="field naming the units")
    g.add_argument("--trialnum-field", default=default(SourceLayout, "trialnum"),
                   help="field giving each presentation's trial number")


@verb("example")
def _example(sub) -> None:
    p = _parser(sub, "example", "write an example session (genuine MATLAB file, known truth)")
    p.add_argument("out", type=Path, help="output .mat path, e.g. rec_fixshortvid1_coco.mat")
    p.add_argument("--units", type=int, default=16, help="units (1-256)")
    p.add_argument("--clips", type=int, default=20, help="clips (1-200)")
    p.add_argument("--repeats", type=int, default=6, help="repeats per clip (1-8; ragged below that)")
    p.add_argument("--seed", type=int, default=0, help="random seed")
    p.add_argument("--mat-format", choices=["7.3", "5"], default="7.3", help="MATLAB file version")
    p.add_argument("--frames", type=Path, help="also write clip frames (moving shapes) into this folder")
    p.add_argument("--model", help="with --frames: model folder whose activations the read-out units follow")
    p.add_argument("--readout", type=int, default=4, help="with --model: number of read-out units")
    p.add_argument("--overwrite", action="store_true", help="replace an existing output file")

    def run(args) -> int:
        from .examples import example_clip_names, write_example_frames, write_example_session
        from .nwb.atomic import atomic_output

        if not (1 <= args.units <= 256 and 1 <= args.clips <= 200 and 1 <= args.repeats <= 8):
            raise NwbItError("--units 1-256, --clips 1-200, --repeats 1-8")
        with atomic_output(args.out, args.overwrite) as tmp:
            if args.frames is not None and args.model is not None:
                from .examples.readout import write_example_with_frames

                truth = write_example_with_frames(tmp, args.frames, args.model, args.units, args.clips,
                                                  args.repeats, args.seed, args.readout)
            else:
                truth = write_example_session(tmp, args.units, args.clips, args.repeats, args.seed,
                                              args.mat_format)
                if args.frames is not None:
                    write_example_frames(args.frames, example_clip_names(args.clips))
        print(f"{args.out}  ({args.units} units, {truth.responsive.sum()} made responsive; {args.clips} clips; "
              f"{truth.n_repeats.sum()} presentations)")
        return 0
    p.set_defaults(func=run)


@verb("convert")
def _convert(sub) -> None:
    p = _parser(sub, "convert", "convert .mat sessions into DANDI-layout NWB files")
    p.add_argument("sessions", nargs="+", type=Path, help="session .mat files (v7.3 or v5/v7)")
    p.add_argument("-o", "--out-dir", type=Path, required=True, help="output folder (DANDI layout inside)")
    p.add_argument("--metadata", type=Path, help="metadata YAML (NWBFile:, Subject:, Ecephys:, Units: sections)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    _layout_options(p)

    def run(args) -> int:
        from tqdm.auto import tqdm

        from .steps.convert import convert_session

        failed = 0
        for mat in tqdm(args.sessions, desc="sessions", unit="session", disable=len(args.sessions) < 2):
            try:
                out = convert_session(mat, args.out_dir, args.metadata, args.overwrite, _layout(args),
                                      progress=sys.stderr.isatty())
                tqdm.write(str(out))
            except NwbItError as exc:
                if args.debug:
                    raise
                failed += 1
                print(f"nwb-it: error: {exc}", file=sys.stderr)
        return 2 if failed else 0
    p.set_defaults(func=run)


@verb("validate")
def _validate(sub) -> None:
    p = _parser(sub, "validate", "pynwb schema validation + nwbinspector (DANDI config)")
    p.add_argument("paths", nargs="+", type=Path, help="NWB files or folders holding them")

    def run(args) -> int:
        from .nwb.validate import validate_nwb

        files = [f for p in args.paths for f in (sorted(p.rglob("*.nwb")) if p.is_dir() else [p])]
        if not files:
            raise NwbItError("no .nwb file found", args.paths[0])
        blocking = 0
        for path in files:
            findings = validate_nwb(path)
            for finding in findings:
                print(finding)
            n_block = sum(f.blocking for f in findings)
            blocking += n_block
            print(f"{path}: {'FAILED' if n_block else 'OK'} ({len(findings)} finding(s), {n_block} blocking)")
        return 1 if blocking else 0
    p.set_defaults(func=run)


@verb("reliability")
def _reliability(sub) -> None:
    p = _parser(sub, "reliability", "split-half reliability and d' of every unit, stored in the NWB file")
    p.add_argument("nwb", type=Path, help="NWB file written by nwb-it convert")
    p.add_argument("--n-perm", type=int, default=default(ReliabilityParams, "n_perm"),
                   help="random splits (and null splits) per unit")
    p.add_argument("--seed", type=int, default=default(ReliabilityParams, "seed"), help="random seed")
    p.add_argument("--cutoff", type=float, default=default(ReliabilityParams, "cutoff"),
                   help="responsive when d' > cutoff")
    _window(p, ReliabilityParams)
    p.add_argument("--null", choices=NULL_CHOICES, default=default(ReliabilityParams, "null"),
                   help="d' null: a new deal of the presentations per null split, or the lab's single deal")
    p.add_argument("--n-null", type=int, default=default(ReliabilityParams, "n_null"),
                   help="most deals of the permutation test behind p_value")
    p.add_argument("--lab-compat", action="store_true",
                   help="the lab notebook's numbers exactly (its edges, silent repeats dropped, its random order)")
    p.add_argument("--export-pickle", type=Path, help="also write the lab's responsive-unit pickle here")
    p.add_argument("--store-binned", action="store_true",
                   help="also store the binned counts as BinnedAlignedSpikes (ndx-binned-spikes) for other tools")
    _presentation_options(p)

    def run(args) -> int:
        import numpy as np

        from .steps.reliability import run_reliability

        params = ReliabilityParams(tuple(args.window), args.bin, args.n_perm, args.seed, args.cutoff, args.null,
                                   args.n_null, args.lab_compat)
        res = run_reliability(args.nwb, params, args.export_pickle, progress=True, presentations=_spec(args),
                              store_binned=args.store_binned)
        d = res.dprime
        finite = d[np.isfinite(d)]
        tested = "" if args.lab_compat else f", {int((res.q_value < 0.05).sum())} with q < 0.05"
        print(f"{args.nwb}: {len(d)} units, {int(res.responsive.sum())} responsive (d' > {args.cutoff:g}){tested}, "
              f"{len(d) - finite.size} undefined")
        if finite.size:
            q = np.percentile(finite, [0, 25, 50, 75, 100])
            print("d' min/25%/median/75%/max: " + " / ".join(f"{v:.2f}" for v in q))
        if args.export_pickle:
            print(f"responsive units' spikes: {args.export_pickle}")
        return 0
    p.set_defaults(func=run)


@verb("heatmaps")
def _heatmaps(sub) -> None:
    p = _parser(sub, "heatmaps", "firing-rate heatmaps and the reliability histograms")
    p.add_argument("nwb", type=Path, help="NWB file (after nwb-it reliability for --units responsive)")
    p.add_argument("-o", "--out-dir", type=Path, required=True, help="folder for the figures")
    _window(p, HeatmapParams)
    p.add_argument("--normalize", choices=NORMALIZATIONS, default=default(HeatmapParams, "normalize"),
                   help="per-unit scaling of the population heatmap")
    p.add_argument("--units", choices=UNIT_CHOICES, default=default(HeatmapParams, "units"), help="units to plot")
    p.add_argument("--format", choices=["png", "pdf"], default=default(HeatmapParams, "fmt"), help="figure format")
    p.add_argument("--clip-duration", type=float, default=default(HeatmapParams, "clip_duration"),
                   help="marks clip offset (s); 0 = no mark")
    _presentation_options(p)

    def run(args) -> int:
        from .steps.heatmaps import make_heatmaps

        params = HeatmapParams(tuple(args.window), args.bin, args.normalize, args.units, args.format,
                               args.clip_duration or None)
        paths = make_heatmaps(args.nwb, args.out_dir, params, progress=True, presentations=_spec(args))
        print(f"{len(paths)} figures in {args.out_dir}")
        return 0
    p.set_defaults(func=run)


@verb("extract-videomae")
def _extract(sub) -> None:
    p = _parser(sub, "extract-videomae", "VideoMAE activations of the clips' sliding windows")
    p.add_argument("frames", type=Path, help="folder of clip frames (flat lab naming, or one sub-folder per clip)")
    p.add_argument("--nwb", type=Path, help="store the activations in this NWB file (matched to its trials)")
    p.add_argument("--npy", type=Path, help="also write the lab's hidden_states.npy (last layer)")
    p.add_argument("--model", default=default(ExtractionSettings, "model"),
                   help="Hugging Face id (local cache only) or model folder")
    p.add_argument("--batch-size", type=int, help="windows per forward pass (default 4 on CPU, 32 on GPU)")
    p.add_argument("--layers", default=default(ExtractionSettings, "layers"),
                   help="last | all | comma-separated hidden_states indices")
    p.add_argument("--pool", choices=["mean", "max"], default=default(ExtractionSettings, "pool"),
                   help="pooling of the last tubelet's tokens")
    p.add_argument("--pad", type=int, default=default(ExtractionSettings, "pad"),
                   help="grey frames before and after each clip")
    p.add_argument("--grey", default=str(default(ExtractionSettings, "grey")),
                   help="grey level 0-255 or a padding image file")
    p.add_argument("--fps", type=float, default=default(ExtractionSettings, "fps"),
                   help="frame rate of the clips (window times)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default=default(ExtractionSettings, "device"),
                   help="where the model runs")
    p.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default=default(ExtractionSettings, "dtype"),
                   help="model precision (reduced precision on a GPU only)")
    p.add_argument("--clip-map", type=Path, help="CSV clip_key,stimulus_name")
    _presentation_options(p)

    def run(args) -> int:
        from .steps.extract import run_extract

        if args.nwb is None and args.npy is None:
            raise NwbItError("nothing to write: pass --nwb FILE.nwb and/or --npy hidden_states.npy")
        grey = int(args.grey) if args.grey.isdigit() else args.grey
        settings = ExtractionSettings(model=args.model, layers=args.layers, pool=args.pool, pad=args.pad, grey=grey,
                                      fps=args.fps, device=args.device, dtype=args.dtype, batch_size=args.batch_size)
        acts = run_extract(args.frames, settings, args.nwb, args.npy, args.clip_map, progress=True,
                           presentations=_spec(args))
        total = len(acts.window)
        print(f"{len(acts.clip_keys)} clips, {total} windows ({total - acts.n_forward_windows} all-grey windows "
              f"reused), layers {', '.join(acts.layers)}, hidden {next(iter(acts.layers.values())).shape[1]}")
        for dest in (args.nwb, args.npy):
            if dest:
                print(dest)
        return 0
    p.set_defaults(func=run)


@verb("plot-activations")
def _plot_activations(sub) -> None:
    p = _parser(sub, "plot-activations", "activation heatmaps per clip and a PCA trajectory")
    p.add_argument("nwb", type=Path, help="NWB file holding an activations table")
    p.add_argument("-o", "--out-dir", type=Path, required=True, help="folder for the figures")
    p.add_argument("--layer", default="last", help="layer to plot")
    p.add_argument("--format", choices=["png", "pdf"], default="png", help="figure format")

    def run(args) -> int:
        from .steps.plot_activations import plot_activations

        paths = plot_activations(args.nwb, args.out_dir, args.layer, args.format, progress=True)
        print(f"{len(paths)} figures in {args.out_dir}")
        return 0
    p.set_defaults(func=run)


@verb("compare")
def _compare(sub) -> None:
    p = _parser(sub, "compare", "encoding model and RSA: model activations vs IT responses")
    p.add_argument("nwb", type=Path, help="NWB file after reliability and extract-videomae")
    p.add_argument("--units", choices=UNIT_CHOICES, default=default(CompareParams, "units"), help="units to model")
    _window(p, CompareParams, "PSTH window around clip onset (s)")
    p.add_argument("--lags", default=",".join(f"{x:g}" for x in default(CompareParams, "lags")),
                   help="latencies in seconds, comma-separated")
    p.add_argument("--folds", type=int, default=default(CompareParams, "folds"), help="outer folds (split by clip)")
    p.add_argument("--seed", type=int, default=default(CompareParams, "seed"), help="random seed")
    p.add_argument("--layer", default=default(CompareParams, "layer"), help="activations layer")
    p.add_argument("--rsa-windows", choices=["response", "all"], default=default(CompareParams, "rsa_windows"),
                   help="model RDM from a clip's windows in the response window, or from all of them")
    p.add_argument("--rsa-zscore", action="store_true", help="z-score each unit across clips before the neural RDM")
    p.add_argument("-o", "--out-dir", type=Path, help="folder for the figures")
    _presentation_options(p)

    def run(args) -> int:
        import numpy as np

        from .steps.compare import run_compare

        try:
            lags = tuple(float(x) for x in args.lags.split(","))
        except ValueError:
            raise NwbItError(f"--lags {args.lags!r}: comma-separated seconds, e.g. 0,0.05,0.1") from None
        params = CompareParams(window=tuple(args.window), bin_size=args.bin, lags=lags, folds=args.folds,
                               seed=args.seed, layer=args.layer, units=args.units, rsa_windows=args.rsa_windows,
                               rsa_zscore=args.rsa_zscore)
        enc, res = run_compare(args.nwb, params, args.out_dir, presentations=_spec(args))
        s = enc.summary()
        print(f"encoding: {len(enc.r)} units, median r {np.nanmedian(enc.r):.2f}, median ceiling "
              f"{np.nanmedian(enc.ceiling):.2f}, median r²/ceiling {s['median']:.2f} "
              f"(95% CI over clips {s['ci_low']:.2f}..{s['ci_high']:.2f}); above the clip-shuffled baseline by "
              f"{s['above_clip_shuffled']:.2f}, above onset-only by {s['above_onset_only']:.2f}")
        print(f"RSA: Spearman rho {res.rho:.2f} over {len(res.clip_names)} clips, ceiling {res.ceiling:.2f} "
              f"(rho/ceiling {res.normalized:.2f})")
        return 0
    p.set_defaults(func=run)


@verb("demo")
def _demo(sub) -> None:
    p = _parser(sub, "demo", "run every step on an example session and its clip frames")
    p.add_argument("out_dir", type=Path, nargs="?", default=Path("demo_out"), help="output folder")
    p.add_argument("--model", help="VideoMAE folder or cached id (default: a tiny random model built on the fly)")
    p.add_argument("--units", type=int, default=32, help="units of the example session")
    p.add_argument("--clips", type=int, default=30, help="clips of the example session")
    p.add_argument("--repeats", type=int, default=6, help="repeats per clip")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier demo's files")

    def run(args) -> int:
        from .steps.demo import run_demo

        result = run_demo(args.out_dir, args.model, args.units, args.clips, args.repeats, overwrite=args.overwrite)
        for key, value in result.summary.items():
            print(f"{key:>14}: {value}")
        for key, path in result.files.items():
            print(f"{key:>14}: {path}")
        return 0
    p.set_defaults(func=run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nwb-it", description=(
        "Macaque IT recording sessions (.mat) and model activations into DANDI-ready NWB files."))
    parser.add_argument("--version", action="version", version=f"nwb-it {package_version()}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for add in VERBS.values():
        add(sub)
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"nwb-it: warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    os.environ.setdefault("MPLBACKEND", "Agg")       # the command line draws into files only
    parser = build_parser()
    args = parser.parse_args(argv)
    if not args.debug:
        warnings.showwarning = _one_line_warning
        for noisy in (DeprecationWarning, FutureWarning, ResourceWarning):
            warnings.filterwarnings("ignore", category=noisy)
    try:
        return args.func(args)
    except NwbItError as exc:
        if args.debug:
            raise
        print(f"nwb-it: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("nwb-it: interrupted; no partial output was left", file=sys.stderr)
        return 130


if __name__ == "__main__":
    sys.exit(main())
