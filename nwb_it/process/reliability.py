"""Split-half reliability of each unit's responses across clips, with the seed's d' and more.

For every unit (the lab's ``real_stats.ipynb``, see ``shared/reference/seed-pipeline.md`` section 2):

1. counts per presentation in bins of the analysis window (``aligned.bin_aligned``);
2. true distribution, ``n_perm`` times: within every clip, repeats in random
   order, split at ``n_k // 2``, each half's mean count per bin; Pearson r of the
   two halves' (clip x bin) vectors, r2 recorded. Clips whose halves cannot both
   be filled (one repeat) drop out, as pandas' pairwise-complete ``corr`` did;
3. null: the unit's presentations pooled, shuffled once and dealt back out
   keeping each clip's repeat count, then step 2 on that assignment;
4. ``d' = (mean r2_true - mean r2_null) / (0.5 (sd_true + sd_null))`` (NaN-aware,
   population sd), responsive when ``d' > cutoff``.

Added here: the Spearman-Brown corrected split-half reliability
``mean(2 r / (1 + r))`` over the true splits, and the permutation p-value of the
mean true r2 against the null r2s, ``(1 + #{null >= mean true}) / (1 + n_perm)``.

Everything is vectorised over units, permutations and clips. Random numbers come
from one ``numpy.random.SeedSequence(seed)`` spawned per unit, so a unit's numbers
do not depend on which other units are analysed with it.
"""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np
import pandas as pd
from tqdm.auto import tqdm

from .aligned import AlignedCounts


@dataclass
class ReliabilityParams:
    window: tuple[float, float] = (-0.05, 0.30)
    bin_size: float = 0.05
    n_perm: int = 100
    seed: int = 0
    cutoff: float = 3.0

    def describe(self) -> str:
        return (f"window={self.window[0]:g}..{self.window[1]:g} s, bin={self.bin_size:g} s, n_perm={self.n_perm}, "
                f"seed={self.seed}, cutoff d'>{self.cutoff:g}")


