"""The ``nwb-it`` command line: one verb per pipeline step."""
from __future__ import annotations

import argparse
import sys
import warnings
from pathlib import Path
from typing import Callable

from . import __version__
from .errors import NwbItError

VERBS: dict[str, Callable[[argparse._SubParsersAction], None]] = {}


def verb(name: str):
    """Register a function that adds one sub-command to the parser."""
    def deco(fn):
        VERBS[name] = fn
        return fn
    return deco


def _layout(args):
    from .io.read_session import SourceLayout

    return SourceLayout(struct=args.struct, spikes=args.spikes_field, itemnames=args.itemnames_field,
                        neuron_id=args.neuron_id_field, trialnum=args.trialnum_field)


def _layout_options(p: argparse.ArgumentParser) -> None:
    g = p.add_argument_group("source layout")
    g.add_argument("--struct", default="L2_str", help="name of the session struct (default L2_str)")
    g.add_argument("--spikes-field", default="spikes", help="field holding spikes{unit}{clip}{repeat}")
    g.add_argument("--itemnames-field", default="itemnames", help="field naming the clips")
    g.add_argument("--neuron-id-field", default="neuron_id", help="field naming the units")
    g.add_argument("--trialnum-field", default="trialnum", help="field giving each presentation's trial number")


@verb("example")
def _example(sub) -> None:
    p = sub.add_parser("example", help="write an example session (genuine MATLAB v7.3 file, known truth)")
    p.add_argument("out", type=Path, help="output .mat path, e.g. rec_fixshortvid1_coco.mat")
    p.add_argument("--units", type=int, default=16)
    p.add_argument("--clips", type=int, default=20)
    p.add_argument("--repeats", type=int, default=6)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--mat-format", choices=["7.3", "5"], default="7.3")
    p.add_argument("--frames", type=Path, help="also write clip frames (moving shapes) into this folder")
    p.add_argument("--model", help="with --frames: model folder whose activations the read-out units follow")
    p.add_argument("--readout", type=int, default=4, help="with --model: number of read-out units")
    p.add_argument("--overwrite", action="store_true")

    def run(args) -> int:
        from .io.atomic import atomic_output
        from .io.example import write_example_session

        if not (1 <= args.units <= 256 and 1 <= args.clips <= 200 and 1 <= args.repeats <= 8):
            raise NwbItError("sizes must be 1-256 units, 1-200 clips, 1-8 repeats", args.out)
        with atomic_output(args.out, args.overwrite) as tmp:
            if args.frames is not None and args.model is not None:
                from .model.example_truth import write_example_with_frames

                truth = write_example_with_frames(tmp, args.frames, args.model, args.units, args.clips,
                                                  args.repeats, args.seed, args.readout)
            else:
                truth = write_example_session(tmp, args.units, args.clips, args.repeats, args.seed,
                                              args.mat_format)
                if args.frames is not None:
                    from .io.example import example_clip_names
                    from .io.example_frames import write_example_frames

                    write_example_frames(args.frames, example_clip_names(args.clips))
        print(f"{args.out}  ({args.units} units, {truth.responsive.sum()} made responsive; {args.clips} clips; "
              f"{truth.n_repeats.sum()} presentations)")
        return 0
    p.set_defaults(func=run)


@verb("convert")
def _convert(sub) -> None:
    p = sub.add_parser("convert", help="convert .mat sessions into DANDI-layout NWB files")
    p.add_argument("sessions", nargs="+", type=Path, help="session .mat files (v7.3 or v5/v7)")
    p.add_argument("-o", "--out-dir", type=Path, required=True, help="output folder (DANDI layout inside)")
    p.add_argument("--metadata", type=Path, help="metadata YAML (NWBFile:, Subject:, Ecephys:, Units: sections)")
    p.add_argument("--overwrite", action="store_true", help="replace existing output files")
    _layout_options(p)

    def run(args) -> int:
        from tqdm.auto import tqdm

        from .io.convert import convert_session

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
    p = sub.add_parser("validate", help="pynwb schema validation + nwbinspector (DANDI config)")
    p.add_argument("paths", nargs="+", type=Path, help="NWB files or folders holding them")

    def run(args) -> int:
        from .io.validate import validate_nwb

        files = [f for p in args.paths for f in (sorted(p.rglob("*.nwb")) if p.is_dir() else [p])]
        if not files:
            raise NwbItError("no .nwb file found", args.paths[0])
        blocking = 0
        for path in files:
            findings = validate_nwb(path)
            for finding in findings:
                print(finding)
            blocking += sum(f.blocking for f in findings)
            print(f"{path}: {'OK' if not any(f.blocking for f in findings) else 'FAILED'} "
                  f"({len(findings)} finding(s), {sum(f.blocking for f in findings)} blocking)")
        return 1 if blocking else 0
    p.set_defaults(func=run)


