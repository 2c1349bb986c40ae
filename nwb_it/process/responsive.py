"""The ``reliability`` step: statistics for every unit of an NWB file, written back into it.

Result: ``processing/ecephys/reliability``, a DynamicTable with one row per unit,
a region ``unit`` into the units table, the columns of
:meth:`ReliabilityResult.to_dataframe` and the r2 distributions ``r2_true`` /
``r2_null`` (units x n_perm). The parameters are in the table's description.
"""
from __future__ import annotations

import pickle
import re
from pathlib import Path

import numpy as np
from hdmf.common import DynamicTable, DynamicTableRegion, VectorData
from pynwb import NWBFile

from ..errors import NwbItError
from ..io.append import reading, replace_in_module
from ..io.atomic import atomic_output
from .aligned import bin_aligned, read_presentations, unit_spike_times
from .reliability import ReliabilityParams, ReliabilityResult, reliability

MODULE, TABLE = "ecephys", "reliability"
COLUMNS = {
    "unit_name": "Unit name (units table unit_name).",
    "dprime": "d' = (mean r2_true - mean r2_null) / (0.5 (sd r2_true + sd r2_null)); NaN when undefined.",
    "responsive": "d' > cutoff (False where d' is NaN).",
    "r2_true_mean": "Mean over random split halves of r2 (Pearson, clip x bin vectors of the two halves' mean counts).",
    "r2_true_sd": "Population standard deviation of the split-half r2.",
    "r2_null_mean": "Mean split-half r2 after the unit's presentations were dealt back out across clips.",
    "r2_null_sd": "Population standard deviation of the null r2.",
    "reliability": "Spearman-Brown corrected split-half reliability, mean over splits of 2r/(1+r).",
    "p_value": "Permutation p-value of the mean true r2 against the null r2s: (1 + #null >= mean) / (1 + n).",
}


def _table(nwb: NWBFile, result: ReliabilityResult) -> DynamicTable:
    df = result.to_dataframe()
    columns = [DynamicTableRegion(name="unit", description="Row of the units table.",
                                  data=np.asarray(result.unit_ids, dtype=np.int64), table=nwb.units)]
    for name, description in COLUMNS.items():
        values = df[name].to_numpy()
        columns.append(VectorData(name=name, description=description,
                                  data=list(values) if name == "unit_name" else values))
    columns += [VectorData(name="r2_true", description="Split-half r2 of every true split (units x n_perm).",
                           data=result.r2_true),
                VectorData(name="r2_null", description="Split-half r2 of every null split (units x n_perm).",
                           data=result.r2_null),
                VectorData(name="r_true", description="Signed split-half Pearson r of every true split "
                           "(units x n_perm), for the Spearman-Brown reliability.", data=result.r_true)]
    return DynamicTable(name=TABLE, description=(
        "Split-half reliability of each unit's responses across clips (nwb_it reliability; parameters: "
        f"{result.params.describe()})."), columns=columns)


def read_params(description: str) -> ReliabilityParams:
    """The parameters recorded in a reliability table's description."""
    m = re.search(r"window=(\S+)\.\.(\S+) s, bin=(\S+) s, n_perm=(\d+), seed=(-?\d+), cutoff d'>(\S+?)\)", description)
    if not m:
        return ReliabilityParams()
    return ReliabilityParams(window=(float(m[1]), float(m[2])), bin_size=float(m[3]), n_perm=int(m[4]),
                             seed=int(m[5]), cutoff=float(m[6]))


def read_reliability(nwb: NWBFile) -> ReliabilityResult:
    """The reliability results stored in an open NWB file."""
    try:
        table = nwb.processing[MODULE][TABLE]
    except KeyError:
        raise NwbItError("the file has no reliability table: run nwb-it reliability first") from None
    r2_true = np.asarray(table["r2_true"].data[:])
    return ReliabilityResult(unit_ids=np.asarray(table["unit"].data[:]), unit_names=list(table["unit_name"].data[:]),
                             r2_true=r2_true, r2_null=np.asarray(table["r2_null"].data[:]),
                             r_true=np.asarray(table["r_true"].data[:]), params=read_params(table.description))


def export_pickle(nwb: NWBFile, unit_ids: np.ndarray, path: Path, overwrite: bool = True) -> None:
    """The seed's pickle: ``{'neuron_<unit>': [[onset-aligned spike times per repeat] per clip]}``.

    Clips are every stimulus_index from 0 to the largest (never shown: empty list);
    each repeat holds all spikes of its trial window, relative to onset.
    """
    pres = read_presentations(nwb)
    times, bounds = unit_spike_times(nwb)
    n_clips = int(pres.clip.max()) + 1
    order = np.lexsort((pres.repeat, pres.clip))
    out = {}
    for u in unit_ids:
        t = times[bounds[u]:bounds[u + 1]]
        lo = np.searchsorted(t, pres.start[order], "left")
        hi = np.searchsorted(t, pres.stop[order], "right")
        nested: list[list[np.ndarray]] = [[] for _ in range(n_clips)]
        for p, a, b in zip(order, lo, hi):
            nested[pres.clip[p]].append(t[a:b] - pres.onset[p])
        out[f"neuron_{int(u)}"] = nested
    with atomic_output(path, overwrite) as tmp:
        with open(tmp, "wb") as fh:
            pickle.dump(out, fh)


def run_reliability(nwb_path: str | Path, params: ReliabilityParams = ReliabilityParams(),
                    pickle_path: str | Path | None = None, progress: bool = False) -> ReliabilityResult:
    """Compute every unit's reliability statistics and store them in the same NWB file.

    A previous ``reliability`` table is replaced; units and trials are untouched.

    Examples
    --------
    >>> res = run_reliability("sub-coco/sub-coco_ses-fixshortvid1_ecephys.nwb")   # doctest: +SKIP
    >>> int(res.responsive.sum())                                                 # doctest: +SKIP
    75
    """
    if params.n_perm < 2:
        raise NwbItError(f"n_perm must be at least 2, not {params.n_perm}", nwb_path)
    with reading(nwb_path) as nwb:
        aligned = bin_aligned(nwb, params.window, params.bin_size)
        result = reliability(aligned, params, progress=progress)
        if pickle_path is not None:
            export_pickle(nwb, result.unit_ids[result.responsive], Path(pickle_path))
    replace_in_module(nwb_path, MODULE, "Extracellular electrophysiology analyses by nwb_it.",
                      lambda f: [_table(f, result)])
    return result