@dataclass
class ReliabilityResult:
    """Per-unit statistics (arrays of length n_units) and the r2 distributions (n_units, n_perm)."""

    unit_ids: np.ndarray
    unit_names: list[str]
    r2_true: np.ndarray
    r2_null: np.ndarray
    r_true: np.ndarray
    params: ReliabilityParams = field(default_factory=ReliabilityParams)

    @property
    def dprime(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"), _quiet():
            return (np.nanmean(self.r2_true, 1) - np.nanmean(self.r2_null, 1)) / (
                0.5 * (np.nanstd(self.r2_true, 1) + np.nanstd(self.r2_null, 1)))

    @property
    def responsive(self) -> np.ndarray:
        d = self.dprime
        return np.where(np.isnan(d), False, d > self.params.cutoff)

    @property
    def reliability(self) -> np.ndarray:
        with np.errstate(invalid="ignore", divide="ignore"), _quiet():
            return np.nanmean(2 * self.r_true / (1 + self.r_true), 1)

    @property
    def p_value(self) -> np.ndarray:
        with _quiet():
            mean_true = np.nanmean(self.r2_true, 1)
        valid = np.isfinite(self.r2_null)
        exceed = (self.r2_null >= mean_true[:, None]) & valid
        p = (1 + exceed.sum(1)) / (1 + valid.sum(1))
        return np.where(np.isnan(mean_true) | (valid.sum(1) == 0), np.nan, p)

    def to_dataframe(self) -> pd.DataFrame:
        """One row per unit: dprime, responsive, r2 means/sds, reliability, p_value."""
        with _quiet():
            return pd.DataFrame({
                "unit_name": self.unit_names, "dprime": self.dprime, "responsive": self.responsive,
                "r2_true_mean": np.nanmean(self.r2_true, 1), "r2_true_sd": np.nanstd(self.r2_true, 1),
                "r2_null_mean": np.nanmean(self.r2_null, 1), "r2_null_sd": np.nanstd(self.r2_null, 1),
                "reliability": self.reliability, "p_value": self.p_value}, index=pd.Index(self.unit_ids, name="unit"))


class _quiet(np.errstate):
    """nanmean of an all-NaN row is NaN by design here: silence its RuntimeWarning."""

    def __enter__(self):
        import warnings
        self._w = warnings.catch_warnings()
        self._w.__enter__()
        warnings.simplefilter("ignore", RuntimeWarning)
        return super().__enter__()

    def __exit__(self, *exc):
        super().__exit__(*exc)
        return self._w.__exit__(*exc)


def split_positions(rng: np.random.Generator, mask: np.ndarray, n_perm: int) -> np.ndarray:
    """Random rank of every repeat within its clip, per permutation: (n_perm, n_clips, n_repeats).

    Absent repeats rank after all present ones. Rank < n_k // 2 = first half.
    """
    keys = rng.random((n_perm,) + mask.shape)
    keys[:, ~mask] = np.inf
    # rank by counting smaller keys: R*R comparisons, cheaper than argsort on tiny rows
    return (keys[..., None, :] < keys[..., :, None]).sum(-1).astype(np.int16)


def split_half_r(counts: np.ndarray, mask: np.ndarray, positions: np.ndarray) -> np.ndarray:
    """Pearson r between split halves, (n_units, n_perm).

    counts: (n_units, n_clips, n_repeats, n_bins); positions: (n_units, n_perm, n_clips, n_repeats)
    from ``split_positions`` (one set per unit).
    """
    n_k = mask.sum(1)
    half = (n_k // 2)[None, None, :, None]
    first = (positions < half) & mask
    second = (positions >= half) & mask
    usable = n_k >= 2
    counts = counts[:, usable].astype(np.float64)
    wa = first[:, :, usable] / np.maximum(first[:, :, usable].sum(-1, keepdims=True), 1)
    wb = second[:, :, usable] / np.maximum(second[:, :, usable].sum(-1, keepdims=True), 1)
    # (u, k, p, r) @ (u, k, r, b) -> (u, k, p, b): one small matmul per unit and clip
    a = np.matmul(wa.transpose(0, 2, 1, 3), counts).transpose(0, 2, 1, 3)
    b = np.matmul(wb.transpose(0, 2, 1, 3), counts).transpose(0, 2, 1, 3)
    a = a.reshape(a.shape[0], a.shape[1], -1)
    b = b.reshape(b.shape[0], b.shape[1], -1)
    a -= a.mean(-1, keepdims=True)
    b -= b.mean(-1, keepdims=True)
    with np.errstate(invalid="ignore", divide="ignore"):
        r = (a * b).sum(-1) / np.sqrt((a * a).sum(-1) * (b * b).sum(-1))
    return np.clip(r, -1.0, 1.0)


def null_deal(rng: np.random.Generator, counts: np.ndarray, mask: np.ndarray) -> np.ndarray:
    """One unit's presentations shuffled across clips, keeping each clip's repeat count."""
    flat = counts[mask]                       # (n_presentations, n_bins), clip-major
    dealt = np.zeros_like(counts)
    dealt[mask] = flat[rng.permutation(flat.shape[0])]
    return dealt


def reliability(aligned: AlignedCounts, params: ReliabilityParams = ReliabilityParams(),
                chunk: int = 32, progress: bool = False) -> ReliabilityResult:
    """Split-half reliability statistics of every unit in ``aligned``.

    Examples
    --------
    >>> from pynwb import NWBHDF5IO                                              # doctest: +SKIP
    >>> from nwb_it.process.aligned import bin_aligned
    >>> with NWBHDF5IO("sub-coco_ses-fixshortvid1_ecephys.nwb") as io:          # doctest: +SKIP
    ...     res = reliability(bin_aligned(io.read()))
    >>> res.to_dataframe().query("responsive").shape[0]                         # doctest: +SKIP
    75
    """
    n_units = aligned.counts.shape[0]
    streams = np.random.SeedSequence(params.seed).spawn(n_units)
    r_true = np.empty((n_units, params.n_perm))
    r_null = np.empty((n_units, params.n_perm))
    with tqdm(total=n_units, desc="reliability", unit="unit", disable=not progress, leave=False) as bar:
        for lo in range(0, n_units, chunk):
            units = range(lo, min(lo + chunk, n_units))
            rngs = [np.random.default_rng(streams[u]) for u in units]
            true_pos = np.stack([split_positions(g, aligned.mask, params.n_perm) for g in rngs])
            dealt = np.stack([null_deal(g, aligned.counts[u], aligned.mask) for g, u in zip(rngs, units)])
            null_pos = np.stack([split_positions(g, aligned.mask, params.n_perm) for g in rngs])
            r_true[lo:lo + len(units)] = split_half_r(aligned.counts[lo:lo + len(units)], aligned.mask, true_pos)
            r_null[lo:lo + len(units)] = split_half_r(dealt, aligned.mask, null_pos)
            bar.update(len(units))
    return ReliabilityResult(unit_ids=aligned.unit_ids, unit_names=aligned.unit_names, r2_true=r_true ** 2,
                             r2_null=r_null ** 2, r_true=r_true, params=params)
