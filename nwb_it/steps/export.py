"""``nwb-it export-brainscore``: a Brain-Score neural assembly of the IT responses of one or more sessions.

Written to ``OUT``:

* ``assembly.nc`` — spike counts as a NetCDF ``DataArray`` with Brain-Score's temporal
  neural-assembly layout: dims ``presentation x neuroid x time_bin``; ``presentation`` coords
  ``stimulus_id`` and ``repetition``; ``neuroid`` coords ``neuroid_id``, ``region`` ("IT"),
  ``animal``, ``session``, ``unit_id``; ``time_bin`` coords ``time_bin_start`` and
  ``time_bin_end`` (ms from onset). Sessions are joined on (stimulus_id, repetition);
  a presentation a session did not have is NaN for its neuroids.
* ``stimulus_set.csv`` — ``stimulus_id`` -> the clip's files (from the file's stimulus
  templates where present, ``convert --stimuli``), relative to ``OUT`` (for a remote
  source: URLs without credentials or signed query); a warning names stimuli without files.

``neuroid_id`` is ``<subject>.<session>.<unit>``: unique across monkeys and sessions. A file
given twice (two paths, or two copies with one NWB identifier) is exported once.

* ``benchmark.py`` — a module that loads both (with xarray/pandas) and declares the benchmark: the
  metric (``spantime_pls``), the selection (split-half reliability above the threshold), the time
  window and bins, and the ceiling with its error.

By default the export follows Brain-Score's newest temporal IT recipe (``benchmarks/li2026``): the
70-170 ms window in 10 ms bins; every unit's split-half reliability of its 70-170 ms count
(:func:`nwb_it.process.brainscore.splithalf_reliability`, stored as the neuroid coord
``reliability``); neuroids kept above 0.4; the ceiling (median reliability of those kept) and its
bootstrap standard error stored in the assembly's attributes ``ceiling`` and ``ceiling_error``.
A unit not observed during every presentation of its session has no reliability (NaN) and is left
out by the selection.
"""
from __future__ import annotations

import csv
import os
import warnings
import zlib
from pathlib import Path
from urllib.parse import urljoin

import numpy as np
import xarray as xr

from ..core.benchmark_params import BrainScoreExportParams
from ..core.errors import NwbItError
from ..core.locations import is_url, redact_location
from ..core.output import OutputPolicy
from ..core.params import PresentationSpec, to_dict
from ..core.provenance import package_version
from ..io.atomic import atomic_output, refuse_existing
from ..nwb.io import reading
from ..nwb.remote import is_remote
from ..nwb.results import read_reliability_table_or_none
from ..nwb.stimuli import read_stimulus_templates
from ..process.brainscore import reliability_ceiling, splithalf_reliability
from ..process.selection import select_units
from .aligned import read_aligned

FILES = ("assembly.nc", "stimulus_set.csv", "benchmark.py")

BENCHMARK_TEMPLATE = '''"""IT responses exported by nwb_it {version}: load them as a Brain-Score benchmark would.

    import benchmark
    assembly = benchmark.load_assembly()          # presentation x neuroid x time_bin spike counts
    stimuli = benchmark.load_stimulus_set()       # stimulus_id -> clip files
"""
from pathlib import Path

import pandas as pd
import xarray as xr

HERE = Path(__file__).parent

# What this benchmark is, as Brain-Score declares a benchmark (brain-score/vision, benchmarks/li2026):
METRIC = "spantime_pls"                  # Brain-Score's registry name: PLS shared over time bins, r per bin
CROSSVALIDATION = dict(splits=10, train_size=0.9, random_state=1, stratification_coord=None)
REGION = "IT"
TIME_WINDOW_MS = {window_ms}
BIN_MS = {bin_ms}
RELIABILITY_THRESHOLD = {threshold}      # neuroids kept: split-half (Spearman-Brown) reliability above this
CEILING = "median reliability of the kept neuroids; error: std of 1000 bootstrap medians"
SCORE = "ceiled = raw ** 2 / ceiling, bounded to [0, 1]"


def load_assembly() -> xr.DataArray:
    """The neural assembly, with (stimulus_id, repetition) as the presentation index."""
    assembly = xr.load_dataarray(HERE / "assembly.nc")
    return assembly.set_index(presentation=["stimulus_id", "repetition"])


def ceiling() -> tuple[float, float]:
    """The benchmark's ceiling (median split-half reliability of the kept neuroids) and its bootstrap error."""
    attrs = xr.load_dataarray(HERE / "assembly.nc").attrs
    return float(attrs["ceiling"]), float(attrs["ceiling_error"])


def load_stimulus_set() -> pd.DataFrame:
    return pd.read_csv(HERE / "stimulus_set.csv")


def mean_response(assembly: xr.DataArray) -> xr.DataArray:
    """Average over repetitions: stimulus x neuroid x time_bin, what temporal benchmarks compare models with."""
    return assembly.groupby("stimulus_id").mean("presentation")
'''


