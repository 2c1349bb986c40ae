"""Parameters of every analysis and extraction, as frozen dataclasses.

These are the one source of every default: the command line reads its option
defaults from them (``nwb-it reliability --help`` shows these values), the
``steps`` runners take them, and result tables store them as JSON
(:mod:`nwb_it.core.provenance`) so a result read back knows how it was made.

Examples
--------
>>> from nwb_it.core.params import ReliabilityParams
>>> ReliabilityParams(n_perm=50).window
(-0.05, 0.3)
"""
from __future__ import annotations

import dataclasses
import os
from dataclasses import dataclass
from typing import Any, TypeVar

import numpy as np

from .cluster import CLUSTER_KINDS, ClusterParams  # noqa: F401  (the parameter classes live together here)
from .errors import InvalidParameter
from .where import parse_where

#: The lab's analysis window around clip onset (s): bins -0.05..0.30, as in ``real_stats.ipynb``.
RESPONSE_WINDOW: tuple[float, float] = (-0.05, 0.30)
#: The lab's bin size (s) for the reliability statistic.
RESPONSE_BIN = 0.05
#: Which units an analysis uses: those the reliability step called responsive, or all.
UNIT_CHOICES = ("responsive", "all")
NORMALIZATIONS = ("zscore", "minmax", "none")
#: Figure formats every drawing verb writes.
FIGURE_FORMATS = ("png", "pdf")
#: The processing module of what nwb_it keeps beside the recording (the source's other fields, model
#: activations), and its one description (the first writer of a module sets it: every writer uses this one).
MISC_MODULE = "misc"
MISC_DESCRIPTION = "Source data kept verbatim, and model activations, by nwb_it."
#: Frames per second of clips given as frame files (the lab's movies); a video file carries its own.
DEFAULT_FPS = 30.0
#: The activations table of ``extract-videomae`` (the lab's numbers); other extractions name their own.
DEFAULT_ACTIVATIONS = "videomae_activations"
#: Where ``--cluster`` runs the workers: processes here, or batch jobs through dask-jobqueue.
#: How compare picks its units: the reliability table's responsive units, or chosen on half of the repeats and
#: scored on the other half (no double dipping).
SELECTIONS = ("reliability", "split")
#: himalaya backends of the encoding ridge ("auto": torch_cuda with a GPU, else numpy).
RIDGE_BACKENDS = ("numpy", "torch", "torch_cuda", "auto")
#: Neural RDMs of RSA: cross-validated across halves of the repeats (Euclidean = crossnobis with identity noise,
#: or Poisson-cv on counts), or the old 1 - Pearson of repeat means (biased by unequal repeats).
RSA_DISTANCES = ("crossnobis", "poisson", "correlation")
#: How the reliability null deals presentations across clips: a new deal per null split, or the lab's single deal.
NULL_CHOICES = ("redeal", "once")


def usable_cores() -> int:
    """The cores this process may run on (its affinity, e.g. a cluster job's share), the default of ``--workers``."""
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1)
#: Deals every unit gets in the permutation test; candidates (p <= 0.1 so far) get up to ``n_null``.
FIRST_STAGE_DEALS = 100


def check_window(window: tuple[float, float], bin_size: float, option: str = "window") -> None:
    """Refuse a window that does not start before it ends or is not a whole number of ``bin_size`` bins."""
    if len(window) != 2 or not window[1] > window[0]:
        raise InvalidParameter(option, f"`{option}=({window[0]:g}, {window[1]:g})`: start must be before end")
    if not bin_size > 0:
        raise InvalidParameter("bin_size", f"`bin_size={bin_size:g}`: must be > 0")
    n_bins = (window[1] - window[0]) / bin_size
    if abs(n_bins - round(n_bins)) > 1e-6:
        raise InvalidParameter(option, f"`{option}=({window[0]:g}, {window[1]:g})` s is not a whole number of "
                                       f"{bin_size:g} s bins")


def check_response_window(response: tuple[float, float], window: tuple[float, float], bin_size: float) -> None:
    """Refuse a response window that is not inside ``window`` or holds no bin centre (its statistics would be
    computed on nothing: NaN RDMs read as a significant p before)."""
    if len(response) != 2 or not response[1] > response[0]:
        raise InvalidParameter("response_window", f"`response_window={tuple(response)}`: start must be before end")
    n_bins = int(round((window[1] - window[0]) / bin_size))
    centres = window[0] + (np.arange(n_bins) + 0.5) * bin_size
    if not np.any((centres >= response[0]) & (centres < response[1])):
        raise InvalidParameter("response_window", f"`response_window=({response[0]:g}, {response[1]:g})` holds no "
                                                  f"bin of the window ({window[0]:g}, {window[1]:g}) s in "
                                                  f"{bin_size:g} s bins: choose it inside the window")


