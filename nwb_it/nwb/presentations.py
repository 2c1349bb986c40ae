"""The presentations table of any NWB file, checked where it is read.

Every analysis verb reads its presentations here (:func:`read_presentations`), so every
one of them refuses the same faults, each with one line naming the table, the column
and the first rows:

* a column that is ragged (indexed: several values per row) or not of the right kind;
* onsets that are NaN or infinite;
* presentations without a stimulus (NaN, empty text);
* exact duplicate rows (same onset, same stimulus): counted twice they make noise look
  reliable;
* ``start_time`` after ``stop_time``, an onset outside its own trial window (nwb_it's
  own files), two rows with one ``(stimulus_index, repeat)`` (nwb_it's own files).

With ``PresentationSpec(drop_invalid=True)`` (``--drop-invalid-presentations``) rows with
a bad onset, no stimulus, or that repeat an earlier row are dropped instead, with a
warning that counts them; the structural faults stay errors. ``PresentationSpec(where=...)``
(``--where``, :mod:`nwb_it.core.where`) keeps the rows where an expression over the
table's columns holds (e.g. only ``fixation_correct`` presentations), with a line counting
what was kept.
"""
from __future__ import annotations

import warnings

import numpy as np
from hdmf.common import DynamicTableRegion, VectorIndex
from pynwb import NWBFile

from ..core.errors import NwbItError
from ..core.params import PresentationSpec, to_dict
from ..core.recording import Presentations
from ..core.where import And, Flag, Membership, Not, Or, parse_where
from .presentation_sources import presentations_table
from .source_fields import read_source_fields

NWB_IT_ONSET = "stimulus_onset"
SHOWN_ROWS = 5


class PresentationWarning(UserWarning):
    """Rows of a presentations table left out on request (``drop_invalid``, ``where``)."""


def _kind(values: np.ndarray) -> str:
    return {"b": "true/false", "i": "integer", "u": "integer", "f": "number", "S": "text", "O": "text",
            "U": "text"}.get(values.dtype.kind, str(values.dtype))


def _typed(table, column: str, values: np.ndarray, value) -> np.ndarray:
    """The column's values in the kind of ``value``, or one line naming table, column and its type."""
    kind = values.dtype.kind
    if isinstance(value, bool):
        ok = kind == "b"
    elif isinstance(value, (int, float)):
        ok = kind in "iuf"
    else:
        ok = kind in "SOU"
        if ok:
            values = np.array([v.decode() if isinstance(v, bytes) else str(v) for v in values], dtype=object)
    if not ok:
        raise NwbItError(f"/intervals/{table.name} column '{column}' holds {_kind(values)} values, compared with "
                         f"{value!r} in `presentations.where`: compare it with a {_kind(values)} value")
    return values


def where_mask(table, node) -> np.ndarray:
    """The rows of ``table`` where the parsed ``--where`` expression (:mod:`nwb_it.core.where`) holds."""
    if isinstance(node, Not):
        return ~where_mask(table, node.part)
    if isinstance(node, And):
        return np.logical_and.reduce([where_mask(table, p) for p in node.parts])
    if isinstance(node, Or):
        return np.logical_or.reduce([where_mask(table, p) for p in node.parts])
    values = _column(table, node.column, "presentations.where")
    if isinstance(node, Flag):
        if values.dtype.kind != "b":
            raise NwbItError(f"/intervals/{table.name} column '{node.column}' holds {_kind(values)} values, not "
                             f"true/false: write a comparison in `presentations.where`, e.g. {node.column} == 1")
        return values.astype(bool)
    if isinstance(node, Membership):
        return np.logical_or.reduce([_typed(table, node.column, values, v) == v for v in node.values])
    ordered = node.op in ("<", "<=", ">", ">=")
    if ordered and (isinstance(node.value, bool) or not isinstance(node.value, (int, float))):
        raise NwbItError(f"/intervals/{table.name} column '{node.column}': {node.op} needs a number, not "
                         f"{node.value!r}, in `presentations.where`")
    values = _typed(table, node.column, values, node.value)
    compare = {"==": np.equal, "!=": np.not_equal, "<": np.less, "<=": np.less_equal, ">": np.greater,
               ">=": np.greater_equal}[node.op]
    with np.errstate(invalid="ignore"):
        return np.asarray(compare(values, node.value), dtype=bool)


def _rows(which: np.ndarray) -> str:
    rows = np.flatnonzero(which)
    more = f" and {rows.size - SHOWN_ROWS} more" if rows.size > SHOWN_ROWS else ""
    return f"row{'s' if rows.size > 1 else ''} {', '.join(str(r) for r in rows[:SHOWN_ROWS])}{more}"


