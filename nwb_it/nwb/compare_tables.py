"""The comparison's tables in ``processing/ecephys``, one column dictionary each (name -> description).

* ``encoding``: one row per (unit, layer): held-out r, ceiling, normalized score, baselines;
* ``encoding_time``: one row per (unit, layer, time bin after onset): the same, bin by bin;
* ``rsa``: one row per layer: ρ with its interval and p, the ceiling with its interval, both RDMs.

For activations other than ``videomae_activations`` the names get ``_<table>``
(``encoding_timesformer_activations``...). Each description ends with the provenance
JSON: parameters and the model. The per-layer and per-bin summaries and the index of what
was compared are tables of their own (:mod:`nwb_it.nwb.compare_summaries`).
"""
from __future__ import annotations

import numpy as np
from hdmf.common import DynamicTable, DynamicTableRegion, VectorData
from pynwb import NWBFile

from ..core.params import DEFAULT_ACTIVATIONS, MISC_MODULE, to_dict
from ..core.provenance import read_provenance, with_provenance
from ..core.results import EncodingResult, RSAResult, normalized_score
from .compare_summaries import index_row, index_table, layer_table, read_curves, time_table
from .results import MODULE

ENCODING, ENCODING_TIME, RSA = "encoding", "encoding_time", "rsa"
_SCORE = "sign(r) r**2 / ceiling: the fraction of the explainable variance predicted (negative when r < 0)"
_PER_FOLD = "the held-out predictions of all outer folds pooled (one intercept: the mean of all clips)"
_CEILING = ("the reliability of the repeat-averaged PSTH (the r**2 a perfect model reaches): split-half r over the "
            "cells from 20 random halvings, Spearman-Brown corrected, on all clips (nwb_it.process.ceilings)")

ENCODING_COLUMNS = {
    "unit_name": "Unit name (units table unit_name).",
    "layer": "Activations layer the row's model used.",
    "r": f"Pearson r of held-out predictions vs the repeat-averaged PSTH over (clip, bin) cells, {_PER_FOLD}.",
    "ceiling": f"Over all (clip, bin) cells, {_CEILING}.",
    "ceiling_ci_low": "Lower end of the ceiling's 95 % bootstrap interval over clips.",
    "ceiling_ci_high": "Upper end of the ceiling's 95 % bootstrap interval over clips.",
    "normalized": f"{_SCORE}.",
    "included": "ceiling_ci_low > min_ceiling: the unit counts in the medians (the others are reported only).",
    "alpha": "Ridge penalty (on standardised features), geometric median over folds of the one chosen per unit by "
             "held-out squared error.",
    "r_clip_shuffled": f"Held-out r of the model fed another clip's features at the same times, {_PER_FOLD}.",
    "normalized_clip_shuffled": f"Clip-shuffled baseline, {_SCORE}.",
    "r_onset_only": f"Held-out r of the training clips' mean time course (onset-only baseline), {_PER_FOLD}.",
    "normalized_onset_only": f"Onset-only baseline, {_SCORE}.",
    "predicted": "Held-out prediction of the repeat-averaged PSTH (spikes/s), clips x bins: clips in the order of "
                 "the description's `clips`, bins as this unit's rows of the time table (float32; the report's "
                 "clip view draws it over the measured PSTH).",
}
ENCODING_TIME_COLUMNS = {
    "unit_name": ENCODING_COLUMNS["unit_name"],
    "layer": ENCODING_COLUMNS["layer"],
    "bin_start": "Start of the time bin, seconds from clip onset.",
    "bin_stop": "End of the time bin, seconds from clip onset.",
    "r": f"Pearson r over clips of held-out predictions vs the PSTH in this bin, {_PER_FOLD}.",
    "ceiling": f"Over all clips in this bin, {_CEILING}.",
    "ceiling_ci_low": "Lower end of this bin's ceiling's 95 % bootstrap interval over clips.",
    "ceiling_ci_high": "Upper end of this bin's ceiling's 95 % bootstrap interval over clips.",
    "normalized": f"{_SCORE}.",
    "included": "The unit counts in the medians and, in this bin, the included units' median ceiling has its 95 % "
                "interval above min_ceiling (a bin's score: median sign(r) r**2 / median ceiling over them).",
    "r_clip_shuffled": "Clip-shuffled baseline's r in this bin.",
    "normalized_clip_shuffled": f"Clip-shuffled baseline, {_SCORE}.",
    "r_onset_only": "Onset-only baseline's r in this bin (0: its prediction is the same for every held-out clip).",
    "normalized_onset_only": f"Onset-only baseline, {_SCORE}.",
}
RSA_COLUMNS = {
    "layer": "Activations layer of the model RDM.",
    "distance": "Neural RDM: crossnobis (cross-validated Euclidean across halves of the repeats), poisson "
                "(cross-validated KL for counts) or correlation (1 - Pearson of repeat means).",
    "rho": "Spearman rho between the full-data neural and the model RDM upper triangles (full data: not on the "
           "ceiling's scale, see rho_halves).",
    "rho_ci_low": "2.5 % bootstrap quantile of rho, clips resampled.",
    "rho_ci_high": "97.5 % bootstrap quantile of rho, clips resampled.",
    "p_value": "Fraction of clip-label permutations of the model RDM with rho at least as large (1 + k)/(1 + n).",
    "rho_halves": "Mean Spearman rho of the model RDM with the RDMs of two disjoint halves of the repeats (the "
                  "ceiling's half-data scale).",
    "ceiling": "Noise ceiling on the half-data rho scale: a perfect model's expected rho with a half RDM, "
               "sqrt(mean over halvings of rho between the two halves' RDMs); NaN when that mean's 95 % interval "
               "reaches 0 (ceiling_note says so).",
    "ceiling_ci_low": "2.5 % bootstrap quantile of the ceiling: clips resampled, sqrt of the mean over all halvings "
                      "(0 where the agreement's quantile is not positive).",
    "ceiling_ci_high": "97.5 % bootstrap quantile of the ceiling (as ceiling_ci_low).",
    "normalized": "rho_halves / ceiling (both on the half-data scale).",
    "ceiling_note": "Why there is no ceiling, where there is none (empty otherwise).",
    "ceiling_lower": "rsatoolbox boot_noise_ceiling lower bound of the two half RDMs.",
    "ceiling_upper": "rsatoolbox boot_noise_ceiling upper bound of the two half RDMs.",
    "neural_rdm": "Neural RDM (clips x clips).",
    "model_rdm": "Model RDM (clips x clips): squared Euclidean per feature (1 - Pearson with correlation).",
}