@dataclass(frozen=True, kw_only=True)
class PresentationSpec:
    """Where a file keeps its stimulus presentations (any NWB file, not only nwb_it's).

    Parameters
    ----------
    intervals : table under ``/intervals`` ("trials", or e.g. Allen's "natural_movie_one_presentations")
    stimulus_column : column naming the stimulus of each presentation (strings or numbers)
    onset_column : column of stimulus onsets; None = ``stimulus_onset`` where the table has it, else ``start_time``
    drop_invalid : leave out rows with a NaN/infinite onset, no stimulus, or that repeat an earlier row's onset
        and stimulus (with a warning counting them) instead of refusing the table
    where : keep only the rows where this expression over the table's columns holds, e.g.
        ``"fixation_correct and stimuli_block_index in (0, 2)"`` (:mod:`nwb_it.core.where`; parsed, never run)
    """

    intervals: str = "trials"
    stimulus_column: str = "stimulus_name"
    onset_column: str | None = None
    drop_invalid: bool = False
    where: str | None = None

    def __post_init__(self) -> None:
        if self.where is not None:
            parse_where(self.where)                     # a syntax error is one line before any file is read


@dataclass(frozen=True, kw_only=True)
class ReliabilityParams:
    """Split-half reliability of each unit (``nwb-it reliability``).

    Parameters
    ----------
    window : (start, end) seconds from clip onset
    bin_size : seconds; the window holds a whole number of bins
    n_perm : random split halves per unit (and null splits)
    seed : seed of every random draw
    cutoff : a unit is responsive when d' > cutoff
    null : "redeal" (each null split gets its own deal of the presentations) or "once" (the lab's single deal)
    n_null : deals of the permutation test behind ``p_value`` for every unit with p <= 0.1 after 100
    n_null_max : most deals of a unit still beyond (almost) all of its deals after ``n_null`` (sequential)
    lab_compat : reproduce the lab notebook's numbers exactly (its edges, silent repeats dropped, its
        random-number order); window, bin_size and null are then the notebook's
    """

    window: tuple[float, float] = RESPONSE_WINDOW
    bin_size: float = RESPONSE_BIN
    n_perm: int = 100
    seed: int = 0
    cutoff: float = 3.0
    null: str = "redeal"
    n_null: int = 1000
    n_null_max: int = 20000
    lab_compat: bool = False

    def __post_init__(self) -> None:
        check_window(self.window, self.bin_size)
        if self.lab_compat:
            # the notebook's window, bins and single deal are what runs: they are what the params (and so every
            # table, --store-binned and --selection split) record, never values that were not used
            if (tuple(self.window), self.bin_size) != (RESPONSE_WINDOW, RESPONSE_BIN):
                raise InvalidParameter("lab_compat", f"`lab_compat=True` uses the notebook's window {RESPONSE_WINDOW} "
                                       f"and bin {RESPONSE_BIN:g}: leave `window` and `bin_size` at them")
            object.__setattr__(self, "null", "once")
        if self.n_perm < 2:
            raise InvalidParameter("n_perm", f"`n_perm={self.n_perm}`: must be at least 2")
        if self.null not in NULL_CHOICES:
            raise InvalidParameter("null", f"`null={self.null}`: use {' or '.join(NULL_CHOICES)}")
        if self.n_null < FIRST_STAGE_DEALS:
            raise InvalidParameter("n_null", f"`n_null={self.n_null}`: must be at least {FIRST_STAGE_DEALS}")
        if self.n_null_max < self.n_null:
            raise InvalidParameter("n_null_max", f"`n_null_max={self.n_null_max}`: must be at least `n_null` "
                                                 f"({self.n_null})")


