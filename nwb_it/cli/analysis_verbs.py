"""Analysis verbs: reliability, heatmaps, compare."""
from __future__ import annotations

from pathlib import Path

from ..core.errors import NwbItError
from ..core.params import (
    NORMALIZATIONS,
    NULL_CHOICES,
    UNIT_CHOICES,
    CompareParams,
    HeatmapParams,
    ReliabilityParams,
    default,
)
from . import verb
from .options import command, overwrite_option, presentation_options, spec, window_options


@verb("reliability")
def _reliability(sub) -> None:
    p = command(sub, "reliability", "split-half reliability and d' of every unit, stored in the NWB file")
    p.add_argument("nwb", type=Path, help="NWB file written by nwb-it convert")
    p.add_argument("--n-perm", type=int, default=default(ReliabilityParams, "n_perm"),
                   help="random splits (and null splits) per unit")
    p.add_argument("--seed", type=int, default=default(ReliabilityParams, "seed"), help="random seed")
    p.add_argument("--cutoff", type=float, default=default(ReliabilityParams, "cutoff"),
                   help="responsive when d' > cutoff")
    window_options(p, ReliabilityParams)
    p.add_argument("--null", choices=NULL_CHOICES, default=default(ReliabilityParams, "null"),
                   help="d' null: a new deal of the presentations per null split, or the lab's single deal")
    p.add_argument("--n-null", type=int, default=default(ReliabilityParams, "n_null"),
                   help="most deals of the permutation test behind p_value")
    p.add_argument("--lab-compat", action="store_true",
                   help="the lab notebook's numbers exactly (its edges, silent repeats dropped, its random order)")
    p.add_argument("--export-pickle", type=Path, help="also write the lab's responsive-unit pickle here")
    p.add_argument("--store-binned", action="store_true",
                   help="also store the binned counts as BinnedAlignedSpikes (ndx-binned-spikes) for other tools")
    overwrite_option(p, "an existing --export-pickle file")
    presentation_options(p)

    def run(args) -> int:
        import numpy as np

        from ..steps.reliability import run_reliability

        params = ReliabilityParams(tuple(args.window), args.bin, args.n_perm, args.seed, args.cutoff, args.null,
                                   args.n_null, args.lab_compat)
        res = run_reliability(args.nwb, params, args.export_pickle, progress=True, presentations=spec(args),
                              store_binned=args.store_binned, overwrite=args.overwrite)
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
    p = command(sub, "heatmaps", "firing-rate heatmaps and the reliability histograms")
    p.add_argument("nwb", type=Path, help="NWB file (after nwb-it reliability for --units responsive)")
    p.add_argument("-o", "--out-dir", type=Path, required=True, help="folder for the figures")
    window_options(p, HeatmapParams)
    p.add_argument("--normalize", choices=NORMALIZATIONS, default=default(HeatmapParams, "normalize"),
                   help="per-unit scaling of the population heatmap")
    p.add_argument("--units", choices=UNIT_CHOICES, default=default(HeatmapParams, "units"), help="units to plot")
    p.add_argument("--format", choices=["png", "pdf"], default=default(HeatmapParams, "fmt"), help="figure format")
    p.add_argument("--clip-duration", type=float, default=default(HeatmapParams, "clip_duration"),
                   help="clip length (s) to mark the offset; default: from the activations table (frames / fps), "
                        "no mark when unknown")
    overwrite_option(p, "existing figures")
    presentation_options(p)

    def run(args) -> int:
        from ..steps.heatmaps import make_heatmaps

        params = HeatmapParams(tuple(args.window), args.bin, args.normalize, args.units, args.format,
                               args.clip_duration or None)
        paths = make_heatmaps(args.nwb, args.out_dir, params, progress=True, presentations=spec(args),
                              overwrite=args.overwrite)
        print(f"{len(paths)} figures in {args.out_dir}")
        return 0
    p.set_defaults(func=run)


@verb("compare")
def _compare(sub) -> None:
    p = command(sub, "compare", "encoding model and RSA: model activations vs IT responses")
    p.add_argument("nwb", type=Path, help="NWB file after reliability and extract-videomae")
    p.add_argument("--units", choices=UNIT_CHOICES, default=default(CompareParams, "units"), help="units to model")
    window_options(p, CompareParams, "PSTH window around clip onset (s)")
    p.add_argument("--lags", default=",".join(f"{x:g}" for x in default(CompareParams, "lags")),
                   help="latencies in seconds, comma-separated")
    p.add_argument("--folds", type=int, default=default(CompareParams, "folds"), help="outer folds (split by clip)")
    p.add_argument("--seed", type=int, default=default(CompareParams, "seed"), help="random seed")
    p.add_argument("--layers", "--layer", dest="layer", default=default(CompareParams, "layer"),
                   help="activations layer(s): one name, comma-separated names or indices, or all")
    p.add_argument("--activations", default="videomae_activations",
                   help="activations table to compare (as named by extract-activations --name)")
    p.add_argument("--rsa-windows", choices=["response", "all"], default=default(CompareParams, "rsa_windows"),
                   help="model RDM from a clip's windows in the response window, or from all of them")
    p.add_argument("--rsa-zscore", action="store_true", help="z-score each unit across clips before the neural RDM")
    p.add_argument("-o", "--out-dir", type=Path, help="folder for the figures")
    overwrite_option(p, "existing figures")
    presentation_options(p)

    def run(args) -> int:
        import numpy as np

        from ..steps.compare import run_compare_layers

        try:
            lags = tuple(float(x) for x in args.lags.split(","))
        except ValueError:
            raise NwbItError(f"--lags {args.lags!r}: comma-separated seconds, e.g. 0,0.05,0.1") from None
        params = CompareParams(window=tuple(args.window), bin_size=args.bin, lags=lags, folds=args.folds,
                               seed=args.seed, layer=args.layer, units=args.units, rsa_windows=args.rsa_windows,
                               rsa_zscore=args.rsa_zscore)
        results = run_compare_layers(args.nwb, params, args.out_dir, args.activations, spec(args), args.overwrite)
        if len(results) > 1:
            for layer, (enc, res) in results.items():
                s = enc.summary()
                print(f"{args.activations} {layer:>8}: median r²/ceiling {s['median']:.2f} ({s['ci_low']:.2f}.."
                      f"{s['ci_high']:.2f}), RSA rho/ceiling {res.normalized:.2f}")
            return 0
        enc, res = next(iter(results.values()))
        s = enc.summary()
        print(f"encoding: {len(enc.r)} units, median r {np.nanmedian(enc.r):.2f}, median ceiling "
              f"{np.nanmedian(enc.ceiling):.2f}, median r²/ceiling {s['median']:.2f} "
              f"(95% CI over clips {s['ci_low']:.2f}..{s['ci_high']:.2f}); above the clip-shuffled baseline by "
              f"{s['above_clip_shuffled']:.2f}, above onset-only by {s['above_onset_only']:.2f}")
        print(f"RSA: Spearman rho {res.rho:.2f} over {len(res.clip_names)} clips, ceiling {res.ceiling:.2f} "
              f"(rho/ceiling {res.normalized:.2f})")
        return 0
    p.set_defaults(func=run)
