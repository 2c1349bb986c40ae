"""Analysis result tables in ``processing/ecephys``: written from and read back into result objects.

* ``reliability``: one row per unit (region into units), the summary statistics and
  the split-half distributions (units x n_perm);
* ``encoding``: one row per compared unit; ``rsa``: one row with both RDMs.

Each table's description ends with its provenance as JSON (:mod:`nwb_it.core.provenance`).
"""
from __future__ import annotations

import numpy as np
from hdmf.common import DynamicTable, DynamicTableRegion, VectorData
from pynwb import NWBFile

from ..core.errors import NwbItError
from ..core.params import ReliabilityParams, from_dict, to_dict
from ..core.provenance import read_provenance, with_provenance
from ..core.results import EncodingResult, ReliabilityResult, RSAResult

MODULE = "ecephys"
MODULE_DESCRIPTION = "Extracellular electrophysiology analyses by nwb_it."
RELIABILITY, ENCODING, RSA = "reliability", "encoding", "rsa"

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
}


def _unit_region(nwb: NWBFile, unit_ids: np.ndarray) -> DynamicTableRegion:
    return DynamicTableRegion(name="unit", description="Row of the units table.",
                              data=np.asarray(unit_ids, dtype=np.int64), table=nwb.units)


def _table(nwb: NWBFile, name: str) -> DynamicTable:
    try:
        return nwb.processing[MODULE][name]
    except KeyError:
        raise NwbItError(f"the file has no {name} table: run nwb-it {'compare' if name != RELIABILITY else name} "
                         "first") from None


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


def read_reliability(nwb: NWBFile) -> ReliabilityResult:
    """The reliability results stored in an open NWB file."""
    table = _table(nwb, RELIABILITY)
    prov = read_provenance(table.description)
    col = {c: np.asarray(table[c].data[:]) for c in ("dprime", "spearman_brown_mean_r", "agreement", "p_value",
                                                     "q_value", "r2_true", "r2_null", "r_true")}
    return ReliabilityResult(unit_ids=np.asarray(table["unit"].data[:]),
                             unit_names=[str(n) for n in table["unit_name"].data[:]], **col,
                             params=from_dict(ReliabilityParams, prov.get("parameters", {})))


def read_reliability_or_none(nwb: NWBFile) -> ReliabilityResult | None:
    try:
        return read_reliability(nwb)
    except NwbItError:
        return None


def compare_tables(nwb: NWBFile, enc: EncodingResult, res: RSAResult, activations: str,
                   presentations: dict | None = None) -> list[DynamicTable]:
    params = to_dict(enc.params)
    where = presentations or {}
    score = "sign(r) r**2 / ceiling: the fraction of the explainable variance predicted (negative when r < 0)"
    encoding = DynamicTable(name=ENCODING, description=with_provenance(
        "Ridge encoding model of each unit's PSTH from lagged model activations, outer folds split by clip, with "
        "two baselines: the same model fed another clip's features at the same times (clip_shuffled) and a model "
        "of the time since onset alone (onset_only) (nwb_it compare).", "compare", params, activations=activations,
        summary=enc.summary(), presentations=where), columns=[
        _unit_region(nwb, enc.unit_ids),
        VectorData(name="unit_name", description="Unit name (units table unit_name).", data=list(enc.unit_names)),
        VectorData(name="r", description="Pearson r of held-out predictions vs the repeat-averaged PSTH.", data=enc.r),
        VectorData(name="ceiling", description="Split-half reliability of the PSTH, Spearman-Brown corrected "
                   "(r**2 scale).", data=enc.ceiling),
        VectorData(name="normalized", description=f"{score}.", data=enc.normalized),
        VectorData(name="alpha", description="Ridge penalty chosen most often by the inner cross-validation.",
                   data=enc.alpha),
        VectorData(name="r_clip_shuffled", description="Held-out r of the model fed another clip's features at "
                   "the same times.", data=enc.r_clip_shuffled),
        VectorData(name="normalized_clip_shuffled", description=f"Clip-shuffled baseline, {score}.",
                   data=enc.normalized_clip_shuffled),
        VectorData(name="r_onset_only", description="Held-out r of a model of the time since onset alone.",
                   data=enc.r_onset_only),
        VectorData(name="normalized_onset_only", description=f"Onset-only baseline, {score}.",
                   data=enc.normalized_onset_only)])
    rsa_table = DynamicTable(name=RSA, description=with_provenance(
        f"Representational similarity of IT and model activations over {len(res.clip_names)} clips "
        "(nwb_it compare).", "compare", params, activations=activations, clips=res.clip_names,
        presentations=where), columns=[
        VectorData(name="rho", description="Spearman rho between neural and model RDM upper triangles.",
                   data=[res.rho]),
        VectorData(name="ceiling", description="Noise ceiling on the rho scale: sqrt(Spearman-Brown(rho between "
                   "the RDMs of two halves of the repeats)), mean over splits.", data=[res.ceiling]),
        VectorData(name="normalized", description="rho / ceiling.", data=[res.normalized]),
        VectorData(name="ceiling_lower", description="rsatoolbox-style lower bound at the half level: rho between "
                   "the two halves' RDMs.", data=[res.ceiling_lower]),
        VectorData(name="ceiling_upper", description="rsatoolbox-style upper bound at the half level: rho of each "
                   "half's RDM with their mean.", data=[res.ceiling_upper]),
        VectorData(name="neural_rdm", description="1 - Pearson of population responses (clips x clips).",
                   data=res.neural_rdm[None]),
        VectorData(name="model_rdm", description="1 - Pearson of clip-averaged activations (clips x clips).",
                   data=res.model_rdm[None])])
    return [encoding, rsa_table]


def read_compare(nwb: NWBFile) -> tuple[dict, dict]:
    """The stored encoding (columns by name) and RSA results, each with its provenance under 'provenance'."""
    out = []
    for name in (ENCODING, RSA):
        table = _table(nwb, name)
        values = {c: np.asarray(table[c].data[:]) for c in table.colnames}
        values["provenance"] = read_provenance(table.description)
        out.append(values)
    return out[0], out[1]

