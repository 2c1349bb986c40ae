"""The end-to-end demo: example session and frames -> every pipeline step -> one NWB file, figures, a report.

Outputs follow the one layout of every verb and of ``nwb-it run``: ``OUT/<session>/<verb>/``.
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from ..core.errors import NwbItError
from ..core.output import OutputPolicy
from ..core.params import CompareParams, ExtractionParams, HeatmapParams
from ..io.atomic import atomic_output, refuse_existing
from ..nwb.validate import validate_nwb
from ..steps.compare import run_compare
from ..steps.convert import run_convert
from ..steps.extract import run_extract
from ..steps.heatmaps import run_heatmaps
from ..steps.plot_activations import run_plot_activations
from ..steps.reliability import run_reliability
from ..steps.report import run_report
from .random_model import save_random_videomae
from .readout import write_example_with_frames
from .session import example_metadata_path


@dataclass
class DemoResult:
    nwb: Path
    files: dict[str, Path] = field(default_factory=dict)
    summary: dict[str, str] = field(default_factory=dict)


def run_demo(out_dir: str | Path, model: str | Path | None = None, n_units: int = 32, n_clips: int = 30,
             n_repeats: int = 6, n_readout: int = 6, seed: int = 0, overwrite: bool = False) -> DemoResult:
    """example -> convert -> validate -> reliability -> heatmaps -> extract-videomae -> plot-activations -> compare.

    Without ``model`` a tiny random VideoMAE is built in a temporary folder. Everything
    is written under ``out_dir``.

    Examples
    --------
    >>> result = run_demo("demo_out", n_units=8, n_clips=12, n_repeats=4)   # doctest: +SKIP
    >>> result.summary["compare"]                                          # doctest: +SKIP
    """
    out_dir = Path(out_dir)
    mat = out_dir / "raw" / "demo_fixshortvid1_coco.mat"
    frames = out_dir / "raw" / "frames"
    result = DemoResult(nwb=out_dir)
    output = OutputPolicy(overwrite=overwrite)
    refuse_existing(mat, overwrite)             # before anything is written
    # the tiny model is kept beside the data: the NWB file's provenance names its folder
    model_dir = Path(model) if model is not None else save_random_videomae(out_dir / "raw" / "tiny_videomae", seed)
    with atomic_output(mat, overwrite) as tmp_mat:
        truth = write_example_with_frames(tmp_mat, frames, model_dir, n_units, n_clips, n_repeats, seed,
                                          n_readout)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nwb = run_convert(mat, example_metadata_path(), out_dir=out_dir / "nwb", output=output)
    figures = out_dir / nwb.stem                # OUT/<session>/, as every verb and nwb-it run write it
    rel = run_reliability(nwb)
    heat = run_heatmaps(nwb, HeatmapParams(), out_dir=figures / "heatmaps", output=output)
    acts = run_extract(frames, ExtractionParams(model=str(model_dir)), nwb_paths=[nwb],
                       npy_path=out_dir / "hidden_states.npy", output=output)
    act_figs = run_plot_activations(nwb, out_dir=figures / "activations" / "videomae", output=output)
    enc, rsa = run_compare(nwb, CompareParams(), out_dir=figures / "compare" / "videomae", output=output)["last"]
    report = run_report([nwb], out_dir=out_dir, stimuli=frames, output=output)
    blocking = [str(f) for f in validate_nwb(nwb) if f.blocking]
    if blocking:
        raise NwbItError(f"demo output fails validation: {blocking[0]}", nwb)
    made, found = truth.responsive, rel.responsive
    read = truth.readout[np.isin(np.arange(n_units), enc.unit_ids)]
    result.nwb = nwb
    result.files = {"session (.mat)": mat, "frames": frames, "model": model_dir, "NWB": nwb,
                    "hidden_states": out_dir / "hidden_states.npy",
                    "heatmaps": figures / "heatmaps", "activations": figures / "activations" / "videomae",
                    "compare": figures / "compare" / "videomae", "report": report[0], "index": report[-1]}
    result.summary = {
        "session": f"{n_units} units ({int(made.sum())} made responsive, {n_readout} of them model read-outs), "
                   f"{n_clips} clips, {int(truth.n_repeats.sum())} presentations",
        "validation": "pynwb + nwbinspector (DANDI config): nothing blocking",
        "reliability": f"{int(found.sum())} responsive (d' > {rel.params.cutoff:g}): {int((found & made).sum())} of "
                       f"the {int(made.sum())} made responsive, {int((found & ~made).sum())} others",
        "heatmaps": f"{len(heat)} figures",
        "activations": f"{len(acts.window)} windows of {len(acts.clip_keys)} clips ({len(act_figs)} figures)",
        "compare": f"median r²/ceiling: read-out units {np.nanmedian(enc.normalized[read]):.2f}, other responsive "
                   f"units {np.nanmedian(enc.normalized[~read]):.2f} (clip-shuffled baseline "
                   f"{np.nanmedian(enc.normalized_clip_shuffled[~read]):.2f}); RSA rho_halves/ceiling "
                   f"{rsa.normalized:.2f}",
    }
    return result
