"""Per-session metadata of a batch: one row per source file, merged over the shared metadata YAML.

One YAML cannot hold what differs between sessions (start time, age on the day, the
session id when file names do not tell sessions apart). A *session table* gives it per
file, as CSV or YAML:

CSV, one row per file; ``file`` is the file's name or path, the other columns are
metadata fields, either ``Section.field`` or a field name that belongs to one section
(``session_start_time`` -> NWBFile, ``age`` -> Subject); empty cells give nothing; list
fields (``experimenter``, ``keywords``, ``related_publications``) are ``;``-separated::

    file,session_id,session_start_time,age
    20240301_fixshortvid1_coco.mat,20240301,2024-03-01T10:00:00-05:00,P7Y
    20240302_fixshortvid1_coco.mat,20240302,2024-03-02T09:30:00-05:00,P7Y

YAML, a mapping from file to its metadata (sections, or bare field names)::

    20240301_fixshortvid1_coco.mat:
      NWBFile: {session_id: "20240301", session_start_time: 2024-03-01T10:00:00-05:00}
      Subject: {age: P7Y}
"""
from __future__ import annotations

import csv
import warnings
from pathlib import Path
from typing import Any

from ..core.errors import NwbItError
from .metadata import LIST_KEYS, SECTIONS, MetadataWarning, load_metadata_yaml

MAX_TABLE_BYTES = 16 << 20
FILE_COLUMN = "file"


def _section_of(field: str, where: str, path: Path) -> tuple[str, str]:
    """(section, key) of a column name: ``Section.key`` or a bare key that belongs to exactly one section."""
    if "." in field:
        section, key = field.split(".", 1)
        if section in SECTIONS and key in SECTIONS[section]:
            return section, key
    else:
        owners = [s for s, keys in SECTIONS.items() if field in keys]
        if len(owners) == 1:
            return owners[0], field
    known = ", ".join(sorted(k for s in ("NWBFile", "Subject") for k in SECTIONS[s]))
    raise NwbItError(f"{where}: unknown metadata field '{field}' (use Section.field or one of: {known})", path)


def _nested(flat: dict[str, Any], where: str, path: Path) -> dict[str, dict]:
    """Bare or ``Section.field`` keys (and whole sections) -> the metadata's nested sections."""
    out: dict[str, dict] = {}
    for field, value in flat.items():
        if field in SECTIONS and isinstance(value, dict):
            for key, item in value.items():
                section, key = _section_of(f"{field}.{key}", where, path)
                out.setdefault(section, {})[key] = item
            continue
        section, key = _section_of(str(field), where, path)
        if isinstance(value, str) and (section, key) in LIST_KEYS:
            value = [part.strip() for part in value.split(";") if part.strip()]
        out.setdefault(section, {})[key] = value
    return out


def _read_csv(path: Path) -> dict[str, dict]:
    try:
        if path.stat().st_size > MAX_TABLE_BYTES:
            raise NwbItError(f"session table over {MAX_TABLE_BYTES >> 20} MB: not a session table", path)
        with open(path, newline="", encoding="utf-8-sig") as handle:
            rows = list(csv.DictReader(handle))
    except OSError as exc:
        raise NwbItError(f"cannot read the session table ({exc.strerror})", path) from None
    except (UnicodeDecodeError, csv.Error) as exc:
        raise NwbItError(f"not a CSV session table ({exc})", path) from None
    if not rows or FILE_COLUMN not in rows[0]:
        raise NwbItError(f"a session table needs a header row with a '{FILE_COLUMN}' column and one row per file",
                         path)
    table: dict[str, dict] = {}
    for line, row in enumerate(rows, start=2):
        if None in row:
            raise NwbItError(f"line {line} has more cells than the header", path)
        name = (row.pop(FILE_COLUMN) or "").strip()
        if not name:
            raise NwbItError(f"line {line} has no '{FILE_COLUMN}'", path)
        if name in table:
            raise NwbItError(f"line {line}: '{name}' has a row already", path)
        given = {k.strip(): v.strip() for k, v in row.items() if v is not None and v.strip()}
        table[name] = _nested(given, f"line {line}", path)
    return table


def load_session_table(path: str | Path) -> dict[str, dict]:
    """``{file as written in the table: nested metadata}`` from a CSV or YAML session table (see module doc).

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "sessions.csv")
    >>> _ = open(p, "w").write("file,session_id,age\\na_x_coco.mat,day1,P7Y\\n")
    >>> load_session_table(p)
    {'a_x_coco.mat': {'NWBFile': {'session_id': 'day1'}, 'Subject': {'age': 'P7Y'}}}
    """
    path = Path(path)
    if path.suffix.lower() == ".csv":
        return _read_csv(path)
    data = load_metadata_yaml(path)
    table = {}
    for name, value in data.items():
        if not isinstance(value, dict):
            raise NwbItError(f"'{name}': each file's entry must be a mapping of metadata fields", path)
        table[str(name)] = _nested(value, f"'{name}'", path)
    return table


def rows_for(table: dict[str, dict], sources: list[Path], table_path: Path) -> dict[Path, dict]:
    """Each source's row: the table's ``file`` is the path as given, the absolute path, or the file name.

    Every source must have exactly one row; rows that match no source are a warning.
    """
    by_key: dict[str, list[Path]] = {}
    for src in sources:
        for key in dict.fromkeys((str(src), str(Path(src).absolute()), Path(src).name)):
            by_key.setdefault(key, []).append(src)
    out: dict[Path, dict] = {}
    unused = []
    for name, meta in table.items():
        matched = by_key.get(name, [])
        if len(matched) > 1:
            raise NwbItError(f"'{name}' matches {len(matched)} sessions ({matched[0]}, {matched[1]}): "
                             "write their paths instead of the file name", table_path)
        if not matched:
            unused.append(name)
            continue
        if matched[0] in out:
            raise NwbItError(f"{matched[0]} has two rows", table_path)
        out[matched[0]] = meta
    missing = [s for s in sources if s not in out]
    if missing:
        raise NwbItError(f"no row for {len(missing)} session(s), e.g. {missing[0]}: add a row per file "
                         f"('{FILE_COLUMN}' = its name or path)", table_path)
    if unused:
        warnings.warn(f"{table_path}: {len(unused)} row(s) match no session given, e.g. '{unused[0]}'",
                      MetadataWarning, stacklevel=2)
    return out
