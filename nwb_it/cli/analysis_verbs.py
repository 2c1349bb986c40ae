"""Analysis verbs: reliability, heatmaps, compare."""
from __future__ import annotations

from functools import partial
from pathlib import Path

from ..core.errors import NwbItError
from ..core.params import (
    DEFAULT_ACTIVATIONS,
    FIGURE_FORMATS,
    NORMALIZATIONS,
    NULL_CHOICES,
    RIDGE_BACKENDS,
    RSA_DISTANCES,
    SELECTIONS,
    UNIT_CHOICES,
    CompareParams,
    HeatmapParams,
    ReliabilityParams,
    default,
)
from . import verb
from .options import (
    absolute,
    batch_options,
    command,
    derivative_option,
    location,
    output_policy,
    overwrite_option,
    params_from,
    presentation_options,
    reading_derivative_option,
    run_many,
    spec,
    unique_stems,
    window_options,
)


@verb("reliability")
def _reliability(sub) -> None:
    p = command(sub, "reliability", "split-half reliability and d' of every unit, stored in the NWB file")
    p.add_argument("nwb", type=location, nargs="+", help="NWB file(s): paths, http(s) URLs or DANDI:<dandiset>/<path>")
    p.add_argument("--n-perm", type=int, default=default(ReliabilityParams, "n_perm"),
                   help="random splits (and null splits) per unit")
    p.add_argument("--seed", type=int, default=default(ReliabilityParams, "seed"), help="random seed")
    p.add_argument("--cutoff", type=float, default=default(ReliabilityParams, "cutoff"),
                   help="responsive when d' > cutoff")
    window_options(p, ReliabilityParams)
    p.add_argument("--null", choices=NULL_CHOICES, default=default(ReliabilityParams, "null"),
                   help="d' null: a new deal of the presentations per null split, or the lab's single deal")
    p.add_argument("--n-null", type=int, default=default(ReliabilityParams, "n_null"),
                   help="deals of the permutation test for every unit with p <= 0.1 after 100")
    p.add_argument("--n-null-max", type=int, default=default(ReliabilityParams, "n_null_max"),
                   help="most deals of a unit still beyond (almost) all of them after --n-null (sequential test: "
                        "small enough p-values for Benjamini-Hochberg over many units)")
    p.add_argument("--lab-compat", action="store_true",
                   help="the lab notebook's numbers exactly (its edges, silent repeats dropped, its random order)")
    p.add_argument("--export-pickle", type=Path, help="also write the lab's responsive-unit pickle here (with several "
                   "files: a folder, one <file>_responsive.pkl each)")
    p.add_argument("-o", "--out-dir", type=Path, help="also draw the r² (true vs null) and d' histograms, into "
                   "OUT/<session>/reliability/")
    derivative_option(p)
    p.add_argument("--store-binned", action="store_true",
                   help="also store the binned counts as BinnedAlignedSpikes (ndx-binned-spikes) for other tools")
    overwrite_option(p, "an existing --export-pickle file")
    presentation_options(p)

    batch_options(p)

    def run(args) -> int:
        from ..steps.reliability import reliability_job
        from .lines import reliability_line

        params = params_from(ReliabilityParams, args)
        many = len(args.nwb) > 1
        if many and (args.export_pickle or args.out_dir):
            unique_stems(args.nwb, "pickle" if args.export_pickle else "figure folder")
        job = partial(reliability_job, params=params, pickle_out=absolute(args.export_pickle),
                      out_dir=absolute(args.out_dir), many=many, presentations=spec(args),
                      store_binned=args.store_binned, output=output_policy(args))
        return run_many(args, job, args.nwb, line=reliability_line)
    p.set_defaults(func=run)


@verb("heatmaps")
def _heatmaps(sub) -> None:
    p = command(sub, "heatmaps", "firing-rate heatmaps and the reliability histograms")
    p.add_argument("nwb", type=location, nargs="+", help="NWB file(s), paths or URLs (after nwb-it reliability for "
                   "--units responsive)")
    p.add_argument("-o", "--out-dir", type=Path, required=True,
                   help="output folder: the figures go into OUT/<session>/heatmaps/, whatever the number of files")
    window_options(p, HeatmapParams)
    p.add_argument("--normalize", choices=NORMALIZATIONS, default=default(HeatmapParams, "normalize"),
                   help="per-unit scaling of the population heatmap")
    p.add_argument("--units", choices=UNIT_CHOICES, default=default(HeatmapParams, "units"), help="units to plot")
    p.add_argument("--format", choices=FIGURE_FORMATS, default=default(HeatmapParams, "fmt"), help="figure format")
    p.add_argument("--clip-duration", type=float, default=default(HeatmapParams, "clip_duration"),
                   help="clip length (s) to mark the offset; default: from the activations table (frames / fps), "
                        "no mark when unknown")
    overwrite_option(p, "existing figures")
    presentation_options(p)
    reading_derivative_option(p)

    batch_options(p)

    def run(args) -> int:
        from ..steps.heatmaps import heatmaps_job
        from .lines import heatmaps_line

        params = params_from(HeatmapParams, args, clip_duration=args.clip_duration or None)
        many = len(args.nwb) > 1
        if many:
            unique_stems(args.nwb, "figure folder")
        job = partial(heatmaps_job, out_dir=absolute(args.out_dir), params=params, presentations=spec(args),
                      output=output_policy(args))
        return run_many(args, job, args.nwb, line=heatmaps_line)
    p.set_defaults(func=run)


