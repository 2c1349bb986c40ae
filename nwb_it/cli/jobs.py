"""What each verb does to one file, as a picklable function ``job(path, ...) -> line``.

These are the units :func:`nwb_it.steps.batch.run_batch` sends to Dask workers (bound
with ``functools.partial``: frozen parameter dataclasses and plain values only), and the
line each returns is what the command line prints for that session.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from ..core.comparison import MIN_SHARE_UNITS
from ..core.locations import location_stem
from ..core.params import DEFAULT_FPS, CompareParams, HeatmapParams, PresentationSpec, ReliabilityParams


def per_session(out: Path | None, path: Path, many: bool, suffix: str = "") -> Path | None:
    """A file output (``--pickle``) of a many-file run is named after the session's file."""
    if out is None or not many:
        return out
    return Path(out) / f"{location_stem(path)}{suffix}"


def session_folder(out: Path | None, path: str | Path, *parts: str) -> Path | None:
    """``OUT/<session>/<parts>``: every verb's figures, one layout whatever the number of files (and ``run``'s)."""
    return None if out is None else Path(out, location_stem(path), *parts)


def model_folder(activations: str) -> str:
    """The folder of one model's figures: its table's name without ``_activations`` (``run``'s model name)."""
    return activations.removesuffix("_activations") or activations


def written_to(source: str | Path, target: str | Path | None, how: str = "\nresults written into") -> str:
    """Where results went (or were read from) when that is not the file given: its derivative; else ""."""
    return "" if target is None or str(target) == str(source) else f"{how} its derivative {target}"


def convert_job(mat: Path, out_dir: Path, metadata: dict[Path, dict], origin: str | None, overwrite: bool, layout,
                max_spike_time: float, strict: bool, progress: bool = False, force: bool = False,
                stimuli: Path | None = None, stimuli_fps: float = DEFAULT_FPS, clip_map: Path | None = None,
                readers: int | None = None) -> str:
    """Convert one planned session; ``metadata`` maps each (absolute) source path to its checked metadata.
    ``readers``: processes reading its spike cells (None: its cores, :func:`~nwb_it.steps.convert.run_convert`)."""
    from ..steps.convert import run_convert

    return str(run_convert(mat, metadata[Path(mat).absolute()], out_dir=out_dir, overwrite=overwrite, layout=layout,
                           progress=progress, max_spike_time=max_spike_time, strict=strict, metadata_origin=origin,
                           force=force, stimuli=stimuli, stimuli_fps=stimuli_fps, clip_map=clip_map, readers=readers))


def validate_job(path: Path) -> tuple[str, str]:
    from ..nwb.validate import validate_nwb

    findings = validate_nwb(path)
    n_block = sum(f.blocking for f in findings)
    lines = [str(f) for f in findings]
    lines.append(f"{path}: {'FAILED' if n_block else 'OK'} ({len(findings)} finding(s), {n_block} blocking)")
    return ("findings" if n_block else "ok"), "\n".join(lines)


def reliability_job(nwb: Path, params: ReliabilityParams, pickle_out: Path | None, many: bool,
                    presentations: PresentationSpec, store_binned: bool, overwrite: bool,
                    progress: bool = False, force: bool = False, out_dir: Path | None = None,
                    derivative_dir: Path | None = None) -> str:
    from ..steps.reliability import run_reliability

    pickle_path = per_session(pickle_out, nwb, many, "_responsive.pkl")
    folder = session_folder(out_dir, nwb, "reliability")
    res = run_reliability(nwb, params, out_dir=folder, pickle_path=pickle_path, progress=progress,
                          presentations=presentations, store_binned=store_binned, overwrite=overwrite, force=force,
                          derivative_dir=derivative_dir)
    d = res.dprime
    finite = d[np.isfinite(d)]
    tested = "" if params.lab_compat else f", {int((res.q_value < 0.05).sum())} with q < 0.05"
    lines = [f"{nwb}: {len(d)} units, {int(res.responsive.sum())} responsive (d' > {params.cutoff:g}){tested}, "
             f"{len(d) - finite.size} undefined"]
    if finite.size:
        q = np.percentile(finite, [0, 25, 50, 75, 100])
        lines.append("d' min/25%/median/75%/max: " + " / ".join(f"{v:.2f}" for v in q))
    if pickle_path is not None:
        lines.append(f"responsive units' spikes: {pickle_path}")
    if folder is not None:
        lines.append(f"histograms: {folder}")
    return "\n".join(lines) + written_to(nwb, res.written_to)