@dataclass(frozen=True, kw_only=True)
class HeatmapParams:
    """Firing-rate heatmaps (``nwb-it heatmaps``)."""

    window: tuple[float, float] = RESPONSE_WINDOW
    bin_size: float = 0.01
    normalize: str = "zscore"
    units: str = "responsive"
    fmt: str = "png"
    clip_duration: float | None = None     # clip length (s) to mark; None = from the activations table, if any

    def __post_init__(self) -> None:
        check_window(self.window, self.bin_size)
        if self.normalize not in NORMALIZATIONS:
            raise InvalidParameter("normalize", f"`normalize={self.normalize}`: use {', '.join(NORMALIZATIONS)}")
        if self.units not in UNIT_CHOICES:
            raise InvalidParameter("units", f"`units={self.units}`: use {' or '.join(UNIT_CHOICES)}")
        if self.fmt not in FIGURE_FORMATS:
            raise InvalidParameter("fmt", f"`fmt={self.fmt}`: use {' or '.join(FIGURE_FORMATS)}")


@dataclass(frozen=True, kw_only=True)
class CompareParams:
    """Encoding model and RSA of model activations against IT responses (``nwb-it compare``)."""

    window: tuple[float, float] = (0.0, 0.40)
    bin_size: float = 0.05
    lags: tuple[float, ...] = (0.0, 0.025, 0.05, 0.075, 0.1)
    folds: int = 10                # outer folds (split by clip), fewer where a fold would hold < 5 clips
    seed: int = 0
    n_pcs: int = 20
    response_window: tuple[float, float] = (0.05, 0.30)   # inside ``window``, holding at least one bin centre
    layer: str = "last"
    units: str = "responsive"
    time_offset: float = 0.0      # shifts the activations' clock (to test the alignment)
    rsa_windows: str = "response"  # model RDM from the windows in the response window, or "all" of a clip's
    rsa_zscore: bool = False       # z-score each unit across clips before the neural RDM
    n_boot: int = 1000             # bootstrap resamples of clips for the intervals (median score, RSA rho)
    min_ceiling: float = 0.0       # a unit (cell) counts in the medians when its ceiling's 95 % interval lies above
    backend: str = "numpy"         # himalaya backend of the ridge: numpy, torch, torch_cuda or auto
    rsa_distance: str = "crossnobis"   # neural RDM: cross-validated (crossnobis, poisson) or the old correlation
    n_perm_rsa: int = 1000         # clip-label permutations behind the RSA p-value
    selection: str = "reliability"  # responsive units from the reliability table, or "split": chosen on half the
    #                                 repeats (d' > the table's cutoff) and scored on the other half
    banded: bool = False           # several layers: also one banded ridge over them (a band each) and each band's
    #                                 share of the held-out R² (variance_partition table)
    banded_iter: int = 20          # band weights tried by the banded ridge's random search

    def __post_init__(self) -> None:
        check_window(self.window, self.bin_size)
        check_response_window(self.response_window, self.window, self.bin_size)
        if self.folds < 2:
            raise InvalidParameter("folds", f"`folds={self.folds}`: must be at least 2")
        if not self.lags:
            raise InvalidParameter("lags", "`lags`: give at least one latency")
        if self.units not in UNIT_CHOICES:
            raise InvalidParameter("units", f"`units={self.units}`: use {' or '.join(UNIT_CHOICES)}")
        if self.backend not in RIDGE_BACKENDS:
            raise InvalidParameter("backend", f"`backend={self.backend}`: use {', '.join(RIDGE_BACKENDS)}")
        if self.rsa_distance not in RSA_DISTANCES:
            raise InvalidParameter("rsa_distance", f"`rsa_distance={self.rsa_distance}`: use "
                                                   f"{', '.join(RSA_DISTANCES)}")
        if self.n_boot < 10 or self.n_perm_rsa < 10:
            raise InvalidParameter("n_boot", f"`n_boot={self.n_boot}`, `n_perm_rsa={self.n_perm_rsa}`: at least 10")
        if self.selection not in SELECTIONS:
            raise InvalidParameter("selection", f"`selection={self.selection}`: use {' or '.join(SELECTIONS)}")
        if self.n_pcs < 1:
            raise InvalidParameter("n_pcs", f"`n_pcs={self.n_pcs}`: must be >= 1")
        if self.banded_iter < 1:
            raise InvalidParameter("banded_iter", f"`banded_iter={self.banded_iter}`: must be >= 1")
        if self.rsa_windows not in ("response", "all"):
            raise InvalidParameter("rsa_windows", f"`rsa_windows={self.rsa_windows}`: use response or all")