def _stimulus_files(path: str | Path, files: list[str], out_dir: Path) -> list[str]:
    """A template's files as the export names them: relative to the export folder (a local source), or the
    source's redacted URL joined with them (a remote one: a URL, never a URL glued to a path)."""
    if is_remote(path):
        base = redact_location(path)
        return [urljoin(base, f) for f in files] if is_url(base) else []
    return [Path(os.path.relpath(Path(path).resolve().parent / f, out_dir.resolve())).as_posix() for f in files]


def _session_assembly(path: str | Path, params: BrainScoreExportParams, presentations: PresentationSpec,
                      out_dir: Path) -> tuple[xr.DataArray, dict[str, list[str]], str]:
    with reading(path) as nwb:
        identifier = str(nwb.identifier)
        units = select_units(read_reliability_table_or_none(nwb), params.units)
        aligned = read_aligned(nwb, params.window, params.bin_size, units, presentations)
        session = nwb.session_id or nwb.identifier
        animal = nwb.subject.subject_id if nwb.subject is not None else ""
        templates = read_stimulus_templates(nwb)
    counts = aligned.presentation_counts.astype(np.float64)             # (units, presentations, bins)
    if aligned.seen is not None:                                          # not observed: NaN, not zero
        counts[~aligned.seen] = np.nan
    # the recipe's reliability is of the response it scores: the count in the whole window, per presentation
    reliability = splithalf_reliability(counts.sum(axis=2), aligned.clip_of, session_seed(params.seed, identifier))
    stimulus = np.array([aligned.clip_names[c] for c in aligned.clip_of], dtype=object)
    edges_ms = np.round(aligned.edges * 1000, 6)
    data = xr.DataArray(
        counts.transpose(1, 0, 2), dims=("presentation", "neuroid", "time_bin"),
        coords={"presentation": [f"{s}|{r}" for s, r in zip(stimulus, aligned.repeat)],
                "stimulus_id": ("presentation", stimulus.astype(str)),
                "repetition": ("presentation", aligned.repeat.astype(np.int64)),
                # unique across monkeys and sessions: two subjects' "ses-1" (DANDI's usual naming) never share an id
                "neuroid_id": ("neuroid", [f"{animal}.{session}.{n}" for n in aligned.unit_names]),
                "region": ("neuroid", ["IT"] * aligned.n_units), "animal": ("neuroid", [animal] * aligned.n_units),
                "session": ("neuroid", [session] * aligned.n_units),
                "unit_id": ("neuroid", aligned.unit_ids.astype(np.int64)),
                "reliability": ("neuroid", reliability),
                "time_bin_start": ("time_bin", edges_ms[:-1]), "time_bin_end": ("time_bin", edges_ms[1:])})
    files = {k: _stimulus_files(path, t.files, out_dir) for k, t in templates.items()}
    return data, files, identifier


def session_seed(seed: int, identifier: str) -> int:
    """The seed of one session's reliability halves: the base seed plus a number fixed by the NWB identifier (the
    recipe adds the session number), so the halves are the same whichever other files are exported with it."""
    return (seed + zlib.crc32(identifier.encode())) % 2**32


def _selected(data: xr.DataArray, params: BrainScoreExportParams, path: str | Path) -> xr.DataArray:
    """The neuroids above the reliability threshold (all with ``min_reliability=None``)."""
    if params.min_reliability is None:
        return data
    rel = data["reliability"].values
    keep = np.flatnonzero(np.nan_to_num(rel, nan=-np.inf) > params.min_reliability)
    if keep.size == 0:
        best = f"{np.nanmax(rel):.3f}" if np.isfinite(rel).any() else "none (too few clips with two repeats)"
        warnings.warn(f"{redact_location(path)}: no unit has split-half reliability above {params.min_reliability} "
                      f"in the window (of {rel.size}; highest: {best}); none of its units is exported", stacklevel=3)
    return data.isel(neuroid=keep)


def _distinct(paths: list[str | Path]) -> list[str | Path]:
    """Each input once: a file named twice (absolute and relative, through a link) counts once, with a warning."""
    seen, out = set(), []
    for path in paths:
        key = redact_location(path) if is_remote(path) else str(Path(path).resolve())
        if key in seen:
            warnings.warn(f"{redact_location(path)} is given twice; it is exported once", stacklevel=3)
            continue
        seen.add(key)
        out.append(path)
    return out