def _column(table, name: str, option: str) -> np.ndarray:
    """One value per row of a column; ragged and reference columns are refused (their data are not per row)."""
    if name not in table.colnames and name not in ("start_time", "stop_time"):
        raise NwbItError(f"/intervals/{table.name} has no column '{name}' (columns: {', '.join(table.colnames)}); "
                         f"choose one with `{option}`")
    column = table[name]
    if isinstance(column, VectorIndex):
        raise NwbItError(f"/intervals/{table.name} column '{name}' is ragged (several values per row, indexed by "
                         f"{column.name}): choose a column with one value per row with `{option}`")
    if isinstance(column, DynamicTableRegion):
        raise NwbItError(f"/intervals/{table.name} column '{name}' holds references to another table, not values: "
                         f"choose a column with one value per row with `{option}`")
    values = np.asarray(column.data[:])
    if values.ndim != 1 or values.size != len(table):
        raise NwbItError(f"/intervals/{table.name} column '{name}' has shape {values.shape} for {len(table)} rows: "
                         f"choose a column with one value per row with `{option}`")
    return values


def _onsets(table, name: str) -> np.ndarray:
    values = _column(table, name, "presentations.onset_column")
    if values.dtype.kind not in "fiu":
        raise NwbItError(f"/intervals/{table.name} column '{name}' holds {values.dtype} values, not times in "
                         "seconds: choose the onset column with `presentations.onset_column`")
    return values.astype(float)


