"""``nwb-it extract-videomae``: model activations of the clips, stored in the session's NWB file.

The table is ``processing/misc/videomae_activations`` (see :mod:`nwb_it.nwb.activations`).
Clips are matched to the trials' ``stimulus_name`` (or the source's ``itemnames``, for
clips never shown): exactly; else through a CSV ``clip_key,stimulus_name``; else after
normalizing both (lower case, extension dropped, runs of space/-/. turned into _,
leading zeros of numbers dropped).
"""
from __future__ import annotations

import warnings
from collections.abc import Sequence
from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from ..core.errors import NwbItError
from ..core.output import OutputPolicy
from ..core.params import DEFAULT_ACTIVATIONS, ExtractionParams, PresentationSpec
from ..core.results import Activations
from ..io.atomic import atomic_output, refuse_existing, refuse_same_file
from ..models.cache import cached_extract
from ..models.frames import Clip, discover_clips
from ..models.windows import extract
from ..nwb.activations import MODULE, MODULE_DESCRIPTION, activations_table
from ..nwb.io import reading, replace_in_module
from ..nwb.recording import file_clips, read_presentations
from ..nwb.remote import is_remote
from .outcome import Outcome, run_job
from .stimuli import clips_from_file, match_clips, read_clip_map
from .targets import results_target


def write_npy(acts: Activations, path: str | Path, layer: str = "last", output: OutputPolicy = OutputPolicy()
              ) -> None:
    """The lab's hidden_states.npy: (total windows, hidden), clips in order, windows in order."""
    with atomic_output(Path(path), output.overwrite, output.force) as tmp, open(tmp, "wb") as fh:
        np.save(fh, acts.layers[layer])


def session_clips(nwb_path: str | Path, presentations: PresentationSpec = PresentationSpec()) -> dict[str, int]:
    """Every clip name of the session -> its clip index (shown clips, and for nwb_it's files the source's items)."""
    with reading(nwb_path) as nwb:
        return file_clips(nwb, read_presentations(nwb, presentations))


def _target_names(nwb_path: Path, keys: list[str], clip_map: dict[str, str] | None, frames: Path,
                  presentations: PresentationSpec) -> tuple[list[str], dict[str, int]]:
    index = session_clips(nwb_path, presentations)
    try:
        return match_clips(keys, sorted(index), clip_map), index
    except NwbItError as exc:
        raise NwbItError(exc.problem, exc.path or frames) from None


@dataclass(frozen=True)
class ExtractPlan:
    """What :func:`read_extract_plan` found before any model runs: the clips, and for every NWB file the file the
    table goes into (the file, or its derivative) with the matched clip names, or why it failed."""

    clips: list[Clip]
    frames: Path
    targets: dict          # input location -> target Path, for the files that matched
    matched: dict          # target Path -> (trials clip name of every clip, clip name -> clip index)
    outcomes: dict         # input location -> Outcome of the matching


def read_extract_plan(frames: str | Path | None, params: ExtractionParams = ExtractionParams(), *,
                      nwb_paths: Sequence[str | Path] = (), clip_map: str | Path | None = None,
                      presentations: PresentationSpec = PresentationSpec(), output: OutputPolicy = OutputPolicy(),
                      debug: bool = False) -> ExtractPlan:
    """The clips under ``frames`` (``None``: those the first file's stimulus templates name) matched to every NWB
    file's trials; a file that does not match fails alone (its outcome says why). Fast: no model runs."""
    if frames is None:                                          # the clips the file's stimulus templates name
        if not nwb_paths:
            raise NwbItError("give a frames folder, or NWB files whose stimulus templates name the clips")
        clips = clips_from_file(nwb_paths[0], vfr=params.vfr, stimuli_root=params.stimuli_root)
        frames = Path(nwb_paths[0])
    else:
        frames = Path(frames)
        clips = discover_clips(frames, vfr=params.vfr)
    keys = [c.key for c in clips]
    mapping = read_clip_map(clip_map) if clip_map else None
    matched: dict = {}
    targets: dict = {}

    def match(path) -> str:
        # the file itself (not if its owner made it read-only), or its derivative (remote, derivative_dir)
        target = results_target(path, output, presentations=presentations)
        matched[target] = _target_names(target, keys, mapping, frames, presentations)
        targets[path] = target
        return ""
    locations = [p if is_remote(p) else Path(p) for p in nwb_paths]
    outcomes = {p: run_job(match, p, debug) for p in locations}
    return ExtractPlan(clips, frames, targets, matched, outcomes)