def heatmaps_job(nwb: Path, out_dir: Path, many: bool, params: HeatmapParams, presentations: PresentationSpec,
                 overwrite: bool, progress: bool = False, force: bool = False, derivative_dir: Path | None = None
                 ) -> str:
    from ..steps.heatmaps import run_heatmaps
    from ..steps.targets import results_source

    folder = session_folder(out_dir, nwb, "heatmaps")
    source = results_source(nwb, derivative_dir, presentations=presentations)
    paths = run_heatmaps(source, params, out_dir=folder, progress=progress, presentations=presentations,
                         overwrite=overwrite, force=force)
    return f"{nwb}: {len(paths)} figures in {folder}{written_to(nwb, source, '; results read from')}"


def plot_activations_job(nwb: Path, out_dir: Path, params, overwrite: bool, progress: bool = False,
                         force: bool = False, derivative_dir: Path | None = None) -> str:
    from ..steps.plot_activations import run_plot_activations
    from ..steps.targets import results_source

    folder = session_folder(out_dir, nwb, "activations", model_folder(params.activations))
    source = results_source(nwb, derivative_dir)
    paths = run_plot_activations(source, params, out_dir=folder, progress=progress, overwrite=overwrite, force=force)
    return f"{nwb}: {len(paths)} figures in {folder}{written_to(nwb, source, '; read from')}"


def compare_job(nwb: Path, params: CompareParams, out_dir: Path | None, many: bool, activations: str,
                presentations: PresentationSpec, overwrite: bool, force: bool = False,
                derivative_dir: Path | None = None) -> str:
    from ..steps.compare import run_compare

    folder = session_folder(out_dir, nwb, "compare", model_folder(activations))
    results = run_compare(nwb, params, out_dir=folder, activations=activations,
                          presentations=presentations, overwrite=overwrite, force=force,
                          derivative_dir=derivative_dir, progress=not many)
    if len(results) > 1:
        lines = [f"{nwb}:"]
        for layer, (enc, res) in results.items():
            s = enc.summary()
            lines.append(f"{activations} {layer:>8}: median r²/ceiling {s['median']:.2f} ({s['ci_low']:.2f}.."
                         f"{s['ci_high']:.2f}), RSA rho_halves/ceiling {res.normalized:.2f}")
        if results.partition is not None:
            bands = results.partition.summary()
            n = next(iter(bands.values()))["units"]
            lines.append(f"variance partition ({n} units with a reliable joint model), median share of the held-out "
                         "R²: " + (", ".join(f"{b} {v['median_share']:.2f} ({v['share_ci_low']:.2f}.."
                                             f"{v['share_ci_high']:.2f})" for b, v in bands.items())
                                   if n >= MIN_SHARE_UNITS else f"not reported (fewer than {MIN_SHARE_UNITS} units)"))
        return "\n".join(lines) + written_to(nwb, results.written_to)
    enc, res = next(iter(results.values()))
    s = enc.summary()
    return (f"{nwb}:\nencoding: {len(enc.r)} units, median r {np.nanmedian(enc.r):.2f}, median ceiling "
            f"{np.nanmedian(enc.ceiling):.2f}, median r²/ceiling {s['median']:.2f} "
            f"(95% CI over clips {s['ci_low']:.2f}..{s['ci_high']:.2f}); above the clip-shuffled baseline by "
            f"{s['above_clip_shuffled']:.2f}, above onset-only by {s['above_onset_only']:.2f}\n"
            f"RSA: Spearman rho {res.rho:.2f} over {len(res.clip_names)} clips (with half-data RDMs "
            f"{res.rho_halves:.2f}), ceiling {res.ceiling:.2f} (rho_halves/ceiling {res.normalized:.2f})"
            + (f"; {res.ceiling_note}" if res.ceiling_note else "") + written_to(nwb, results.written_to)
            + (f"\nfigures: {folder}" if folder is not None else ""))


def extract_job(frames: Path, settings, targets: list[Path], npy: Path | None, clip_map: Path | None,
                cache: Path | None, table: str, presentations: PresentationSpec, overwrite: bool,
                progress: bool = False, debug: bool = False, force: bool = False, derivative_dir: Path | None = None):
    """Activations once, written into every target: a line on what ran, and one outcome per target."""
    from ..steps.extract import run_extract_batch

    acts, outcomes = run_extract_batch(frames, settings, nwb_paths=targets, npy_path=npy, clip_map=clip_map,
                                       activations=table, presentations=presentations, cache_dir=cache,
                                       overwrite=overwrite, progress=progress, force=force, debug=debug,
                                       derivative_dir=derivative_dir)
    if acts is None:
        return "no file matched the clips: nothing computed", outcomes
    total = len(acts.window)
    how = ("read from the cache, no model run" if acts.cached else
           f"{acts.n_forward_windows} computed, {total - acts.n_forward_windows} all-grey windows reused")
    line = (f"{acts.provenance.get('family', settings.family)}: {len(acts.clip_keys)} clips, {total} windows ({how}), "
            f"layers {', '.join(acts.layers)}" + (f"\n{npy}" if npy else ""))
    return line, outcomes