@verb("compare")
def _compare(sub) -> None:
    p = command(sub, "compare", "encoding model and RSA: model activations vs IT responses")
    p.add_argument("nwb", type=location, nargs="+", help="NWB file(s), paths or URLs, after reliability and "
                   "extract-videomae (a remote file's derivative from --derivative-dir)")
    p.add_argument("--units", choices=UNIT_CHOICES, default=default(CompareParams, "units"), help="units to model")
    window_options(p, CompareParams, "PSTH window around clip onset (s)")
    p.add_argument("--lags", default=",".join(f"{x:g}" for x in default(CompareParams, "lags")),
                   help="latencies in seconds, comma-separated")
    p.add_argument("--folds", type=int, default=default(CompareParams, "folds"),
                   help="outer folds, split by clip (fewer where a fold would hold fewer than 5 clips)")
    p.add_argument("--seed", type=int, default=default(CompareParams, "seed"), help="random seed")
    p.add_argument("--layers", "--layer", dest="layer", default=default(CompareParams, "layer"),
                   help="activations layer(s): one name, comma-separated names or indices, or all")
    p.add_argument("--activations", default=DEFAULT_ACTIVATIONS,
                   help="activations table to compare (as named by extract-activations --name)")
    p.add_argument("--rsa-windows", choices=["response", "all"], default=default(CompareParams, "rsa_windows"),
                   help="model RDM from a clip's windows in the response window, or from all of them")
    p.add_argument("--rsa-zscore", action="store_true", help="z-score each unit across clips before the neural RDM")
    p.add_argument("--rsa-distance", choices=RSA_DISTANCES, default=default(CompareParams, "rsa_distance"),
                   help="neural RDM: cross-validated across halves of the repeats (crossnobis, poisson) or the old "
                        "1 - Pearson of repeat means (correlation: biased by unequal repeats)")
    p.add_argument("--selection", choices=SELECTIONS, default=default(CompareParams, "selection"),
                   help="responsive units from the reliability table, or chosen on half of the repeats and scored "
                        "on the other half (split: no double dipping)")
    p.add_argument("--min-ceiling", type=float, default=default(CompareParams, "min_ceiling"),
                   help="a unit (a time bin of a unit) counts in the medians when the lower end of its PSTH ceiling's "
                        "95 %% interval is above this; the others are reported only")
    p.add_argument("--backend", choices=RIDGE_BACKENDS, default=default(CompareParams, "backend"),
                   help="himalaya backend of the ridge (auto: torch_cuda with a GPU, else numpy)")
    p.add_argument("--n-pcs", type=int, default=default(CompareParams, "n_pcs"),
                   help="principal components of each layer (fitted on the training clips) the ridge uses")
    p.add_argument("--banded", action="store_true",
                   help="with several layers: also one banded ridge over them (a band each) and each band's share "
                        "of every unit's held-out R² (table variance_partition)")
    p.add_argument("--banded-iter", type=int, default=default(CompareParams, "banded_iter"),
                   help="band weights the banded ridge's random search tries")
    p.add_argument("-o", "--out-dir", type=Path,
                   help="output folder: the figures go into OUT/<session>/compare/<model>/")
    derivative_option(p)
    overwrite_option(p, "existing figures")
    presentation_options(p)

    batch_options(p)

    def run(args) -> int:
        from ..steps.compare import compare_job
        from .lines import compare_line

        try:
            lags = tuple(float(x) for x in args.lags.split(","))
        except ValueError:
            raise NwbItError(f"--lags {args.lags!r}: comma-separated seconds, e.g. 0,0.05,0.1") from None
        params = params_from(CompareParams, args, lags=lags)
        many = len(args.nwb) > 1
        if many and args.out_dir:
            unique_stems(args.nwb, "figure folder")
        job = partial(compare_job, params=params, out_dir=absolute(args.out_dir), activations=args.activations,
                      presentations=spec(args), output=output_policy(args))
        return run_many(args, job, args.nwb, line=compare_line)
    p.set_defaults(func=run)