@verb("reliability")
def _reliability(sub) -> None:
    p = sub.add_parser("reliability", help="split-half reliability and d' of every unit, stored in the NWB file")
    p.add_argument("nwb", type=Path)
    p.add_argument("--n-perm", type=int, default=100, help="random splits (and null splits) per unit")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--cutoff", type=float, default=3.0, help="responsive when d' > cutoff")
    p.add_argument("--bin", type=float, default=0.05, help="bin size in seconds")
    p.add_argument("--window", type=float, nargs=2, default=(-0.05, 0.30), metavar=("START", "END"),
                   help="analysis window around clip onset, seconds")
    p.add_argument("--export-pickle", type=Path, help="also write the seed's responsive-unit pickle here")

    def run(args) -> int:
        import numpy as np

        from .process.reliability import ReliabilityParams
        from .process.responsive import run_reliability

        params = ReliabilityParams(tuple(args.window), args.bin, args.n_perm, args.seed, args.cutoff)
        res = run_reliability(args.nwb, params, args.export_pickle, progress=True)
        d = res.dprime
        finite = d[np.isfinite(d)]
        print(f"{args.nwb}: {len(d)} units, {int(res.responsive.sum())} responsive (d' > {args.cutoff:g}), "
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
    p = sub.add_parser("heatmaps", help="firing-rate heatmaps and the reliability histograms")
    p.add_argument("nwb", type=Path)
    p.add_argument("-o", "--out-dir", type=Path, required=True)
    p.add_argument("--bin", type=float, default=0.01, help="bin size in seconds")
    p.add_argument("--window", type=float, nargs=2, default=(-0.05, 0.30), metavar=("START", "END"))
    p.add_argument("--normalize", choices=["zscore", "minmax", "none"], default="zscore")
    p.add_argument("--units", choices=["responsive", "all"], default="responsive")
    p.add_argument("--format", choices=["png", "pdf"], default="png")
    p.add_argument("--clip-duration", type=float, default=0.25, help="marks clip offset (s); 0 = no mark")

    def run(args) -> int:
        from .process.heatmaps import make_heatmaps

        paths = make_heatmaps(args.nwb, args.out_dir, args.bin, args.normalize, args.units, args.format,
                              tuple(args.window), args.clip_duration or None, progress=True)
        print(f"{len(paths)} figures in {args.out_dir}")
        return 0
    p.set_defaults(func=run)


@verb("extract-videomae")
def _extract(sub) -> None:
    p = sub.add_parser("extract-videomae", help="VideoMAE activations of the clips' sliding windows")
    p.add_argument("frames", type=Path, help="folder of clip frames (flat seed naming, or one sub-folder per clip)")
    p.add_argument("--nwb", type=Path, help="store the activations in this NWB file (matched to its trials)")
    p.add_argument("--npy", type=Path, help="also write the seed's hidden_states.npy (last layer)")
    p.add_argument("--model", default="MCG-NJU/videomae-base", help="Hugging Face id (local cache) or folder")
    p.add_argument("--batch-size", type=int, help="windows per forward pass (default 4 on CPU, 32 on GPU)")
    p.add_argument("--layers", default="last", help="last | all | comma-separated hidden_states indices")
    p.add_argument("--pool", choices=["mean", "max"], default="mean")
    p.add_argument("--pad", type=int, default=16, help="grey frames before and after each clip")
    p.add_argument("--grey", default="128", help="grey level 0-255 or a padding image file")
    p.add_argument("--fps", type=float, default=30.0, help="frame rate of the clips (window times)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default="auto")
    p.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default="float32")
    p.add_argument("--clip-map", type=Path, help="CSV clip_key,stimulus_name")

    def run(args) -> int:
        from .model.activations import run_extract
        from .model.videomae import ExtractionSettings

        if args.nwb is None and args.npy is None:
            raise NwbItError("nothing to write: pass --nwb FILE.nwb and/or --npy hidden_states.npy")
        grey = int(args.grey) if args.grey.isdigit() else args.grey
        settings = ExtractionSettings(model=args.model, layers=args.layers, pool=args.pool, pad=args.pad, grey=grey,
                                      fps=args.fps, device=args.device, dtype=args.dtype, batch_size=args.batch_size)
        acts = run_extract(args.frames, settings, args.nwb, args.npy, args.clip_map, progress=True)
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
    p = sub.add_parser("plot-activations", help="activation heatmaps per clip and a PCA trajectory")
    p.add_argument("nwb", type=Path)
    p.add_argument("-o", "--out-dir", type=Path, required=True)
    p.add_argument("--layer", default="last")
    p.add_argument("--format", choices=["png", "pdf"], default="png")

    def run(args) -> int:
        from .model.plots import plot_activations

        paths = plot_activations(args.nwb, args.out_dir, args.layer, args.format, progress=True)
        print(f"{len(paths)} figures in {args.out_dir}")
        return 0
    p.set_defaults(func=run)


@verb("compare")
def _compare(sub) -> None:
    p = sub.add_parser("compare", help="encoding model and RSA: VideoMAE activations vs IT responses")
    p.add_argument("nwb", type=Path)
    p.add_argument("--units", choices=["responsive", "all"], default="responsive")
    p.add_argument("--bin", type=float, default=0.05)
    p.add_argument("--window", type=float, nargs=2, default=(0.0, 0.40), metavar=("START", "END"))
    p.add_argument("--lags", default="0,0.025,0.05,0.075,0.1", help="latencies in seconds, comma-separated")
    p.add_argument("--folds", type=int, default=10)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--layer", default="last")
    p.add_argument("-o", "--out-dir", type=Path, help="folder for the figures")

    def run(args) -> int:
        import numpy as np

        from .process.compare import CompareParams
        from .process.comparison import run_compare

        try:
            lags = tuple(float(x) for x in args.lags.split(","))
        except ValueError:
            raise NwbItError(f"--lags {args.lags!r}: comma-separated seconds, e.g. 0,0.05,0.1") from None
        params = CompareParams(window=tuple(args.window), bin_size=args.bin, lags=lags, folds=args.folds,
                               seed=args.seed, layer=args.layer)
        enc, res = run_compare(args.nwb, params, args.units, args.out_dir)
        print(f"encoding: {len(enc.r)} units, median r {np.nanmedian(enc.r):.2f}, median ceiling "
              f"{np.nanmedian(enc.ceiling):.2f}, median r²/ceiling {np.nanmedian(enc.normalized):.2f}")
        print(f"RSA: Spearman rho {res.rho:.2f} over {len(res.clip_names)} clips (neural ceiling {res.ceiling:.2f})")
        return 0
    p.set_defaults(func=run)


@verb("demo")
def _demo(sub) -> None:
    p = sub.add_parser("demo", help="run every step on an example session and its clip frames")
    p.add_argument("out_dir", type=Path, nargs="?", default=Path("demo_out"))
    p.add_argument("--model", help="VideoMAE folder or cached id (default: a tiny random model built on the fly)")
    p.add_argument("--units", type=int, default=32)
    p.add_argument("--clips", type=int, default=30)
    p.add_argument("--repeats", type=int, default=6)
    p.add_argument("--overwrite", action="store_true")

    def run(args) -> int:
        from .demo import run_demo

        result = run_demo(args.out_dir, args.model, args.units, args.clips, args.repeats, overwrite=args.overwrite)
        for key, value in result.summary.items():
            print(f"{key:>14}: {value}")
        for key, path in result.files.items():
            print(f"{key:>14}: {path}")
        return 0
    p.set_defaults(func=run)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="nwb-it", description=(
        "Macaque IT recording sessions (.mat) and VideoMAE activations into DANDI-ready NWB files."))
    parser.add_argument("--version", action="version", version=f"nwb-it {__version__}")
    parser.add_argument("--debug", action="store_true", help="show tracebacks")
    sub = parser.add_subparsers(dest="verb", required=True, metavar="VERB")
    for add in VERBS.values():
        add(sub)
    return parser


def _one_line_warning(message, category, filename, lineno, file=None, line=None):
    print(f"nwb-it: warning: {message}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
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
