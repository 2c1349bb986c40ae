"""The comparison's summaries as tables of their own, and the index of what was compared.

In ``processing/ecephys``, beside the per-unit tables (:mod:`nwb_it.nwb.compare_tables`):

* ``compare_layers[_<table>]``: one row per layer — the medians of the included units, their interval,
  the distance to each baseline, Brain-Score's convention and the unit counts (:data:`LAYER_COLUMNS`);
* ``compare_time[_<table>]``: one row per layer and time bin after onset (:data:`TIME_COLUMNS`);
* ``comparisons``: one row per activations table compared in this file — its model family and depth, its
  layers in order, and the names of every table compare wrote for it (:data:`INDEX_COLUMNS`).

``summary``, the figures and the report read these (:func:`read_curves`). Files written by nwb_it
0.3 and earlier kept the summaries as JSON in the encoding tables' descriptions; they are still read
(:func:`nwb_it.nwb.compare_tables.layer_summaries` falls back to them).
"""
from __future__ import annotations

import numpy as np
from hdmf.common import DynamicTable, VectorData
from pynwb import NWBFile

from ..core.params import DEFAULT_ACTIVATIONS
from ..core.provenance import package_version

INDEX = "comparisons"

LAYER_COLUMNS = {
    "layer": "Activations layer (rows in the model's order, input side first).",
    "median": "Median over the included units of sign(r) r**2 / ceiling: the fraction of the explainable variance "
              "predicted.",
    "ci_low": "Lower end of the median's 95 % bootstrap interval over clips.",
    "ci_high": "Upper end of the median's 95 % bootstrap interval over clips.",
    "above_clip_shuffled": "Median over the included units of the score minus the clip-shuffled baseline's.",
    "above_onset_only": "Median over the included units of the score minus the onset-only baseline's.",
    "brainscore_explained_variance": "Median over the included units of (r / ceiling)**2, Brain-Score's "
                                     "explained_variance convention (a perfect model scores 1 / ceiling there).",
    "units_scored": "Units included in the medians (ceiling interval above min_ceiling).",
    "units_below_ceiling": "Units reported only (ceiling interval not above min_ceiling).",
}
TIME_COLUMNS = {
    "layer": LAYER_COLUMNS["layer"],
    "bin_start": "Start of the time bin, seconds from clip onset.",
    "bin_stop": "End of the time bin, seconds from clip onset.",
    "median": "The bin's score: the included units' median sign(r) r**2 over their median ceiling.",
    "clip_shuffled": "The clip-shuffled baseline's score in this bin (as median).",
    "onset_only": "The onset-only baseline's score in this bin (as median).",
    "brainscore_explained_variance": "Median over the included units of (r / ceiling)**2 in this bin.",
    "ci_low": "Lower end of the bin score's 95 % bootstrap interval over clips.",
    "ci_high": "Upper end of the bin score's 95 % bootstrap interval over clips.",
}
INDEX_COLUMNS = {
    "activations": "The activations table compared (processing/misc).",
    "family": "Its model family (from the activations' provenance; the table name where unknown).",
    "n_layers": "The model's number of transformer layers (-1 where unknown).",
    "layers": "The layers compared, in the model's order, comma-separated.",
    "encoding_table": "Per-unit encoding table (processing/ecephys).",
    "encoding_time_table": "Per-unit, per-bin encoding table.",
    "rsa_table": "Per-layer RSA table.",
    "layers_table": "Per-layer summary table.",
    "time_table": "Per-layer, per-bin summary table.",
    "partition_table": "Variance-partition table of a banded ridge over the layers ('' when none was fitted).",
    "nwb_it_version": "The nwb_it version that wrote these tables.",
}


def summary_table_names(activations: str) -> tuple[str, str]:
    """``compare_layers``/``compare_time`` for ``videomae_activations``; with ``_<table>`` otherwise."""
    suffix = "" if activations == DEFAULT_ACTIVATIONS else f"_{activations}"
    return f"compare_layers{suffix}", f"compare_time{suffix}"


def _table(name: str, description: str, spec: dict[str, str], values: dict[str, list]) -> DynamicTable:
    return DynamicTable(name=name, description=description, columns=[
        VectorData(name=k, description=d, data=values[k]) for k, d in spec.items()])


