"""Verbs that make and check files: example, convert, validate, demo, summary."""
from __future__ import annotations

import argparse
from functools import partial
from pathlib import Path

from ..core.errors import NwbItError
from ..core.params import DEFAULT_FPS, default
from ..formats.l2str.reader import MAX_SPIKE_TIME_S, SourceLayout
from . import verb
from .options import absolute, batch_options, command, output_policy, overwrite_option, run_many


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
    p = command(sub, "example", "write an example session (genuine MATLAB file, known truth)")
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
        from ..examples import example_clip_names, write_example_frames, write_example_session
        from ..io.atomic import atomic_output

        if not (1 <= args.units <= 256 and 1 <= args.clips <= 200 and 1 <= args.repeats <= 8):
            raise NwbItError("--units 1-256, --clips 1-200, --repeats 1-8")
        with atomic_output(args.out, args.overwrite) as tmp:
            if args.frames is not None and args.model is not None:
                from ..examples.readout import write_example_with_frames

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


@verb("example-model")
def _example_model(sub) -> None:
    from ..models.registry import FAMILIES

    p = command(sub, "example-model", "save a tiny random model of a family into a folder (offline, for trying "
                "nwb_it; real weights: a folder saved with save_pretrained)")
    p.add_argument("out", type=Path, help="model folder to create")
    p.add_argument("--family", choices=sorted(FAMILIES), default="videomae", help="model family")
    p.add_argument("--seed", type=int, default=0, help="random seed of the weights")
    overwrite_option(p, "an existing folder")

    def run(args) -> int:
        from ..examples.random_model import save_random_model
        from ..io.atomic import atomic_folder

        with atomic_folder(args.out, args.overwrite, args.force) as tmp:
            save_random_model(tmp, args.family, args.seed)
        print(f"{args.out}  (tiny random {args.family}; pass it as --model {args.out})")
        return 0
    p.set_defaults(func=run)


@verb("convert")
def _convert(sub) -> None:
    p = command(sub, "convert", "convert .mat sessions into DANDI-layout NWB files")
    p.add_argument("sessions", nargs="+", type=Path, help="session .mat files (v7.3 or v5/v7)")
    p.add_argument("-o", "--out-dir", type=Path, required=True, help="output folder (DANDI layout inside)")
    p.add_argument("--metadata", type=Path, help="metadata YAML shared by every session (NWBFile:, Subject:, "
                   "Ecephys:, Units: sections)")
    p.add_argument("--session-table", type=Path, help="per-session metadata, CSV or YAML: a row per file "
                   "(column 'file') with fields such as session_id, session_start_time, age, merged over --metadata")
    overwrite_option(p, "existing output files")
    p.add_argument("--max-spike-time", type=float, default=MAX_SPIKE_TIME_S,
                   help="largest plausible |spike time| from clip onset (s); beyond it the file is refused")
    p.add_argument("--strict", action="store_true",
                   help="refuse (instead of warning) metadata that dandi validate would flag, e.g. no subject age")
    p.add_argument("--stimuli", type=Path, help="the clips shown (a frames or video folder, as extract-activations "
                   "takes): stored as /stimulus/templates pointing at these files, each trial linked to its clip")
    p.add_argument("--stimuli-fps", type=float, default=DEFAULT_FPS,
                   help="frame rate of clips given as frame files (a video's own rate is kept)")
    p.add_argument("--clip-map", type=Path, help="CSV clip_key,stimulus_name where clip names and trials differ")
    _layout_options(p)

    batch_options(p)

    def run(args) -> int:
        from ..steps.convert import convert_job, plan_conversions
        from .lines import convert_line

        plans = plan_conversions(args.sessions, args.out_dir, absolute(args.metadata), args.session_table)
        single = len(plans) == 1
        job = partial(convert_job, out_dir=absolute(args.out_dir),
                      metadata={absolute(p.source): p.metadata for p in plans},
                      origin=plans[0].origin if plans else None, output=output_policy(args), layout=_layout(args),
                      max_spike_time=args.max_spike_time, strict=args.strict, stimuli=absolute(args.stimuli),
                      stimuli_fps=args.stimuli_fps, clip_map=absolute(args.clip_map),
                      # one file reads with this machine's cores (--workers 1: one); a batch runs its sessions
                      # in parallel instead, one reader each
                      readers=None if single and args.workers != 1 else 1)
        return run_many(args, job, [p.source for p in plans], line=convert_line)
    p.set_defaults(func=run)


@verb("validate")
def _validate(sub) -> None:
    p = command(sub, "validate", "pynwb schema validation + nwbinspector (DANDI config)")
    p.add_argument("paths", nargs="+", type=Path, help="NWB files or folders holding them")

    batch_options(p)

    def run(args) -> int:
        from ..io.atomic import TEMP_PATTERN
        from ..steps.jobs import validate_job
        from .lines import validate_line

        # a folder's nwb_it temporaries (a write in progress, or a killed one's leftovers) are not files to check
        files = [f for p in args.paths for f in (sorted(p.rglob("*.nwb")) if p.is_dir() else [p])
                 if not (p.is_dir() and TEMP_PATTERN.match(f.name))]
        if not files:
            raise NwbItError("no .nwb file found", args.paths[0])
        return run_many(args, validate_job, files, desc="files", line=validate_line)
    p.set_defaults(func=run)


@verb("demo")
def _demo(sub) -> None:
    p = command(sub, "demo", "run every step on an example session and its clip frames")
    p.add_argument("out_dir", type=Path, nargs="?", default=Path("demo_out"), help="output folder")
    p.add_argument("--model", help="VideoMAE folder or cached id (default: a tiny random model built on the fly)")
    p.add_argument("--units", type=int, default=32, help="units of the example session")
    p.add_argument("--clips", type=int, default=30, help="clips of the example session")
    p.add_argument("--repeats", type=int, default=6, help="repeats per clip")
    p.add_argument("--overwrite", action="store_true", help="replace an earlier demo's files")

    def run(args) -> int:
        from ..examples.demo import run_demo

        result = run_demo(args.out_dir, args.model, args.units, args.clips, args.repeats, overwrite=args.overwrite)
        for key, value in result.summary.items():
            print(f"{key:>14}: {value}")
        for key, path in result.files.items():
            print(f"{key:>14}: {path}")
        return 0
    p.set_defaults(func=run)


@verb("summary")
def _summary(sub) -> None:
    p = command(sub, "summary", "one table (CSV) and figures across the NWB files of a folder")
    p.add_argument("folder", type=Path, help="folder holding NWB files (searched recursively)")
    p.add_argument("-o", "--out-dir", type=Path, required=True, help="folder for summary.csv and the figures")
    overwrite_option(p, "an earlier summary")

    def run(args) -> int:
        from ..steps.summary import SummaryIncomplete, run_summary

        try:
            outputs = run_summary(args.folder, out_dir=args.out_dir, output=output_policy(args))
        except SummaryIncomplete as partial:            # the good sessions are written: say where, then the error
            print("\n".join(str(p) for p in partial.outputs))
            raise
        for path in outputs:
            print(path)
        return 0
    p.set_defaults(func=run)
