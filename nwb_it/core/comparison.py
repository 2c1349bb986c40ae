"""What ``nwb-it compare`` returns beyond one layer's results: the variance partition over layers
(``--banded``: each band's part of R²) and the per-layer results with it."""
from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from .numeric import nan_quiet
from .params import CompareParams
from .results import EncodingResult, RSAResult, normalized_score


@dataclass
class BandedResult:
    """One banded ridge per unit over several layers (its bands), scored on held-out clips.

    ``r2[b, u]``: band ``b``'s part of unit ``u``'s held-out R² (himalaya's ``r2_score_split``,
    product measure: the parts sum to the joint R²), within each outer fold, mean over folds.
    ``r``: the joint model's held-out r; ``ceiling`` as in :class:`~nwb_it.core.results.EncodingResult`;
    ``gamma[u, b]``: the band weights chosen (mean over folds).
    """

    unit_ids: np.ndarray
    unit_names: list[str]
    bands: list[str]
    r2: np.ndarray                # (bands, units)
    r: np.ndarray                 # (units,)
    ceiling: np.ndarray           # (units,)
    gamma: np.ndarray             # (units, bands)
    params: CompareParams = field(default_factory=CompareParams)

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
        """Units counted in the medians: ceiling >= ``params.min_ceiling`` and a positive joint R²."""
        with nan_quiet():
            return (self.ceiling >= self.params.min_ceiling) & (self.r2_joint > 0)

    def summary(self) -> dict[str, dict[str, float]]:
        """Per band, over the included units: the median share and the median part of R²."""
        inc = self.included
        with nan_quiet():
            return {band: {"median_share": float(np.nanmedian(self.share[b, inc])),
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

    def __init__(self, *args, partition: BandedResult | None = None, **kwargs):
        super().__init__(*args, **kwargs)
        self.partition = partition