def layer_table(activations: str, summaries: dict[str, dict]) -> DynamicTable:
    """``compare_layers[_<table>]`` from ``{layer: EncodingResult.summary()}``."""
    values = {k: [summaries[layer][k] if k != "layer" else layer for layer in summaries] for k in LAYER_COLUMNS}
    return _table(summary_table_names(activations)[0], f"The encoding model's summary per layer of {activations} "
                  "(nwb_it compare; columns documented in nwb_it.nwb.compare_summaries).", LAYER_COLUMNS, values)


def time_table(activations: str, courses: dict[str, dict]) -> DynamicTable:
    """``compare_time[_<table>]`` from ``{layer: time_summary(EncodingResult)}``."""
    values: dict[str, list] = {k: [] for k in TIME_COLUMNS}
    for layer, course in courses.items():
        n = len(course["bin_start"])
        values["layer"] += [layer] * n
        for k in TIME_COLUMNS:
            if k != "layer":
                values[k] += [float(v) for v in course[k]]
    return _table(summary_table_names(activations)[1], f"The encoding model's score per layer and time bin of "
                  f"{activations} (nwb_it compare).", TIME_COLUMNS, values)


def _columns(table: DynamicTable, names) -> dict[str, np.ndarray]:
    """Each named column of a table read once, as an array (text decoded)."""
    out = {}
    for k in names:
        values = np.asarray(table[k].data[:])
        out[k] = values.astype(str) if values.dtype.kind in "OSU" else values
    return out


def _index_rows(nwb: NWBFile, module: str) -> list[dict]:
    mod = nwb.processing.get(module)
    if mod is None or INDEX not in mod.data_interfaces:
        return []
    columns = _columns(mod[INDEX], INDEX_COLUMNS)
    return [{k: v[i] for k, v in columns.items()} for i in range(len(mod[INDEX]))]


def index_table(nwb: NWBFile, module: str, row: dict) -> DynamicTable:
    """``comparisons``: the file's index with ``row`` added (a row of the same activations replaced)."""
    rows = [r for r in _index_rows(nwb, module) if str(r["activations"]) != row["activations"]] + [row]
    values = {k: [r[k] for r in rows] for k in INDEX_COLUMNS}
    values["n_layers"] = [int(v) for v in values["n_layers"]]
    values["nwb_it_version"] = [str(v) for v in values["nwb_it_version"]]
    return _table(INDEX, "What nwb_it compare compared in this file: one row per activations table, with the names "
                  "of the tables holding its results.", INDEX_COLUMNS, values)


def index_row(activations: str, family: str | None, n_layers: int | None, layers: list[str],
              tables: tuple[str, str, str], partition: str = "") -> dict:
    """One row of ``comparisons``."""
    layers_name, time_name = summary_table_names(activations)
    return {"activations": activations, "family": family or activations,
            "n_layers": -1 if n_layers is None else int(n_layers), "layers": ",".join(layers),
            "encoding_table": tables[0], "encoding_time_table": tables[1], "rsa_table": tables[2],
            "layers_table": layers_name, "time_table": time_name, "partition_table": partition,
            "nwb_it_version": package_version()}


def read_curves(nwb: NWBFile, module: str) -> list[dict] | None:
    """Per compared activations table, from the index: ``activations``, ``family``, ``n_layers``, ``summary``
    (``{layer: {column: value}}``) and ``time`` (``{layer: {column: [per bin]}}``); None when the file has no index
    (written before nwb_it 0.4)."""
    mod = nwb.processing.get(module)
    if mod is None or INDEX not in mod.data_interfaces:
        return None
    out = []
    for row in _index_rows(nwb, module):
        per_layer = _columns(mod[str(row["layers_table"])], LAYER_COLUMNS)
        per_bin = _columns(mod[str(row["time_table"])], TIME_COLUMNS)
        names = per_layer["layer"]
        summary = {str(layer): {k: _plain(per_layer[k][i]) for k in LAYER_COLUMNS if k != "layer"}
                   for i, layer in enumerate(names)}
        time = {str(layer): {k: per_bin[k][per_bin["layer"] == layer].astype(float).tolist()
                             for k in TIME_COLUMNS if k != "layer"} for layer in names}
        n_layers = int(row["n_layers"])
        out.append({"activations": str(row["activations"]), "family": str(row["family"]),
                    "n_layers": None if n_layers < 0 else n_layers, "summary": summary, "time": time})
    return out


def _plain(value):
    """A stored number as Python's own (counts as int)."""
    value = value.item() if hasattr(value, "item") else value
    return int(value) if isinstance(value, (int, np.integer)) else float(value)