def stimulus_names(values: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """(names as text, which rows have no stimulus): NaN, None and empty text are missing.

    Numeric ids stored as floats (as Allen's files do) keep their integer spelling.

    Examples
    --------
    >>> stimulus_names(np.array([3.0, np.nan, 4.0]))
    (array(['3', 'nan', '4'], dtype='<U21'), array([False,  True, False]))
    """
    if values.dtype.kind in "SO":
        text = np.array([v.decode() if isinstance(v, bytes) else ("" if v is None else str(v)) for v in values])
        return text, np.char.strip(text.astype(str)) == ""
    if values.dtype.kind == "f":
        missing = ~np.isfinite(values)
        if np.all(values[~missing] == np.round(values[~missing])):
            filled = np.where(missing, 0, values).astype(np.int64).astype(str)
            return np.where(missing, "nan", filled), missing
        return values.astype(str), missing
    if values.dtype.kind in "iub":
        return values.astype(str), np.zeros(values.size, dtype=bool)
    text = values.astype(str)
    return text, np.char.strip(text) == ""


def _refuse_or_drop(table, problem: str, which: np.ndarray, keep: np.ndarray, drop: bool) -> None:
    if not which.any():
        return
    if not drop:
        raise NwbItError(f"/intervals/{table.name}: {problem} ({_rows(which)}); fix the table, or leave these rows "
                         "out with `presentations.drop_invalid=True`")
    keep &= ~which
    warnings.warn(f"/intervals/{table.name}: {int(which.sum())} presentation(s) left out: {problem} "
                  f"({_rows(which)})", PresentationWarning, stacklevel=4)


def _duplicates(onset: np.ndarray, names: np.ndarray, keep: np.ndarray) -> np.ndarray:
    """Rows (among ``keep``) that repeat an earlier kept row's onset and stimulus exactly."""
    rows = np.flatnonzero(keep)
    _, first = np.unique(np.rec.fromarrays([onset[rows], names[rows]]), return_index=True)
    repeated = np.ones(rows.size, dtype=bool)
    repeated[first] = False
    out = np.zeros(onset.size, dtype=bool)
    out[rows[repeated]] = True
    return out


def _check_windows(table, onset: np.ndarray, start: np.ndarray, stop: np.ndarray, bounded: bool) -> None:
    if (~np.isfinite(start) | ~np.isfinite(stop)).any():
        raise NwbItError(f"/intervals/{table.name}: start_time or stop_time is NaN or infinite "
                         f"({_rows(~np.isfinite(start) | ~np.isfinite(stop))})")
    if (start > stop).any():
        raise NwbItError(f"/intervals/{table.name}: start_time after stop_time ({_rows(start > stop)})")
    outside = (onset < start) | (onset > stop)
    if bounded and outside.any():
        raise NwbItError(f"/intervals/{table.name}: stimulus_onset outside its trial's start_time..stop_time "
                         f"({_rows(outside)})")


def _own_indices(table, keep: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """nwb_it's own ``stimulus_index``/``repeat`` columns, with each pair once."""
    clip = _column(table, "stimulus_index", "presentations.stimulus_column")
    repeat = _column(table, "repeat", "presentations.stimulus_column")
    if clip.dtype.kind not in "iu" or repeat.dtype.kind not in "iu" or (clip < 0).any() or (repeat < 0).any():
        raise NwbItError(f"/intervals/{table.name}: stimulus_index and repeat must be integers >= 0")
    pair = clip[keep].astype(np.int64) * (int(repeat.max()) + 1) + repeat[keep]
    _, first, count = np.unique(pair, return_index=True, return_counts=True)
    if (count > 1).any():
        twice = np.zeros(clip.size, dtype=bool)
        twice[np.flatnonzero(keep)[np.isin(pair, pair[first[count > 1]])]] = True
        raise NwbItError(f"/intervals/{table.name}: one (stimulus_index, repeat) on several rows ({_rows(twice)})")
    return clip.astype(np.int64), repeat.astype(np.int64)


def _source_items(nwb: NWBFile) -> dict[str, int]:
    """Every item name of the source (field ``itemnames``) -> its 0-based index, when the file keeps it."""
    try:
        items = read_source_fields(nwb).get("itemnames")
    except KeyError:
        return {}
    if not isinstance(items, np.ndarray) or items.dtype != object:
        return {}
    return {str(name): i for i, name in enumerate(items.reshape(-1, order="F")) if isinstance(name, str)}


def file_clips(nwb: NWBFile, pres: Presentations) -> dict[str, int]:
    """Every clip the file knows -> its clip index: those presented, and for nwb_it's own files the source's
    items never shown (a clip with zero repeats)."""
    index = _source_items(nwb) if pres.bounded else {}
    index.update(zip(pres.names.tolist(), np.asarray(pres.clip).tolist()))
    return index


def occurrence_repeat(clip: np.ndarray, onset: np.ndarray) -> np.ndarray:
    """Repeat index of every presentation: its rank among its clip's presentations in time order.

    Examples
    --------
    >>> occurrence_repeat(np.array([1, 0, 1, 1]), np.array([5.0, 1.0, 2.0, 9.0]))
    array([1, 0, 0, 2])
    """
    order = np.lexsort((onset, clip))
    sorted_clip = clip[order]
    first = np.searchsorted(sorted_clip, sorted_clip, side="left")
    repeat = np.empty(clip.size, dtype=np.int64)
    repeat[order] = np.arange(clip.size) - first
    return repeat


def read_presentations(nwb: NWBFile, spec: PresentationSpec = PresentationSpec()) -> Presentations:
    """One row per presentation from any intervals table (see :class:`~nwb_it.core.params.PresentationSpec`).

    The table is checked as it is read (module doc). nwb_it's own trials keep their
    ``stimulus_index`` and ``repeat``; other tables get clips numbered by sorted stimulus
    value and repeats numbered by order of occurrence.
    """
    table = presentations_table(nwb, spec.intervals)
    onset_column = spec.onset_column or (NWB_IT_ONSET if NWB_IT_ONSET in table.colnames else "start_time")
    names, no_stimulus = stimulus_names(_column(table, spec.stimulus_column, "presentations.stimulus_column"))
    onset = _onsets(table, onset_column)
    if len(onset) == 0:
        raise NwbItError(f"/intervals/{table.name} has no rows")
    start, stop = _onsets(table, "start_time"), _onsets(table, "stop_time")
    keep = np.ones(onset.size, dtype=bool)
    _refuse_or_drop(table, f"'{onset_column}' is NaN or infinite", ~np.isfinite(onset), keep, spec.drop_invalid)
    _refuse_or_drop(table, f"no stimulus in '{spec.stimulus_column}' (NaN or empty)", no_stimulus & keep, keep,
                    spec.drop_invalid)
    if not keep.any():
        raise NwbItError(f"/intervals/{table.name}: no valid presentation is left")
    _refuse_or_drop(table, "the same onset and stimulus as an earlier row", _duplicates(onset, names, keep), keep,
                    spec.drop_invalid)
    if spec.where:
        chosen = where_mask(table, parse_where(spec.where))
        n_valid = int(keep.sum())
        keep &= chosen
        if not keep.any():
            raise NwbItError(f"/intervals/{table.name}: no presentation is left where {spec.where} (of {n_valid})")
        warnings.warn(f"/intervals/{table.name}: {int(keep.sum())} of {n_valid} presentations kept where "
                      f"{spec.where}", PresentationWarning, stacklevel=2)
    bounded = onset_column == NWB_IT_ONSET
    _check_windows(table, onset[keep], start[keep], stop[keep], bounded)
    own = bounded and {"stimulus_index", "repeat"} <= set(table.colnames) and spec.stimulus_column == "stimulus_name"
    if own:
        clip, repeat = (a[keep] for a in _own_indices(table, keep))
    else:
        _, clip = np.unique(names[keep], return_inverse=True)
        repeat = occurrence_repeat(clip, onset[keep])
    return Presentations(onset=onset[keep], start=start[keep], stop=stop[keep], clip=clip.ravel(), repeat=repeat,
                         names=names[keep], bounded=bounded, rows=np.flatnonzero(keep), selection=to_dict(spec))