def compare_table_names(activations: str) -> tuple[str, str, str]:
    """``encoding``/``encoding_time``/``rsa`` for ``videomae_activations``; with ``_<table>`` otherwise."""
    if activations == DEFAULT_ACTIVATIONS:
        return ENCODING, ENCODING_TIME, RSA
    return f"{ENCODING}_{activations}", f"{ENCODING_TIME}_{activations}", f"{RSA}_{activations}"


def _columns(spec: dict[str, str], values: dict[str, object]) -> list[VectorData]:
    return [VectorData(name=name, description=description, data=values[name]) for name, description in spec.items()]


def _region(nwb: NWBFile, unit_ids: np.ndarray) -> DynamicTableRegion:
    return DynamicTableRegion(name="unit", description="Row of the units table.",
                              data=np.asarray(unit_ids, dtype=np.int64), table=nwb.units)


def _encoding_values(results: dict[str, tuple[EncodingResult, RSAResult]]) -> dict[str, object]:
    encs = list(zip(*results.values()))[0]
    stack = lambda attr: np.concatenate([np.asarray(getattr(e, attr)) for e in encs])  # noqa: E731
    first = encs[0]
    out: dict[str, object] = {"unit_name": list(first.unit_names) * len(encs),
                              "layer": [k for k in results for _ in first.unit_ids]}
    ci = np.concatenate([_interval(e.ceiling_ci, e.ceiling.shape) for e in encs])
    out["ceiling_ci_low"], out["ceiling_ci_high"] = ci[..., 0], ci[..., 1]
    out["predicted"] = np.concatenate([np.asarray(e.predicted, dtype=np.float32) for e in encs])
    for name in ENCODING_COLUMNS:
        if name not in out:
            out[name] = stack(name)
    return out


def _interval(ci: np.ndarray | None, shape: tuple[int, ...]) -> np.ndarray:
    """A ceiling's interval, NaN where a result has none."""
    return np.full((*shape, 2), np.nan) if ci is None else np.asarray(ci, dtype=np.float64)