def build_assembly(paths: list[str | Path], params: BrainScoreExportParams = BrainScoreExportParams(), *,
                   presentations: PresentationSpec = PresentationSpec(), out_dir: str | Path = "."
                   ) -> tuple[xr.DataArray, dict[str, list[str]]]:
    """The neural assembly of ``paths`` by the recipe of ``params`` (nothing written), and each stimulus's files
    relative to ``out_dir``. Attributes carry the ceiling, its error and the selection."""
    out_dir = Path(out_dir)
    parts, files, identifiers, used = [], {}, {}, []
    for path in _distinct(list(paths)):
        data, clip_files, identifier = _session_assembly(path, params, presentations, out_dir)
        if identifier in identifiers:                       # one file under two names (a copy, a URL of it)
            warnings.warn(f"{redact_location(path)} is the same NWB file as {redact_location(identifiers[identifier])}"
                          f" (identifier {identifier}); it is exported once", stacklevel=2)
            continue
        identifiers[identifier] = path
        data = _selected(data, params, path)
        if data.sizes["neuroid"] == 0:
            continue
        used.append(path)
        parts.append(data)
        files.update({k: v for k, v in clip_files.items() if k not in files})
    if not parts:
        raise NwbItError(f"no unit of {len(identifiers)} file(s) has split-half reliability above "
                         f"{params.min_reliability} in the window {params.window}: lower `min_reliability`, or "
                         "keep every unit with `min_reliability=None`")
    ids = np.concatenate([p["neuroid_id"].values.astype(str) for p in parts])
    if len(set(ids)) < len(ids):
        twice = sorted({i for i in ids if (ids == i).sum() > 1})
        raise NwbItError(f"neuroid id {twice[0]} comes from two sessions: give each session its own subject_id and "
                         "session_id")
    assembly = xr.concat(parts, dim="neuroid", join="outer", coords="minimal", compat="override")
    key = assembly["presentation"].values.astype(str)                    # stimulus|repetition, after the join
    assembly = assembly.assign_coords(stimulus_id=("presentation", [k.rsplit("|", 1)[0] for k in key]),
                                      repetition=("presentation", [int(k.rsplit("|", 1)[1]) for k in key]))
    assembly.name = "it_spike_counts"
    ceiling = reliability_ceiling(assembly["reliability"].values)
    assembly.attrs.update(units="spikes per bin", source="nwb_it " + package_version(),
                          parameters=str(to_dict(params)), files=", ".join(redact_location(p) for p in used),
                          ceiling=ceiling.value, ceiling_error=ceiling.error, ceiling_neuroids=ceiling.n_neuroids,
                          reliability_threshold=np.nan if params.min_reliability is None else params.min_reliability,
                          metric="spantime_pls")
    return assembly, files


def write_export(assembly: xr.DataArray, files: dict[str, list[str]], params: BrainScoreExportParams, *,
                 out_dir: str | Path, output: OutputPolicy = OutputPolicy()) -> list[Path]:
    """Write ``assembly`` (:func:`build_assembly`), the stimulus set and the benchmark module into ``out_dir``."""
    out_dir = Path(out_dir)
    outputs = [out_dir / name for name in FILES]
    out_dir.mkdir(parents=True, exist_ok=True)
    with atomic_output(outputs[0], output.overwrite, output.force) as tmp:
        assembly.to_netcdf(tmp, engine="h5netcdf")
    with atomic_output(outputs[1], output.overwrite, output.force) as tmp, open(tmp, "w", newline="") as fh:
        writer = csv.writer(fh)
        writer.writerow(["stimulus_id", "files"])
        stimuli = sorted(set(assembly["stimulus_id"].values.astype(str)))
        for stim in stimuli:
            writer.writerow([stim, ";".join(files.get(stim, []))])
    without = [s for s in stimuli if not files.get(s)]
    if without:
        warnings.warn(f"{outputs[1]}: {len(without)} of {len(stimuli)} stimuli have no files (e.g. {without[0]}): "
                      "their sessions hold no stimulus templates; convert with `stimuli=DIR` to store them",
                      stacklevel=3)
    with atomic_output(outputs[2], output.overwrite, output.force) as tmp:
        tmp.write_text(BENCHMARK_TEMPLATE.format(
            version=package_version(), window_ms=tuple(round(t * 1000, 6) for t in params.window),
            bin_ms=round(params.bin_size * 1000, 6), threshold=params.min_reliability))
    return outputs


def run_export_brainscore(paths: list[str | Path], params: BrainScoreExportParams = BrainScoreExportParams(), *,
                          out_dir: str | Path, presentations: PresentationSpec = PresentationSpec(),
                          output: OutputPolicy = OutputPolicy()) -> list[Path]:
    """Write the assembly, the stimulus set and the benchmark module of ``paths`` into ``out_dir``.

    Examples
    --------
    >>> from nwb_it import example_metadata_path, run_convert, write_example_session
    >>> from nwb_it.core.benchmark_params import BrainScoreExportParams
    >>> _ = write_example_session("x_fixshortvid1_coco.mat", n_units=8, n_clips=14, n_repeats=4)
    >>> nwb = run_convert("x_fixshortvid1_coco.mat", example_metadata_path(), out_dir="nwb")
    >>> paths = run_export_brainscore([nwb], BrainScoreExportParams(min_reliability=None), out_dir="brainscore")
    >>> [p.name for p in paths]
    ['assembly.nc', 'stimulus_set.csv', 'benchmark.py']
    """
    out_dir = Path(out_dir)
    outputs = [out_dir / name for name in FILES]
    for path in outputs:
        refuse_existing(path, output.overwrite, output.force)
    assembly, files = build_assembly(paths, params, presentations=presentations, out_dir=out_dir)
    return write_export(assembly, files, params, out_dir=out_dir, output=output)
