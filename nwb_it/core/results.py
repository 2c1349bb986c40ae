"""Result objects: what analyses and extractors return, and what the ``nwb`` layer stores and reads back.

They hold arrays and their parameters only; computing them is ``process``'s job,
writing them ``nwb``'s, drawing them ``viz``'s.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from .numeric import nan_quiet
from .params import CompareParams, ReliabilityParams
from .recording import default_selection


@dataclass
class ReliabilityResult:
    """Per-unit reliability statistics and the r² distributions behind them.

    Arrays of length n_units, except ``r2_true``, ``r2_null`` and ``r_true`` (n_units, n_perm).
    ``agreement`` is the test statistic behind ``p_value`` (see ``process.reliability``);
    ``p_value``/``q_value`` are NaN in lab-compatible mode (the notebook had none).
    """

    unit_ids: np.ndarray
    unit_names: list[str]
    r2_true: np.ndarray
    r2_null: np.ndarray
    r_true: np.ndarray
    dprime: np.ndarray
    spearman_brown_mean_r: np.ndarray
    agreement: np.ndarray
    p_value: np.ndarray
    q_value: np.ndarray
    params: ReliabilityParams = field(default_factory=ReliabilityParams)
    n_deals: np.ndarray | None = None      # (units,) deals behind each p_value
    presentations: dict = field(default_factory=default_selection)    # how its presentations were chosen
    written_to: str | None = None          # the NWB file holding these results (the input, or its derivative)

    @property
    def responsive(self) -> np.ndarray:
        return np.where(np.isnan(self.dprime), False, self.dprime > self.params.cutoff)

    def to_dataframe(self) -> pd.DataFrame:
        """One row per unit: dprime, responsive, r² means/sds, Spearman-Brown, agreement, p and q values."""
        with nan_quiet():
            return pd.DataFrame({
                "unit_name": self.unit_names, "dprime": self.dprime, "responsive": self.responsive,
                "r2_true_mean": np.nanmean(self.r2_true, 1), "r2_true_sd": np.nanstd(self.r2_true, 1),
                "r2_null_mean": np.nanmean(self.r2_null, 1), "r2_null_sd": np.nanstd(self.r2_null, 1),
                "spearman_brown_mean_r": self.spearman_brown_mean_r, "agreement": self.agreement,
                "p_value": self.p_value, "q_value": self.q_value,
                "n_deals": (np.zeros(len(self.unit_names), dtype=np.int64) if self.n_deals is None
                            else self.n_deals)},
                index=pd.Index(self.unit_ids, name="unit"))


def normalized_score(r: np.ndarray, ceiling: np.ndarray) -> np.ndarray:
    """sign(r) r² / ceiling: the fraction of the explainable variance predicted, negative when r < 0."""
    with nan_quiet():
        return np.where(ceiling > 0, np.sign(r) * r ** 2 / ceiling, np.nan)


def bin_score(r: np.ndarray, ceiling: np.ndarray, axis: int) -> np.ndarray:
    """The median over ``axis`` (the units) of sign(r) r² over the median ceiling (NaN where that is not positive,
    NaN cells left out): a time bin's score, since one unit's ceiling in a bin is too noisy for a ratio of its own
    (at 60 clips its standard error is ~0.2 whatever the reliability). Example: ``nwb_it.process.bin_scores``."""
    with nan_quiet():
        den = np.nanmedian(ceiling, axis=axis)
        return np.where(den > 0, np.nanmedian(np.sign(r) * r ** 2, axis=axis) / den, np.nan)


@dataclass
class TimeEncodingResult:
    """The encoding model's scores bin by bin after onset (``nwb-it compare``'s ``encoding_time`` table).

    Per unit and bin: the held-out r over all clips (the outer folds' predictions pooled), the
    bin's own ceiling over clips (:mod:`nwb_it.process.ceilings`) with its 95 % interval, the two
    baselines' r. Per bin, the score is the median over the included units of sign(r) r² over
    their median ceiling (:meth:`medians`), with its 95 % bootstrap interval over clips; a bin
    counts (``included``) where that median ceiling's interval lies above ``min_ceiling``.
    """

    bin_start: np.ndarray          # (bins,) seconds from onset
    bin_stop: np.ndarray
    r: np.ndarray                  # (units, bins)
    ceiling: np.ndarray            # (units, bins)
    r_clip_shuffled: np.ndarray    # (units, bins)
    r_onset_only: np.ndarray       # (units, bins)
    median_ci: np.ndarray          # (bins, 2) of the bin's score (see medians)
    included: np.ndarray           # (units, bins) bool: an included unit, in a bin whose median ceiling is reliable
    ceiling_ci: np.ndarray | None = None     # (units, bins, 2)

    @property
    def normalized(self) -> np.ndarray:
        return normalized_score(self.r, self.ceiling)

    def medians(self) -> dict[str, np.ndarray]:
        """Per bin over the included cells: the bin's score — the median of sign(r) r² over the median ceiling
        (a unit's ceiling in one bin is too noisy for a ratio of its own) — and each baseline's, and Brain-Score's
        explained-variance convention, median (r / ceiling)²."""
        def median(x: np.ndarray) -> np.ndarray:
            with nan_quiet():
                return np.nanmedian(np.where(self.included, x, np.nan), 0)

        def score(r: np.ndarray) -> np.ndarray:
            return bin_score(np.where(self.included, r, np.nan), np.where(self.included, self.ceiling, np.nan), 0)
        return {"median": score(self.r), "clip_shuffled": score(self.r_clip_shuffled),
                "onset_only": score(self.r_onset_only),
                "brainscore_explained_variance": median(np.where(self.ceiling > 0, (self.r / self.ceiling) ** 2,
                                                                 np.nan))}


@dataclass
class EncodingResult:
    """Cross-validated encoding model of each unit's PSTH, with two baselines.

    ``r``: Pearson r of the held-out predictions of all outer folds over all (clip, bin) cells.
    ``r_clip_shuffled``: the same model fed another clip's features at the same times;
    ``r_onset_only``: the mean time course of all clips. ``ceiling``: the reliability of the PSTH
    (the r² a perfect model reaches; :mod:`nwb_it.process.ceilings`) with its 95 % interval
    ``ceiling_ci``; ``included``: the units whose interval lies above ``params.min_ceiling``.
    ``median_ci``: the 95 % bootstrap interval (over clips, each resample's r over its own
    ceiling) of the median normalized score of the included units. ``time``: the same bin by bin.
    """

    unit_ids: np.ndarray
    unit_names: list[str]
    r: np.ndarray                 # (units,) held-out Pearson r
    ceiling: np.ndarray           # (units,) split-half reliability (Spearman-Brown), on the r² scale
    alpha: np.ndarray             # (units,) ridge penalty: geometric median over folds of the one chosen
    predicted: np.ndarray         # (units, clips, bins) held-out predictions
    measured: np.ndarray          # (units, clips, bins)
    fold_of_clip: np.ndarray      # (clips,) outer fold of every clip
    bin_centres: np.ndarray
    r_clip_shuffled: np.ndarray = field(default_factory=lambda: np.zeros(0))
    r_onset_only: np.ndarray = field(default_factory=lambda: np.zeros(0))
    median_ci: tuple[float, float] = (np.nan, np.nan)
    clip_names: list[str] = field(default_factory=list)
    params: CompareParams = field(default_factory=CompareParams)
    time: TimeEncodingResult | None = None
    ceiling_ci: np.ndarray | None = None           # (units, 2)
    included_units: np.ndarray | None = None       # (units,) bool: by the ceiling's interval

    @property
    def normalized(self) -> np.ndarray:
        """sign(r) r² / ceiling (the ceiling is on the r² scale)."""
        return normalized_score(self.r, self.ceiling)

    @property
    def normalized_clip_shuffled(self) -> np.ndarray:
        return normalized_score(self.r_clip_shuffled, self.ceiling)

    @property
    def normalized_onset_only(self) -> np.ndarray:
        return normalized_score(self.r_onset_only, self.ceiling)

    @property
    def included(self) -> np.ndarray:
        """Units counted in the medians: the lower end of the ceiling's 95 % interval above ``params.min_ceiling``
        (without an interval, the ceiling itself)."""
        if self.included_units is not None:
            return self.included_units
        with nan_quiet():
            return self.ceiling > self.params.min_ceiling

    @property
    def brainscore_explained_variance(self) -> np.ndarray:
        """(r / ceiling)² per unit: Brain-Score's ``explained_variance`` convention (its ceiling is the same
        Spearman–Brown split-half reliability, so a perfect model scores 1 / ceiling there, not 1)."""
        with nan_quiet():
            return np.where(self.ceiling > 0, (self.r / self.ceiling) ** 2, np.nan)

    def summary(self) -> dict[str, float]:
        """Medians over the included units: the score, its interval, how far it stands above each baseline,
        Brain-Score's explained-variance convention (median (r / ceiling)²) and the unit counts."""
        inc = self.included
        with nan_quiet():
            return {"median": float(np.nanmedian(self.normalized[inc])), "ci_low": float(self.median_ci[0]),
                    "ci_high": float(self.median_ci[1]),
                    "above_clip_shuffled": float(np.nanmedian((self.normalized - self.normalized_clip_shuffled)[inc])),
                    "above_onset_only": float(np.nanmedian((self.normalized - self.normalized_onset_only)[inc])),
                    "brainscore_explained_variance": float(np.nanmedian(self.brainscore_explained_variance[inc])),
                    "units_scored": int(inc.sum()), "units_below_ceiling": int((~inc).sum())}


@dataclass
class RSAResult:
    """Representational similarity of IT and a model over clips.

    The neural RDM is cross-validated by default (``distance``): the distance of two
    clips is the product of their differences in two disjoint halves of the repeats,
    averaged over random halvings, so noise adds no bias however many repeats a clip
    has. ``rho`` is the model's ρ with the full-data RDM. ``ceiling`` is on the half-data ρ
    scale: the ρ a perfect model is expected to reach with the RDM of one half of the
    repeats, ``sqrt(mean ρ_AB)`` over the halvings of two disjoint halves (NaN, with
    ``ceiling_note`` saying why, where ρ_AB's interval reaches 0); ``rho_halves`` is the
    model's own mean ρ with those half RDMs — the same scale — and ``normalized`` their
    ratio (never ``rho / ceiling``: full and half data differ). ``ceiling_lower``/``upper``
    are rsatoolbox's bounds on the half RDMs. ``rho_ci``: 95 % bootstrap interval over clips;
    ``ceiling_ci``: the same resamples of ``sqrt(mean ρ_AB)`` over all halvings; ``p_value``:
    the fraction of clip-label permutations of the model RDM with ρ at least as large.
    """

    rho: float
    ceiling: float
    neural_rdm: np.ndarray
    model_rdm: np.ndarray
    ceiling_lower: float = np.nan
    ceiling_upper: float = np.nan
    clip_names: list[str] = field(default_factory=list)
    rho_ci: tuple[float, float] = (np.nan, np.nan)
    ceiling_ci: tuple[float, float] = (np.nan, np.nan)
    p_value: float = np.nan
    distance: str = "crossnobis"
    rho_halves: float = np.nan
    ceiling_note: str = ""          # why there is no ceiling, where there is none

    @property
    def normalized(self) -> float:
        """The model's ρ with the half RDMs over a perfect model's (``ceiling``): both on the half-data scale."""
        return self.rho_halves / self.ceiling if self.ceiling > 0 else np.nan


@dataclass
class Activations:
    """Pooled model activations of every window of every clip, in the lab's order (clip, then window).

    Attributes
    ----------
    clip_keys : clip key of every clip (from the frame files)
    clip_of_window : (n_windows,) index into ``clip_keys``
    window : window index within its clip
    last_frame : index of the window's last frame within the clip (negative inside the leading grey)
    layers : layer name -> float32 (n_windows, hidden)
    provenance : model id, config hash, settings: what made these numbers
    stimulus_names, stimulus_index : the matched trials clip of every clip key (when read from NWB)
    """

    clip_keys: list[str]
    clip_of_window: np.ndarray
    window: np.ndarray
    last_frame: np.ndarray
    layers: dict[str, np.ndarray]
    provenance: dict[str, Any] = field(default_factory=dict)
    n_forward_windows: int = 0      # windows actually run through the model
    n_model_calls: int = 0
    cached: bool = False            # read from an activations cache: no model ran
    stimulus_names: list[str] | None = None
    stimulus_index: np.ndarray | None = None

    @property
    def fps(self) -> float:
        return float(self.provenance.get("fps", 30.0))

    @property
    def time(self) -> np.ndarray:
        """Onset of each window's last frame relative to clip onset (s)."""
        return self.last_frame / self.fps

    @property
    def window_stimulus_index(self) -> np.ndarray:
        """``stimulus_index`` of every window's clip."""
        if self.stimulus_index is None:
            raise ValueError("these activations are not matched to a session's clips")
        return np.asarray(self.stimulus_index)[self.clip_of_window]