@dataclass(frozen=True, kw_only=True)
class ExtractionParams:
    """Sliding-window model activations of the clips (``nwb-it extract-videomae``).

    The defaults reproduce the lab's ``videomae_grey_screen_extract.py``.
    """

    model: str = "MCG-NJU/videomae-base"
    layers: str = "last"          # "last", "all" or "I,J,..." (hidden_states indices; 0 = embeddings)
    pool: str = "mean"
    pad: int = 16
    grey: int | str = 128
    fps: float = DEFAULT_FPS     # frame files only: a video's own rate is its clock
    device: str = "auto"
    dtype: str = "float32"
    batch_size: int | None = None
    family: str | None = None     # model family; None = from the model folder's config (VideoMAE for a cache id)
    workers: int | None = None    # frame decode threads; None = this machine's cores, at most 8 (never changes numbers)
    vfr: str = "refuse"           # a variable-frame-rate video: "refuse", or "resample" (the frame shown at each tick)
    stimuli_root: str | None = None   # clips from a file's templates: files may lie under this folder (else: its own)

    def __post_init__(self) -> None:
        if self.vfr not in ("refuse", "resample"):
            raise InvalidParameter("vfr", f"`vfr={self.vfr}`: use refuse or resample")
        if self.pool not in ("mean", "max"):
            raise InvalidParameter("pool", f"`pool={self.pool}`: use mean or max")
        if self.pad < 0:
            raise InvalidParameter("pad", f"`pad={self.pad}`: must be >= 0")
        if not self.fps > 0:
            raise InvalidParameter("fps", f"`fps={self.fps:g}`: must be > 0")
        if self.batch_size is not None and self.batch_size < 1:
            raise InvalidParameter("batch_size", f"`batch_size={self.batch_size}`: must be >= 1")
        if self.workers is not None and self.workers < 1:
            raise InvalidParameter("workers", f"`workers={self.workers}`: must be >= 1")


@dataclass(frozen=True, kw_only=True)
class ActivationPlotParams:
    """Figures of one activations table (``nwb-it plot-activations``).

    Parameters
    ----------
    layer : the layer drawn
    activations : the activations table (as named by ``extract-activations --name``)
    fmt : figure format, "png" or "pdf"
    """

    layer: str = "last"
    activations: str = DEFAULT_ACTIVATIONS
    fmt: str = "png"

    def __post_init__(self) -> None:
        if self.fmt not in FIGURE_FORMATS:
            raise InvalidParameter("fmt", f"`fmt={self.fmt}`: use {' or '.join(FIGURE_FORMATS)}")


@dataclass(frozen=True, kw_only=True)
class ReportParams:
    """The HTML report of a session (``nwb-it report``).

    Parameters
    ----------
    window : raster and PSTH window around clip onset (s)
    bin_size : PSTH bin (s) of a unit without a comparison (a compared unit's PSTH uses the comparison's bins)
    max_units : units in the clip view (responsive ones first, by d'); every unit is in the unit table
    frame_px : side of each embedded clip frame (pixels)
    max_frames : frames embedded per clip (evenly spaced over the clip)
    figure_budget_mb : figures found beside the report are embedded up to this size, then linked
    """

    window: tuple[float, float] = (-0.10, 0.50)
    bin_size: float = 0.02
    max_units: int = 64
    frame_px: int = 96
    max_frames: int = 16
    figure_budget_mb: float = 8.0

    def __post_init__(self) -> None:
        check_window(self.window, self.bin_size)
        for name in ("max_units", "frame_px", "max_frames"):
            if getattr(self, name) < 1:
                raise InvalidParameter(name, f"`{name}={getattr(self, name)}`: must be at least 1")
        if self.figure_budget_mb < 0:
            raise InvalidParameter("figure_budget_mb", f"`figure_budget_mb={self.figure_budget_mb}`: must be >= 0")


P = TypeVar("P")


def to_dict(params: Any) -> dict[str, Any]:
    """A parameter dataclass as plain JSON-able values (tuples become lists)."""
    return {f.name: (list(v) if isinstance(v := getattr(params, f.name), tuple) else v)
            for f in dataclasses.fields(params)}


def from_dict(cls: type[P], values: dict[str, Any]) -> P:
    """Rebuild a parameter dataclass from :func:`to_dict`'s output (unknown keys ignored)."""
    known = {f.name: f for f in dataclasses.fields(cls)}
    kwargs = {k: (tuple(v) if isinstance(v, list) else v) for k, v in values.items() if k in known}
    return cls(**kwargs)


def default(cls: type, name: str) -> Any:
    """The default of one field (what the CLI shows and uses)."""
    return {f.name: f.default for f in dataclasses.fields(cls)}[name]