def compute_activations(clips: Sequence[Clip], params: ExtractionParams = ExtractionParams(), *,
                        cache_dir: str | Path | None = None, extractor=None) -> Activations:
    """The model's activations of ``clips``: from the cache when this model, these frames and these settings are
    there (:mod:`nwb_it.models.cache`), else computed (and stored there)."""
    return cached_extract(clips, params, cache_dir, lambda: extract(clips, params, extractor), extractor)


def write_activations(nwb_path: str | Path, acts: Activations, names: list[str], index: dict[str, int], *,
                      activations: str = DEFAULT_ACTIVATIONS, output: OutputPolicy = OutputPolicy()) -> dict:
    """Store ``acts`` as the table ``activations`` of an NWB file, its clips named as the file's trials name them."""
    one = replace(acts, stimulus_names=names, stimulus_index=np.array([index[n] for n in names]))
    replace_in_module(nwb_path, MODULE, MODULE_DESCRIPTION, lambda f: [activations_table(one, activations)],
                      output.force)
    return {"nwb": str(nwb_path), "table": activations}


def run_extract_batch(frames: str | Path | None, params: ExtractionParams = ExtractionParams(), *,
                      nwb_paths: Sequence[str | Path] = (), npy_path: str | Path | None = None,
                      clip_map: str | Path | None = None, activations: str = DEFAULT_ACTIVATIONS,
                      presentations: PresentationSpec = PresentationSpec(), cache_dir: str | Path | None = None,
                      output: OutputPolicy = OutputPolicy(), extractor=None, debug: bool = False
                      ) -> tuple[Activations | None, list[Outcome]]:
    """Activations of the clips under ``frames``, computed once, written into every NWB file of ``nwb_paths``.

    ``frames=None`` takes the clips from the first file's stimulus templates (``convert --stimuli``).

    :func:`read_extract_plan` (every file matched to the clips first, before the model runs), then
    :func:`compute_activations`, then :func:`write_activations` per file and :func:`write_npy`. A file
    that does not match (or cannot be written) fails alone: its :class:`~nwb_it.steps.batch.Outcome`
    says why and the others are written. Returns the activations (None when no file matched and no
    ``npy_path`` was asked for) and one outcome per file.

    Examples
    --------
    >>> from nwb_it import example_metadata_path, run_convert, write_example_session
    >>> from nwb_it.examples import example_clip_names, write_example_frames
    >>> from nwb_it.examples.random_model import save_random_videomae
    >>> settings = ExtractionParams(model=str(save_random_videomae("tiny_videomae")))
    >>> nwbs = []
    >>> for day in ("d1", "d2"):
    ...     _ = write_example_session(f"{day}_fixshortvid1_coco.mat", n_units=3, n_clips=5, n_repeats=3)
    ...     nwbs.append(run_convert(f"{day}_fixshortvid1_coco.mat", example_metadata_path(), out_dir="nwb"))
    >>> frames = write_example_frames("frames", example_clip_names(5), n_frames=8, size=16)
    >>> acts, outcomes = run_extract_batch(frames, settings, nwb_paths=[*nwbs, "elsewhere.nwb"], cache_dir="cache")
    >>> [o.status for o in outcomes], acts.cached
    (['ok', 'ok', 'failed'], False)
    >>> run_extract_batch(frames, settings, cache_dir="cache", npy_path="last.npy")[0].cached    # no model run
    True
    """
    if npy_path is not None:
        refuse_same_file(npy_path, *nwb_paths, clip_map)
        refuse_existing(Path(npy_path), output.overwrite, output.force)       # before the slow part
    plan = read_extract_plan(frames, params, nwb_paths=nwb_paths, clip_map=clip_map, presentations=presentations,
                             output=output, debug=debug)
    outcomes = dict(plan.outcomes)
    if not plan.matched and npy_path is None:
        return None, list(outcomes.values())
    acts = compute_activations(plan.clips, params, cache_dir=cache_dir, extractor=extractor)
    if npy_path is not None:
        write_npy(acts, npy_path, output=output)
    for path, target in plan.targets.items():
        outcomes[path] = run_job(lambda t: write_activations(t, acts, *plan.matched[t], activations=activations,
                                                             output=output), target, debug)
    return acts, list(outcomes.values())


