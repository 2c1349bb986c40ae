"""Model verbs: extract-videomae, extract-activations, plot-activations."""
from __future__ import annotations

from functools import partial
from pathlib import Path

from ..core.errors import NwbItError
from ..core.params import DEFAULT_ACTIVATIONS, FIGURE_FORMATS, ActivationPlotParams, ExtractionParams, default
from ..models.registry import FAMILIES
from . import verb
from .cluster_options import cluster_options, cluster_params
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
    report,
    run_many,
    spec,
    unique_stems,
)


def _extraction(sub, name: str, help_text: str, generic: bool) -> None:
    p = command(sub, name, help_text)
    p.add_argument("frames", type=Path, nargs="?", help="folder of clip frames (flat lab naming, or one sub-folder "
                   "per clip) or of video files, one per clip (mp4/avi/mov/mkv: the stem is the clip key, the video "
                   "gives fps); omitted: the clips the first --nwb file's stimulus templates name")
    p.add_argument("--nwb", type=location, nargs="+", default=[],
                   help="store the activations in these NWB files (each matched to its trials; computed once)")
    p.add_argument("--cache", type=Path, help="activations cache folder: reuse what this model, these frames and "
                   "these settings gave before (content-addressed), store what is computed")
    p.add_argument("--npy", type=Path, help="also write the lab's hidden_states.npy (last layer)")
    p.add_argument("--model", default=default(ExtractionParams, "model"),
                   help="Hugging Face id (local cache only) or model folder")
    if generic:
        p.add_argument("--name", help="name of the activations table (default: <family>_activations)")
        p.add_argument("--family", choices=sorted(FAMILIES), help="model family (default: from the folder's config)")
    p.add_argument("--batch-size", type=int, help="windows per forward pass (default: 4 on the CPU; on a GPU the "
                   "largest power of two up to 64 whose activations fit in half its free memory)")
    p.add_argument("--layers", default=default(ExtractionParams, "layers"),
                   help="last | all | comma-separated hidden_states indices")
    p.add_argument("--pool", choices=["mean", "max"], default=default(ExtractionParams, "pool"),
                   help="pooling of the tokens that stand for 'now'")
    p.add_argument("--pad", type=int, default=default(ExtractionParams, "pad"),
                   help="grey frames before and after each clip")
    p.add_argument("--grey", default=str(default(ExtractionParams, "grey")),
                   help="grey level 0-255 or a padding image file")
    p.add_argument("--fps", type=float, default=default(ExtractionParams, "fps"),
                   help="frame rate of the clips (window times)")
    p.add_argument("--stimuli-root", type=Path, help="without a frames folder, the clips come from the first file's "
                   "stimulus templates, read only inside that file's folder: allow files under this folder instead "
                   "(e.g. a dataset's stimuli/ beside its sub-*/ folders)")
    p.add_argument("--vfr", choices=["refuse", "resample"], default=default(ExtractionParams, "vfr"),
                   help="a variable-frame-rate video: refuse it, or resample it to its average rate (the frame shown "
                        "at each 1/fps tick)")
    p.add_argument("--device", choices=["auto", "cpu", "cuda"], default=default(ExtractionParams, "device"),
                   help="where the model runs")
    p.add_argument("--dtype", choices=["float32", "bfloat16", "float16"], default=default(ExtractionParams, "dtype"),
                   help="model precision (reduced precision on a GPU only)")
    p.add_argument("--clip-map", type=Path, help="CSV clip_key,stimulus_name")
    g = p.add_argument_group("parallel work")
    g.add_argument("--workers", type=int, help="frame decode threads (default: this machine's cores, at most 8)")
    g.add_argument("--scheduler", metavar="ADDRESS", help="run the extraction (and the writes) as one task on a "
                   "running dask.distributed scheduler, e.g. a GPU worker's cluster; paths must be on shared storage")
    cluster_options(p)
    overwrite_option(p, "an existing --npy file")
    derivative_option(p)
    presentation_options(p)

    def run(args) -> int:
        from ..models.registry import family_of
        from ..steps.extract import extract_job
        from .lines import extract_line, written_line

        if not args.nwb and args.npy is None:
            raise NwbItError("nothing to write: pass --nwb FILE.nwb and/or --npy hidden_states.npy")
        grey = int(args.grey) if args.grey.isdigit() else args.grey
        family = (args.family or family_of(args.model)) if generic else "videomae"
        table = (args.name or f"{family}_activations") if generic else DEFAULT_ACTIVATIONS
        settings = params_from(ExtractionParams, args, grey=grey, family=family,
                               stimuli_root=None if args.stimuli_root is None else str(args.stimuli_root.absolute()))
        job = partial(extract_job, absolute(args.frames), settings, [absolute(t) for t in args.nwb], absolute(args.npy),
                      absolute(args.clip_map), absolute(args.cache), table, spec(args), output_policy(args),
                      debug=args.debug)
        cluster = cluster_params(args)
        if args.print_job_script:
            from ..steps.clusters import job_script

            if cluster is None:
                raise NwbItError("--print-job-script needs --cluster slurm, pbs or lsf")
            print(job_script(cluster))
            return 0
        if args.scheduler or cluster is not None:
            from ..steps.clusters import placement
            from ..steps.dask_client import cluster_client

            with cluster_client(1, args.scheduler, cluster) as client:     # on a GPU worker where there is one
                row, outcomes = client.submit(job, pure=False, **(placement(client, gpu=True) or (
                    {"resources": {"GPU": 1}} if cluster is not None and cluster.gpus else {}))).result()
        else:
            row, outcomes = job()                         # bars: the command line's verbose()
        print(extract_line(row))
        return report(outcomes, line=written_line)
    p.set_defaults(func=run)


@verb("extract-videomae")
def _extract_videomae(sub) -> None:
    _extraction(sub, "extract-videomae", "VideoMAE activations of the clips' sliding windows (the lab's numbers)",
                generic=False)


@verb("extract-activations")
def _extract_activations(sub) -> None:
    _extraction(sub, "extract-activations", "activations of any supported model family (video: sliding windows; "
                "image: one window per frame), into a table of its own", generic=True)


@verb("plot-activations")
def _plot_activations(sub) -> None:
    p = command(sub, "plot-activations", "activation heatmaps per clip and a PCA trajectory")
    p.add_argument("nwb", type=location, nargs="+", help="NWB file(s) holding an activations table (paths, URLs)")
    p.add_argument("-o", "--out-dir", type=Path, required=True,
                   help="output folder: the figures go into OUT/<session>/activations/<model>/")
    p.add_argument("--activations", default=default(ActivationPlotParams, "activations"),
                   help="activations table to plot (processing/misc/<NAME>, e.g. timesformer_activations)")
    p.add_argument("--layer", default=default(ActivationPlotParams, "layer"), help="layer to plot")
    p.add_argument("--format", choices=FIGURE_FORMATS, default=default(ActivationPlotParams, "fmt"),
                   help="figure format")
    overwrite_option(p, "existing figures (the previous run's set: its stale figures are removed)")
    reading_derivative_option(p)
    batch_options(p)

    def run(args) -> int:
        from ..steps.plot_activations import plot_activations_job
        from .lines import plot_activations_line

        params = params_from(ActivationPlotParams, args)
        if len(args.nwb) > 1:
            unique_stems(args.nwb, "figure folder")
        job = partial(plot_activations_job, out_dir=absolute(args.out_dir), params=params, output=output_policy(args))
        return run_many(args, job, args.nwb, line=plot_activations_line)
    p.set_defaults(func=run)
