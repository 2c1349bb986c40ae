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
from ..core.params import DEFAULT_ACTIVATIONS, MISC_MODULE, ReliabilityParams, from_dict, to_dict
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
    try:
        table = nwb.processing[MODULE][RELIABILITY]
    except KeyError:
        raise NwbItError("the file has no reliability table: run the reliability step first "
                         "(nwb-it reliability)") from None
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


def compare_table_names(activations: str) -> tuple[str, str]:
    """``encoding``/``rsa`` for the lab's ``videomae_activations``; ``encoding_<table>``/``rsa_<table>`` otherwise."""
    if activations == DEFAULT_ACTIVATIONS:
        return ENCODING, RSA
    return f"{ENCODING}_{activations}", f"{RSA}_{activations}"


def compare_tables(nwb: NWBFile, results: dict[str, tuple[EncodingResult, RSAResult]], activations: str,
                   presentations: dict | None = None) -> list[DynamicTable]:
    """One row per (unit, layer) in the encoding table, one per layer in the RSA table."""
    layers = list(results)
    encs = [results[k][0] for k in layers]
    rsas = [results[k][1] for k in layers]
    first = encs[0]
    params = {k: v for k, v in to_dict(first.params).items() if k != "layer"}
    model = _model_provenance(nwb, activations)
    extra = dict(activations=activations, layers=layers, presentations=presentations or {},
                 family=model.get("family"), n_layers=model.get("n_layers"))
    n_units = len(first.unit_ids)

    def stack(attr: str) -> np.ndarray:
        return np.concatenate([np.asarray(getattr(e, attr)) for e in encs])

    score = "sign(r) r**2 / ceiling: the fraction of the explainable variance predicted (negative when r < 0)"
    names = compare_table_names(activations)
    encoding = DynamicTable(name=names[0], description=with_provenance(
        "Ridge encoding model of each unit's PSTH from lagged model activations, outer folds split by clip, with "
        "two baselines: the same model fed another clip's features at the same times (clip_shuffled) and a model "
        "of the time since onset alone (onset_only); one row per unit and layer (nwb_it compare).", "compare",
        params, summary={k: e.summary() for k, e in zip(layers, encs)}, **extra), columns=[
        _unit_region(nwb, np.tile(first.unit_ids, len(layers))),
        VectorData(name="unit_name", description="Unit name (units table unit_name).",
                   data=list(first.unit_names) * len(layers)),
        VectorData(name="layer", description="Activations layer the row's model used.",
                   data=[k for k in layers for _ in range(n_units)]),
        VectorData(name="r", description="Pearson r of held-out predictions vs the repeat-averaged PSTH.",
                   data=stack("r")),
        VectorData(name="ceiling", description="Split-half reliability of the PSTH, Spearman-Brown corrected "
                   "(r**2 scale).", data=stack("ceiling")),
        VectorData(name="normalized", description=f"{score}.", data=stack("normalized")),
        VectorData(name="alpha", description="Ridge penalty chosen most often by the inner cross-validation.",
                   data=stack("alpha")),
        VectorData(name="r_clip_shuffled", description="Held-out r of the model fed another clip's features at "
                   "the same times.", data=stack("r_clip_shuffled")),
        VectorData(name="normalized_clip_shuffled", description=f"Clip-shuffled baseline, {score}.",
                   data=stack("normalized_clip_shuffled")),
        VectorData(name="r_onset_only", description="Held-out r of a model of the time since onset alone.",
                   data=stack("r_onset_only")),
        VectorData(name="normalized_onset_only", description=f"Onset-only baseline, {score}.",
                   data=stack("normalized_onset_only"))])
    rsa_table = DynamicTable(name=names[1], description=with_provenance(
        f"Representational similarity of IT and model activations over {len(rsas[0].clip_names)} clips, one row "
        "per layer (nwb_it compare).", "compare", params, clips=rsas[0].clip_names, **extra), columns=[
        VectorData(name="layer", description="Activations layer of the model RDM.", data=layers),
        VectorData(name="rho", description="Spearman rho between neural and model RDM upper triangles.",
                   data=[r.rho for r in rsas]),
        VectorData(name="ceiling", description="Noise ceiling on the rho scale: sqrt(Spearman-Brown(rho between "
                   "the RDMs of two halves of the repeats)), mean over splits.", data=[r.ceiling for r in rsas]),
        VectorData(name="normalized", description="rho / ceiling.", data=[r.normalized for r in rsas]),
        VectorData(name="ceiling_lower", description="rsatoolbox-style lower bound at the half level: rho between "
                   "the two halves' RDMs.", data=[r.ceiling_lower for r in rsas]),
        VectorData(name="ceiling_upper", description="rsatoolbox-style upper bound at the half level: rho of each "
                   "half's RDM with their mean.", data=[r.ceiling_upper for r in rsas]),
        VectorData(name="neural_rdm", description="1 - Pearson of population responses (clips x clips).",
                   data=np.stack([r.neural_rdm for r in rsas])),
        VectorData(name="model_rdm", description="1 - Pearson of clip-averaged activations (clips x clips).",
                   data=np.stack([r.model_rdm for r in rsas]))])
    return [encoding, rsa_table]


def _model_provenance(nwb: NWBFile, activations: str) -> dict:
    try:
        return read_provenance(nwb.processing[MISC_MODULE][activations].description).get("model", {})
    except KeyError:
        return {}


def layer_summaries(nwb: NWBFile) -> list[dict]:
    """Per compared activations table: family, depth and the per-layer score summaries (for the layer figures)."""
    module = nwb.processing.get(MODULE)
    out = []
    for name, table in (module.data_interfaces.items() if module is not None else []):
        if name == ENCODING or name.startswith(f"{ENCODING}_"):
            prov = read_provenance(table.description)
            if isinstance(prov.get("summary"), dict) and prov.get("layers"):
                out.append({"activations": prov.get("activations", name), "family": prov.get("family") or name,
                            "n_layers": prov.get("n_layers"), "summary": prov["summary"]})
    return out