def run_extract(frames: str | Path | None, params: ExtractionParams = ExtractionParams(), *,
                nwb_paths: Sequence[str | Path] = (), npy_path: str | Path | None = None,
                clip_map: str | Path | None = None, activations: str = DEFAULT_ACTIVATIONS,
                presentations: PresentationSpec = PresentationSpec(), cache_dir: str | Path | None = None,
                output: OutputPolicy = OutputPolicy(), extractor=None) -> Activations:
    """Extract activations for every clip under ``frames``; write them into ``nwb_paths`` and/or ``npy_path``.

    Clips are matched to every NWB file's trials before the model runs, so a mismatch
    fails fast; the first file that fails raises (:func:`run_extract_batch` reports each
    file instead). Re-running replaces the previous table; units and trials are untouched.

    Examples
    --------
    >>> from nwb_it import example_metadata_path, run_convert, write_example_session
    >>> from nwb_it.examples import example_clip_names, write_example_frames
    >>> from nwb_it.examples.random_model import save_random_videomae
    >>> _ = write_example_session("e_fixshortvid1_coco.mat", n_units=3, n_clips=5, n_repeats=3)
    >>> nwb = run_convert("e_fixshortvid1_coco.mat", example_metadata_path(), out_dir="nwb")
    >>> frames = write_example_frames("frames", example_clip_names(5), n_frames=8, size=16)
    >>> acts = run_extract(frames, ExtractionParams(model=str(save_random_videomae("tiny_videomae"))), nwb_paths=[nwb])
    >>> len(acts.clip_keys), acts.layers["last"].shape[0] == len(acts.window)
    (5, True)
    """
    acts, outcomes = run_extract_batch(frames, params, nwb_paths=nwb_paths, npy_path=npy_path, clip_map=clip_map,
                                       activations=activations, presentations=presentations, cache_dir=cache_dir,
                                       output=output, extractor=extractor)
    for o in outcomes:
        for message in o.warnings:
            warnings.warn(message, stacklevel=2)
        if o.failed:
            raise NwbItError(o.message)
    return acts


def extract_job(frames: Path, settings, targets: list[Path], npy: Path | None, clip_map: Path | None,
                cache: Path | None, table: str, presentations: PresentationSpec = PresentationSpec(),
                output: OutputPolicy = OutputPolicy(), debug: bool = False) -> tuple[dict | None, list]:
    """Activations once, written into every target: a row on what ran (None when no file matched), and one outcome
    per target."""
    acts, outcomes = run_extract_batch(frames, settings, nwb_paths=targets, npy_path=npy, clip_map=clip_map,
                                       activations=table, presentations=presentations, cache_dir=cache,
                                       output=output, debug=debug)
    if acts is None:
        return None, outcomes
    return {"family": acts.provenance.get("family", settings.family), "clips": len(acts.clip_keys),
            "windows": len(acts.window), "computed": acts.n_forward_windows, "cached": acts.cached,
            "layers": list(acts.layers), "npy": None if npy is None else str(npy)}, outcomes