def _time_values(results: dict[str, tuple[EncodingResult, RSAResult]]) -> tuple[np.ndarray, dict[str, object]]:
    rows: dict[str, list] = {name: [] for name in ENCODING_TIME_COLUMNS}
    ids = []
    for layer, (enc, _) in results.items():
        t = enc.time
        n_units, n_bins = t.r.shape
        ids.append(np.repeat(enc.unit_ids, n_bins))
        ci = _interval(t.ceiling_ci, t.ceiling.shape)
        per_unit = {"unit_name": np.repeat(np.asarray(enc.unit_names, dtype=object), n_bins).tolist(),
                    "ceiling_ci_low": ci[..., 0].ravel(), "ceiling_ci_high": ci[..., 1].ravel(),
                    "layer": [layer] * (n_units * n_bins), "bin_start": np.tile(t.bin_start, n_units),
                    "bin_stop": np.tile(t.bin_stop, n_units), "r": t.r.ravel(), "ceiling": t.ceiling.ravel(),
                    "normalized": t.normalized.ravel(), "included": t.included.ravel(),
                    "r_clip_shuffled": t.r_clip_shuffled.ravel(),
                    "normalized_clip_shuffled": normalized_score(t.r_clip_shuffled, t.ceiling).ravel(),
                    "r_onset_only": t.r_onset_only.ravel(),
                    "normalized_onset_only": normalized_score(t.r_onset_only, t.ceiling).ravel()}
        for name in rows:
            rows[name].extend(list(per_unit[name]) if name in ("unit_name", "layer") else [per_unit[name]])
    values = {k: (v if k in ("unit_name", "layer") else np.concatenate(v)) for k, v in rows.items()}
    return np.concatenate(ids), values


def _rsa_values(results: dict[str, tuple[EncodingResult, RSAResult]]) -> dict[str, object]:
    rsas = [r for _, r in results.values()]
    return {"layer": list(results), "distance": [r.distance for r in rsas], "rho": [r.rho for r in rsas],
            "rho_ci_low": [r.rho_ci[0] for r in rsas], "rho_ci_high": [r.rho_ci[1] for r in rsas],
            "p_value": [r.p_value for r in rsas], "rho_halves": [r.rho_halves for r in rsas],
            "ceiling": [r.ceiling for r in rsas],
            "ceiling_ci_low": [r.ceiling_ci[0] for r in rsas], "ceiling_ci_high": [r.ceiling_ci[1] for r in rsas],
            "normalized": [r.normalized for r in rsas], "ceiling_note": [r.ceiling_note for r in rsas],
            "ceiling_lower": [r.ceiling_lower for r in rsas],
            "ceiling_upper": [r.ceiling_upper for r in rsas], "neural_rdm": np.stack([r.neural_rdm for r in rsas]),
            "model_rdm": np.stack([r.model_rdm for r in rsas])}


def time_summary(enc: EncodingResult) -> dict[str, list[float]]:
    """Per bin: medians of the included units (score, baselines), Brain-Score's convention and the interval."""
    t = enc.time
    med = t.medians()
    return {"bin_start": t.bin_start.tolist(), "bin_stop": t.bin_stop.tolist(),
            **{k: np.asarray(v, dtype=float).tolist() for k, v in med.items()},
            "ci_low": t.median_ci[:, 0].tolist(), "ci_high": t.median_ci[:, 1].tolist()}


