"""Model activations in the session's NWB file: ``processing/misc/<name>``, one row per (clip, window).

Columns: ``clip_key``, ``stimulus_name`` and ``stimulus_index`` of the matching
trials clip, ``window`` (index within the clip), ``last_frame`` (index of the
window's last frame within the clip; negative inside the leading grey), ``time``
(that frame's onset relative to clip onset, ``last_frame / fps`` seconds) and one
2-D column per layer, ``activations_<layer>`` (rows x hidden). The provenance
(model, config hash, family, tokens, layers, pooling, padding, grey, dtype, fps, ...)
is the JSON line at the end of the description.
"""
from __future__ import annotations

import numpy as np
from hdmf.common import DynamicTable, VectorData
from pynwb import NWBFile

from ..core.errors import NwbItError
from ..core.params import DEFAULT_ACTIVATIONS, MISC_DESCRIPTION, MISC_MODULE
from ..core.provenance import read_provenance, with_provenance
from ..core.results import Activations

MODULE, MODULE_DESCRIPTION = MISC_MODULE, MISC_DESCRIPTION
PREFIX = "activations_"


def activations_table(acts: Activations, name: str = DEFAULT_ACTIVATIONS) -> DynamicTable:
    """The table for activations matched to a session's clips (``acts.stimulus_names`` set)."""
    if acts.stimulus_names is None or acts.stimulus_index is None:
        raise ValueError("match the activations to the session's clips first")
    cw = acts.clip_of_window
    columns = [
        VectorData(name="clip_key", description="Clip key from the frame files.",
                   data=[acts.clip_keys[c] for c in cw]),
        VectorData(name="stimulus_name", description="The clip's stimulus_name in the trials table.",
                   data=[acts.stimulus_names[c] for c in cw]),
        VectorData(name="stimulus_index", description="The clip's stimulus_index in the trials table.",
                   data=acts.window_stimulus_index.astype(np.int64)),
        VectorData(name="window", description="Index of the sliding window within its clip.", data=acts.window),
        VectorData(name="last_frame", description="Index of the window's last frame within the clip (negative "
                   "inside the leading grey padding, >= the clip's frame count inside the trailing grey).",
                   data=acts.last_frame),
        VectorData(name="time", description=f"Onset of the window's last frame relative to clip onset, "
                   f"last_frame / fps (fps = {acts.fps:g}), in seconds.", data=acts.time),
    ]
    family = acts.provenance.get("family", "model")
    for layer, values in acts.layers.items():
        what = ("last_hidden_state (after the model's final LayerNorm, as the lab's script)" if layer == "last"
                else f"hidden_states[{layer[5:]}] (0 = embeddings)")
        columns.append(VectorData(name=f"{PREFIX}{layer}", description=(
            f"{family} {what}: the {acts.provenance.get('tokens', 'last time step tokens')} pooled over space "
            f"({acts.provenance.get('pool')}); rows x hidden units."), data=values))
    return DynamicTable(name=name, description=with_provenance(
        f"{family} activations of the clips' sliding windows (nwb_it extract).", "extract", {},
        model=acts.provenance), columns=columns)


def activation_tables(nwb: NWBFile) -> list[str]:
    """Names of the activations tables in an open NWB file."""
    module = nwb.processing.get(MODULE)
    if module is None:
        return []
    return [name for name, table in module.data_interfaces.items()
            if isinstance(table, DynamicTable) and any(c.startswith(PREFIX) for c in table.colnames)]


def read_activations(nwb: NWBFile, name: str = DEFAULT_ACTIVATIONS, with_layers: bool = True) -> Activations:
    """The activations table ``name`` of an open NWB file (``with_layers=False``: windows and clips only)."""
    module = nwb.processing.get(MODULE)
    if module is None or name not in module.data_interfaces:
        have = activation_tables(nwb)
        if have:
            raise NwbItError(f"the file has no activations table '{name}' (it has: {', '.join(have)}): choose one "
                             "with `activations`, or compute it (nwb-it extract-activations ... --name "
                             f"{name})")
        raise NwbItError(f"the file has no activations table '{name}': compute one first (nwb-it "
                         f"extract-activations FRAMES --model DIR --nwb FILE --name {name}, or extract-videomae)")
    table = module[name]
    keys = np.asarray(table["clip_key"].data[:]).astype(str)
    clip_keys, first, clip_of_window = np.unique(keys, return_index=True, return_inverse=True)
    order = np.argsort(first)                    # clips in the order they were stored
    rank = np.empty_like(order)
    rank[order] = np.arange(order.size)
    names = np.asarray(table["stimulus_name"].data[:]).astype(str)[first[order]]
    index = np.asarray(table["stimulus_index"].data[:])[first[order]]
    layers = {c[len(PREFIX):]: np.asarray(table[c].data[:]) for c in table.colnames
              if c.startswith(PREFIX) and with_layers}
    return Activations(clip_keys=[str(k) for k in clip_keys[order]], clip_of_window=rank[clip_of_window],
                       window=np.asarray(table["window"].data[:]), last_frame=np.asarray(table["last_frame"].data[:]),
                       layers=layers, provenance=read_provenance(table.description).get("model", {}),
                       stimulus_names=[str(n) for n in names], stimulus_index=index)
