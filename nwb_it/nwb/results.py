"""Analysis result tables in ``processing/ecephys``: written from and read back into result objects.

* ``reliability``: one row per unit (region into units), the summary statistics and
  the split-half distributions (units x n_perm);
* the comparison's tables (``encoding``, ``encoding_time``, ``rsa``): :mod:`nwb_it.nwb.compare_tables`.

Each table's description ends with its provenance as JSON (:mod:`nwb_it.core.provenance`).
"""
from __future__ import annotations

import numpy as np
from hdmf.common import DynamicTable, DynamicTableRegion, VectorData
from pynwb import NWBFile

from ..core.errors import NwbItError
from ..core.params import ReliabilityParams, from_dict, to_dict
from ..core.provenance import read_provenance, with_provenance
from ..core.recording import default_selection
from ..core.results import ReliabilityResult

MODULE = "ecephys"
MODULE_DESCRIPTION = "Extracellular electrophysiology analyses by nwb_it."
RELIABILITY = "reliability"

RELIABILITY_COLUMNS = {
    "unit_name": "Unit name (units table unit_name).",
    "dprime": "d' = (mean r2_true - mean r2_null) / (0.5 (sd r2_true + sd r2_null)); NaN when undefined.",
    "responsive": "d' > cutoff (False where d' is NaN).",
    "r2_true_mean": "Mean over random split halves of r2 (Pearson, clip x bin vectors of the two halves' mean counts).",
    "r2_true_sd": "Population standard deviation of the split-half r2.",
    "r2_null_mean": "Mean split-half r2 after the unit's presentations were dealt back out across clips.",
    "r2_null_sd": "Population standard deviation of the null r2.",
    "spearman_brown_mean_r": "Spearman-Brown correction of the mean split-half r: 2 mean(r) / (1 + mean(r)).",
    "agreement": "Closed-form split-half agreement (expected correlation of two half-means over clip x bin "
                 "cells, one-way ANOVA per bin): the statistic of the permutation test.",
    "p_value": "Permutation p-value of the agreement against independent deals of the presentations across "
               "clips: (1 + #deals >= observed) / (1 + #deals); NaN in lab-compatible mode.",
    "q_value": "Benjamini-Hochberg adjusted p_value over the units of this file.",
    "n_deals": "Deals behind the unit's p_value (sequential: more for units beyond almost all of them; 0 in "
               "lab-compatible mode).",
}


def _unit_region(nwb: NWBFile, unit_ids: np.ndarray) -> DynamicTableRegion:
    return DynamicTableRegion(name="unit", description="Row of the units table.",
                              data=np.asarray(unit_ids, dtype=np.int64), table=nwb.units)


def reliability_table(nwb: NWBFile, result: ReliabilityResult, presentations: dict | None = None) -> DynamicTable:
    df = result.to_dataframe()
    columns = [_unit_region(nwb, result.unit_ids)]
    for name, description in RELIABILITY_COLUMNS.items():
        values = df[name].to_numpy()
        columns.append(VectorData(name=name, description=description,
                                  data=list(values) if name == "unit_name" else values))
    columns += [VectorData(name="r2_true", description="Split-half r2 of every true split (units x n_perm).",
                           data=result.r2_true),
                VectorData(name="r2_null", description="Split-half r2 of every null split (units x n_perm).",
                           data=result.r2_null),
                VectorData(name="r_true", description="Signed split-half Pearson r of every true split "
                           "(units x n_perm), for the Spearman-Brown reliability.", data=result.r_true)]
    return DynamicTable(name=RELIABILITY, description=with_provenance(
        "Split-half reliability of each unit's responses across clips (nwb_it reliability).", "reliability",
        to_dict(result.params), presentations=presentations or {}), columns=columns)


def read_reliability_table(nwb: NWBFile) -> ReliabilityResult:
    """The reliability results stored in an open NWB file."""
    try:
        table = nwb.processing[MODULE][RELIABILITY]
    except KeyError:
        raise NwbItError("the file has no reliability table: run the reliability step first (nwb-it reliability); "
                         "if it wrote a derivative (a remote or read-only file), pass its folder as "
                         "`output.derivative_dir`") from None
    prov = read_provenance(table.description)
    col = {c: np.asarray(table[c].data[:]) for c in ("dprime", "spearman_brown_mean_r", "agreement", "p_value",
                                                     "q_value", "r2_true", "r2_null", "r_true")}
    deals = np.asarray(table["n_deals"].data[:]) if "n_deals" in table.colnames else None   # older files: absent
    return ReliabilityResult(unit_ids=np.asarray(table["unit"].data[:]),
                             unit_names=[str(n) for n in table["unit_name"].data[:]], **col,
                             params=from_dict(ReliabilityParams, prov.get("parameters", {})), n_deals=deals,
                             presentations=prov.get("presentations") or default_selection())


def read_reliability_table_or_none(nwb: NWBFile) -> ReliabilityResult | None:
    try:
        return read_reliability_table(nwb)
    except NwbItError:
        return None