def compare_tables(nwb: NWBFile, results: dict[str, tuple[EncodingResult, RSAResult]], activations: str,
                   presentations: dict | None = None, partition: str = "") -> list[DynamicTable]:
    """The ``encoding``, ``encoding_time`` and ``rsa`` tables of ``results`` (``{layer: (encoding, rsa)}``), their
    per-layer and per-bin summaries and the file's ``comparisons`` index with this comparison's row
    (:mod:`nwb_it.nwb.compare_summaries`); ``partition``: the name of the variance-partition table written beside."""
    layers = list(results)
    first, first_rsa = results[layers[0]]
    params = {k: v for k, v in to_dict(first.params).items() if k != "layer"}
    model = _model_provenance(nwb, activations)
    extra = dict(activations=activations, layers=layers, presentations=presentations or {},
                 family=model.get("family"), n_layers=model.get("n_layers"),
                 conventions={"median": "median over included units of sign(r) r**2 / ceiling (ceiling: the "
                                        "reliability of the PSTH, the r**2 a perfect model reaches)",
                              "brainscore_explained_variance": "median over included units of (r / ceiling)**2, "
                                                               "Brain-Score's explained_variance (a perfect model "
                                                               "scores 1 / ceiling there)"})
    names = compare_table_names(activations)
    encoding = DynamicTable(name=names[0], description=with_provenance(
        "Ridge encoding model of each unit's PSTH from lagged model activations, outer folds split by clip, with "
        "a clip-shuffled and an onset-only baseline; one row per unit and layer (nwb_it compare).", "compare",
        params, clips=list(first.clip_names), **extra),
        columns=[_region(nwb, np.tile(first.unit_ids, len(layers))), *_columns(ENCODING_COLUMNS,
                                                                               _encoding_values(results))])
    ids, values = _time_values(results)
    encoding_time = DynamicTable(name=names[1], description=with_provenance(
        "The encoding model's scores bin by bin after clip onset: r over clips, the bin's own ceiling, baselines; "
        "one row per unit, layer and bin (nwb_it compare).", "compare", params, **extra),
        columns=[_region(nwb, ids), *_columns(ENCODING_TIME_COLUMNS, values)])
    rsa_table = DynamicTable(name=names[2], description=with_provenance(
        f"Representational similarity of IT and model activations over {len(first_rsa.clip_names)} clips, one "
        "row per layer (nwb_it compare).", "compare", params, clips=first_rsa.clip_names, **extra),
        columns=_columns(RSA_COLUMNS, _rsa_values(results)))
    summaries = [layer_table(activations, {k: results[k][0].summary() for k in layers}),
                 time_table(activations, {k: time_summary(results[k][0]) for k in layers})]
    row = index_row(activations, model.get("family"), model.get("n_layers"), layers, names, partition)
    return [encoding, encoding_time, rsa_table, *summaries, index_table(nwb, MODULE, row)]


def _model_provenance(nwb: NWBFile, activations: str) -> dict:
    try:
        return read_provenance(nwb.processing[MISC_MODULE][activations].description).get("model", {})
    except KeyError:
        return {}


def layer_summaries(nwb: NWBFile) -> list[dict]:
    """Per compared activations table: family, depth, per-layer summaries and per-bin time courses (figures).

    Read from the ``comparisons`` index and its summary tables; a file written before them (nwb_it 0.3 and
    earlier) from the JSON its encoding tables' descriptions carried."""
    curves = read_curves(nwb, MODULE)
    if curves is not None:
        return curves
    module = nwb.processing.get(MODULE)
    out = []
    tables = module.data_interfaces if module is not None else {}
    for name, table in tables.items():
        prov = read_provenance(table.description) if isinstance(table, DynamicTable) else {}
        activations = prov.get("activations")
        # an encoding table is the one its own record names as its activations' encoding table (never a name
        # prefix: "encoding_timesformer_activations" starts like "encoding_time")
        if isinstance(activations, str) and compare_table_names(activations)[0] == name and \
                isinstance(prov.get("summary"), dict) and prov.get("layers"):
            time_name = compare_table_names(activations)[1]
            time = read_provenance(tables[time_name].description).get("time_summary", {}) \
                if time_name in tables else {}
            out.append({"activations": activations, "family": prov.get("family") or name,
                        "n_layers": prov.get("n_layers"), "summary": prov["summary"], "time": time})
    return out


def read_encoding_rows(nwb: NWBFile) -> list[dict]:
    """Every compared activations table's encoding rows, as arrays: ``unit_id``, ``layer``, ``normalized``,
    ``included``, ``predicted`` (rows, clips, bins; None in files written before predictions were stored), with
    ``clips`` (the prediction's clip order) and ``edges`` (its bins, seconds from onset)."""
    tables = nwb.processing[MODULE].data_interfaces if MODULE in nwb.processing else {}
    out = []
    for curve in layer_summaries(nwb):
        names = compare_table_names(curve["activations"])
        table = tables[names[0]]
        prov = read_provenance(table.description)
        predicted = table["predicted"].data[:] if "predicted" in table.colnames else None
        time = curve.get("time") or {}
        layers = list(time)
        edges = None
        if layers and time[layers[0]].get("bin_start"):
            first = time[layers[0]]
            edges = np.append(np.asarray(first["bin_start"], dtype=float), first["bin_stop"][-1])
        out.append({**curve, "unit_id": np.asarray(table["unit"].data[:], dtype=np.int64),
                    "layer": np.asarray(table["layer"].data[:]).astype(str),
                    "normalized": np.asarray(table["normalized"].data[:], dtype=float),
                    "included": np.asarray(table["included"].data[:], dtype=bool),
                    "predicted": predicted, "clips": list(prov.get("clips", [])), "edges": edges})
    return out
