"""The variance partition over layers in ``processing/ecephys``: ``variance_partition[_<table>]``.

One row per (unit, band): the band's part of the held-out R² of one banded ridge over the
layers compared (``nwb-it compare --layers a,b,c --banded``), its share, and the joint
model's scores. The description ends with the provenance JSON (parameters, bands, the
per-band medians).
"""
from __future__ import annotations

import numpy as np
from hdmf.common import DynamicTable, DynamicTableRegion, VectorData
from pynwb import NWBFile

from ..core.comparison import BandedResult
from ..core.params import DEFAULT_ACTIVATIONS, to_dict
from ..core.provenance import with_provenance

PARTITION = "variance_partition"
PARTITION_COLUMNS = {
    "unit_name": "Unit name (units table unit_name).",
    "band": "Activations layer of this band of the banded ridge.",
    "r2": "The band's part of the held-out R² (himalaya r2_score_split, product measure: the parts sum to r2_joint), "
          "over the held-out predictions of all outer folds.",
    "share": "r2 / r2_joint: the band's share of the explained variance (NaN where r2_joint <= 0).",
    "r2_joint": "Held-out R² of the joint model over all bands (sum of the bands' r2).",
    "r": "Held-out Pearson r of the joint model over (clip, bin) cells, the predictions of all folds pooled.",
    "ceiling": "The PSTH's reliability on the same cells (as the encoding table's ceiling).",
    "normalized": "sign(r) r**2 / ceiling of the joint model.",
    "normalized_ci_low": "Lower end of the joint normalized score's 95 % bootstrap interval (clips resampled).",
    "normalized_ci_high": "Upper end of that interval.",
    "included": "normalized_ci_low > 0 and the ceiling's interval above min_ceiling: the joint model explains this "
                "unit reliably, and it counts in the medians (shares are reported with five such units or more).",
    "gamma": "Band weight the unit's random search chose (on the simplex over bands), mean over outer folds.",
}


def partition_table_name(activations: str) -> str:
    """``variance_partition`` for ``videomae_activations``; ``variance_partition_<table>`` otherwise."""
    return PARTITION if activations == DEFAULT_ACTIVATIONS else f"{PARTITION}_{activations}"


def partition_table(nwb: NWBFile, result: BandedResult, activations: str, presentations: dict | None = None
                    ) -> DynamicTable:
    """The ``variance_partition`` table of ``result``, one row per (unit, band)."""
    n_bands, n_units = result.r2.shape
    per_unit = lambda a: np.tile(np.asarray(a), n_bands)  # noqa: E731
    ci = result.joint_ci if result.joint_ci is not None else np.full((n_units, 2), np.nan)
    values = {"unit_name": list(result.unit_names) * n_bands, "band": [b for b in result.bands for _ in range(n_units)],
              "r2": result.r2.ravel(), "share": result.share.ravel(), "r2_joint": per_unit(result.r2_joint),
              "r": per_unit(result.r), "ceiling": per_unit(result.ceiling), "normalized": per_unit(result.normalized),
              "normalized_ci_low": per_unit(ci[:, 0]), "normalized_ci_high": per_unit(ci[:, 1]),
              "included": per_unit(result.included), "gamma": result.gamma.T.ravel()}
    params = {k: v for k, v in to_dict(result.params).items() if k != "layer"}
    description = with_provenance(
        "Variance partition over layers: one banded ridge per unit whose bands are the layers (himalaya's random "
        "search over band weights), each band's part of the held-out R²; one row per unit and band "
        "(nwb_it compare --banded).", "compare", params, activations=activations, bands=result.bands,
        summary=result.summary(), presentations=presentations or {})
    region = DynamicTableRegion(name="unit", description="Row of the units table.",
                                data=np.tile(np.asarray(result.unit_ids, dtype=np.int64), n_bands), table=nwb.units)
    return DynamicTable(name=partition_table_name(activations), description=description,
                        columns=[region, *(VectorData(name=k, description=d, data=values[k])
                                           for k, d in PARTITION_COLUMNS.items())])
