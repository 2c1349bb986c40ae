"""What ``nwb-it compare`` returns beyond one layer's results: the variance partition over layers
(``--banded``: each band's part of R²) and the per-layer results with it."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .numeric import nan_quiet
from .params import CompareParams
from .recording import default_selection
from .results import EncodingResult, RSAResult, normalized_score

#: Fewest units whose joint model is significant for a variance partition's shares to be reported: below it the
#: median share of a few chance winners says nothing (measured: 1-2 units at a held-out R² of 0.02 gave
#: intervals that missed the truth).
MIN_SHARE_UNITS = 5


@dataclass
class BandedResult:
    """One banded ridge per unit over several layers (its bands), scored on held-out clips.

    ``r2[b, u]``: band ``b``'s part of unit ``u``'s held-out R² (himalaya's ``r2_score_split``,
    product measure: the parts sum to the joint R²) over the held-out predictions of all folds.
    ``r``: the joint model's held-out r; ``ceiling`` as in :class:`~nwb_it.core.results.EncodingResult`;
    ``gamma[u, b]``: the band weights chosen (mean over folds). ``joint_ci`` (units, 2): the 95 %
    bootstrap interval (clips resampled) of the joint model's normalized score; a unit is
    ``included`` when its ceiling's interval and that one lie above 0 (the joint model explains
    something reliably). ``share_ci`` (bands, 2): the interval of each band's median share over
    the included units, from the same resamples.
    """

    unit_ids: np.ndarray
    unit_names: list[str]
    bands: list[str]
    r2: np.ndarray                # (bands, units)
    r: np.ndarray                 # (units,)
    ceiling: np.ndarray           # (units,)
    gamma: np.ndarray             # (units, bands)
    params: CompareParams = field(default_factory=CompareParams)
    joint_ci: np.ndarray | None = None          # (units, 2)
    included_units: np.ndarray | None = None    # (units,)
    share_ci: np.ndarray | None = None          # (bands, 2)

    @property
    def r2_joint(self) -> np.ndarray:
        """(units,) the joint model's held-out R²: the sum of the bands' parts."""
        return self.r2.sum(0)

    @property
    def share(self) -> np.ndarray:
        """(bands, units) each band's part over the joint R² (NaN where the joint R² is not positive)."""
        joint = self.r2_joint
        with nan_quiet():
            return np.where(joint > 0, self.r2 / joint, np.nan)

    @property
    def normalized(self) -> np.ndarray:
        """(units,) the joint model's sign(r) r² / ceiling."""
        return normalized_score(self.r, self.ceiling)

    @property
    def included(self) -> np.ndarray:
        """Units counted in the medians: the joint model's score reliably above 0 (``included_units``; without
        intervals, a positive joint R² and a ceiling above ``params.min_ceiling``)."""
        if self.included_units is not None:
            return self.included_units
        with nan_quiet():
            return (self.ceiling > self.params.min_ceiling) & (self.r2_joint > 0)

    def summary(self) -> dict[str, dict[str, float]]:
        """Per band, over the included units: the median share with its 95 % interval and the median part of R².
        Shares are reported only where the joint model is significant: with fewer than ``MIN_SHARE_UNITS`` units
        included they are NaN."""
        inc = self.included
        if inc.sum() < MIN_SHARE_UNITS:
            inc = np.zeros_like(inc)
        ci = self.share_ci if self.share_ci is not None else np.full((len(self.bands), 2), np.nan)
        with nan_quiet():
            return {band: {"median_share": float(np.nanmedian(self.share[b, inc])),
                           "share_ci_low": float(ci[b, 0]), "share_ci_high": float(ci[b, 1]),
                           "median_r2": float(np.nanmedian(self.r2[b, inc])), "units": int(inc.sum())}
                    for b, band in enumerate(self.bands)}


class CompareResults(dict[str, tuple[EncodingResult, RSAResult]]):
    """``{layer: (encoding, rsa)}``, and the variance partition over those layers when one was asked for.

    Examples
    --------
    >>> results = CompareResults()
    >>> results.partition is None
    True
    """

    def __init__(self, *args, partition: BandedResult | None = None, presentations: dict | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.partition = partition
        self.presentations = presentations if presentations is not None else default_selection()   # how chosen
        self.written_to: str | None = None      # the NWB file holding the tables (the input, or its derivative)
