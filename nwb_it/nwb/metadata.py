"""Session metadata: defaults, what the source gives, and a NeuroConv-style YAML, deep-merged.

The YAML has the sections ``NWBFile:``, ``Subject:``, ``Ecephys:`` and ``Units:``;
every value is checked by a small rule function before anything is written.
"""
from __future__ import annotations

import contextlib
import copy
import re
import warnings
from collections.abc import Callable
from datetime import date, datetime, timezone
from pathlib import Path
from typing import Any

import yaml

from ..core.errors import NwbItError
from .plausibility import PLAUSIBILITY_RULES

NWBFILE_KEYS = {"session_start_time", "session_description", "identifier", "session_id", "experimenter",
                "experiment_description", "institution", "lab", "related_publications", "protocol",
                "notes", "pharmacology", "surgery", "virus", "stimulus_notes", "data_collection",
                "source_script", "keywords"}
SUBJECT_KEYS = {"subject_id", "species", "sex", "age", "date_of_birth", "description", "weight",
                "strain", "genotype"}
SECTIONS = {"NWBFile": NWBFILE_KEYS, "Subject": SUBJECT_KEYS,
            "Ecephys": {"Device", "ElectrodeGroup"}, "Units": {"resolution"}}


class MetadataWarning(UserWarning):
    """Metadata that was guessed (e.g. the session start from the MAT header)."""


def deep_merge(base: dict, update: dict) -> dict:
    """Return ``base`` with ``update`` merged in, recursing into dicts (``update`` wins).

    Examples
    --------
    >>> deep_merge({"A": {"x": 1, "y": 2}}, {"A": {"y": 3}})
    {'A': {'x': 1, 'y': 3}}
    """
    out = copy.deepcopy(base)
    for key, value in update.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = deep_merge(out[key], value)
        else:
            out[key] = copy.deepcopy(value)
    return out


MAX_YAML_BYTES = 1 << 20
MAX_YAML_NODES = 100_000        # values after expanding aliases: metadata has a few dozen
MAX_TEXT = 10_000
DANDI_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9-]{0,63}")


def _expanded_size(node, memo: dict | None = None) -> int:
    """How many values a YAML node graph holds once its aliases are expanded (shared nodes counted once each)."""
    memo = {} if memo is None else memo
    if node is None:
        return 0
    key = id(node)
    if key not in memo:
        memo[key] = 1                                       # a cycle counts once instead of recursing forever
        if isinstance(node, yaml.SequenceNode):
            memo[key] = 1 + sum(_expanded_size(child, memo) for child in node.value)
        elif isinstance(node, yaml.MappingNode):
            memo[key] = 1 + sum(_expanded_size(k, memo) + _expanded_size(v, memo) for k, v in node.value)
    return memo[key]


class UniqueKeyLoader(yaml.SafeLoader):
    """PyYAML's safe loader that refuses a key given twice in one mapping (it would keep the last silently)."""

    def construct_mapping(self, node, deep=False):
        seen: dict = {}
        for key_node, _ in node.value:
            key = self.construct_object(key_node, deep=True)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"'{key}' is given twice (lines {seen[key] + 1} and {key_node.start_mark.line + 1}): "
                    "keep one", key_node.start_mark)
            seen[key] = key_node.start_mark.line
        return super().construct_mapping(node, deep)


def load_metadata_yaml(path: str | Path) -> dict:
    """The metadata YAML, refused before expansion if it is huge or an alias bomb (YAML tags never execute)."""
    path = Path(path)
    try:
        if path.stat().st_size > MAX_YAML_BYTES:
            raise NwbItError(f"metadata file over {MAX_YAML_BYTES >> 20} MB: not a metadata file", path)
        text = path.read_text(encoding="utf-8")
        size = _expanded_size(yaml.compose(text, Loader=yaml.SafeLoader))
        if size > MAX_YAML_NODES:
            raise NwbItError(f"YAML aliases expand to {size:.3g} values: refused (an alias bomb, not metadata)", path)
        data = yaml.load(text, Loader=UniqueKeyLoader)      # a SafeLoader: no tag executes
    except OSError as exc:
        raise NwbItError(f"cannot read metadata ({exc.strerror})", path) from None
    except UnicodeDecodeError:
        raise NwbItError("metadata is not UTF-8 text", path) from None
    except yaml.YAMLError as exc:
        raise NwbItError(f"not valid YAML ({str(exc).splitlines()[0]})", path) from None
    if data is None:
        return {}
    if not isinstance(data, dict):
        raise NwbItError("metadata must be a mapping with NWBFile:/Subject: sections", path)
    return data


# ---- rules: one function per check; each returns a message telling the fix, or None ----

def check_sections(meta: dict) -> str | None:
    for section, value in meta.items():
        if section not in SECTIONS:
            return f"unknown section '{section}' (use {', '.join(SECTIONS)})"
        if not isinstance(value, dict):
            return f"{section} must be a mapping"
        unknown = set(value) - SECTIONS[section]
        if unknown:
            return f"unknown field {section}.{sorted(unknown)[0]} (known: {', '.join(sorted(SECTIONS[section]))})"
    return None


def check_session_start_time(meta: dict) -> str | None:
    value = meta.get("NWBFile", {}).get("session_start_time")
    if value is None:
        return ("NWBFile.session_start_time is missing and the MAT header has no 'Created on' date: "
                "add it to the metadata YAML, e.g. 2024-03-01T10:00:00-05:00")
    if not isinstance(value, datetime):
        return f"NWBFile.session_start_time {value!r} is not an ISO-8601 date-time"
    if value.tzinfo is None:
        return (f"NWBFile.session_start_time {value.isoformat()} has no timezone: "
                "write it with an offset, e.g. 2024-03-01T10:00:00-05:00")
    if value > datetime.now(timezone.utc):
        return f"NWBFile.session_start_time {value.isoformat()} is in the future"
    return None


def check_subject_sex(meta: dict) -> str | None:
    sex = meta.get("Subject", {}).get("sex")
    if sex not in {"M", "F", "O", "U"}:
        return f"Subject.sex {sex!r} must be one of M, F, O, U"
    return None


def check_subject_species(meta: dict) -> str | None:
    species = str(meta.get("Subject", {}).get("species", ""))
    if re.fullmatch(r"[A-Z][a-z]+ [a-z]+( [a-z]+)?", species) or re.fullmatch(
            r"http://purl\.obolibrary\.org/obo/NCBITaxon_\d+", species):
        return None
    return f"Subject.species {species!r} must be a Latin binomial (e.g. 'Macaca mulatta') or an NCBITaxon IRI"


_DURATION = r"P(?=\d|T\d)(\d+Y)?(\d+M)?(\d+W)?(\d+D)?(T(?=\d)(\d+H)?(\d+M)?(\d+(\.\d+)?S)?)?"


def check_subject_age(meta: dict) -> str | None:
    age = meta.get("Subject", {}).get("age")
    if age is None:
        return None
    if not isinstance(age, str) or not re.fullmatch(f"{_DURATION}(/{_DURATION})?|{_DURATION}/", age):
        return f"Subject.age {age!r} must be an ISO-8601 duration such as P7Y (or a range P5Y/P7Y)"
    return None


def _dandi_id(value, where: str, hint: str) -> str | None:
    if value is None:
        return f"{where} is missing: {hint}"
    if not isinstance(value, str) or not DANDI_ID.fullmatch(value):
        return (f"{where} {str(value)[:40]!r} must be 1-64 letters, digits or '-' (DANDI's file names "
                "sub-<subject>_ses-<session>), starting with a letter or digit")
    return None


def check_subject_id(meta: dict) -> str | None:
    return _dandi_id(meta.get("Subject", {}).get("subject_id"), "Subject.subject_id",
                     "the file name does not end in _<stimset>_<monkey>.mat; add 'subject_id: ...' under Subject:")


def check_session_id(meta: dict) -> str | None:
    return _dandi_id(meta.get("NWBFile", {}).get("session_id"), "NWBFile.session_id",
                     "add 'session_id: ...' under NWBFile:")


LIST_KEYS = {("NWBFile", "experimenter"), ("NWBFile", "related_publications"), ("NWBFile", "keywords")}


def check_value_types(meta: dict) -> str | None:
    """Text where text belongs (lists only where NWB takes lists), no control characters, sane lengths."""
    for section in ("NWBFile", "Subject"):
        for key, value in (meta.get(section) or {}).items():
            if key in ("session_start_time", "date_of_birth") or value is None:
                continue
            items = value if (section, key) in LIST_KEYS and isinstance(value, list) else [value]
            for item in items:
                if not isinstance(item, str):
                    return (f"{section}.{key} {str(item)[:40]!r} must be text"
                            f"{' (or a list of texts)' if (section, key) in LIST_KEYS else ''}")
                if any(ord(c) < 32 and c not in "\n\t" for c in item):
                    return f"{section}.{key} contains a control character (e.g. NUL): remove it"
                if len(item) > MAX_TEXT:
                    return f"{section}.{key} is {len(item)} characters long: keep it under {MAX_TEXT}"
    return None


def check_units_resolution(meta: dict) -> str | None:
    res = meta.get("Units", {}).get("resolution")
    if not isinstance(res, (int, float)) or isinstance(res, bool) or not 0 < res < 1:
        return f"Units.resolution {res!r} must be a number of seconds between 0 and 1 (e.g. 3.3333e-05)"
    return None


def check_experimenter(meta: dict) -> str | None:
    names = meta.get("NWBFile", {}).get("experimenter")
    if names is None:
        return None
    if not all(isinstance(n, str) and n for n in names):
        return "NWBFile.experimenter must be a list of names like 'Last, First'"
    return None


RULES: list[Callable[[dict], str | None]] = [
    check_sections, check_value_types, check_session_start_time, check_subject_sex, check_subject_species,
    check_subject_age, check_subject_id, check_session_id, check_units_resolution, check_experimenter,
    *PLAUSIBILITY_RULES]


# ---- what DANDI would flag although NWB accepts it: a warning, or an error with --strict ----

def dandi_subject_age(meta: dict) -> str | None:
    subject = meta.get("Subject", {})
    if "age" not in subject and "date_of_birth" not in subject:
        return "no Subject.age (DANDI requires it or date_of_birth): add e.g. 'age: P7Y' under Subject:"
    return None


def dandi_experimenter(meta: dict) -> str | None:
    if not meta.get("NWBFile", {}).get("experimenter"):
        return "no NWBFile.experimenter: DANDI asks who recorded, e.g. experimenter: ['Doe, Jane']"
    return None


DANDI_RULES: list[Callable[[dict], str | None]] = [dandi_subject_age, dandi_experimenter]


def _normalize(meta: dict) -> dict:
    """YAML strings that stand for dates and lists, as pynwb wants them."""
    meta.setdefault("NWBFile", {})
    for section, key in (("NWBFile", "session_start_time"), ("Subject", "date_of_birth")):
        value = (meta.get(section) or {}).get(key)
        if isinstance(value, str):
            with contextlib.suppress(ValueError):       # check_session_start_time / check_date_of_birth report it
                meta[section][key] = datetime.fromisoformat(value.replace("Z", "+00:00"))
    born = (meta.get("Subject") or {}).get("date_of_birth")
    if isinstance(born, date) and (not isinstance(born, datetime) or born.tzinfo is None):
        # a day of birth (YAML date, CSV text) as NWB wants it: a date-time with a zone (midnight UTC)
        meta["Subject"]["date_of_birth"] = datetime(born.year, born.month, born.day, tzinfo=timezone.utc)
    for section, key in LIST_KEYS:
        if isinstance(meta.get(section, {}).get(key), str):
            meta[section][key] = [meta[section][key]]
    return meta


def metadata_problems(source: dict, user: dict, start_may_come_later: bool = False) -> list[str]:
    """Every problem of ``user`` merged over ``source`` (empty when it is valid); checked before any file is read.

    ``start_may_come_later``: a missing session start is not a problem yet (the source may
    give one when it is read, e.g. the MAT header's date).
    """
    problem = check_sections(user)
    if problem:
        return [problem]
    meta = _normalize(deep_merge(source, user))
    if start_may_come_later and meta["NWBFile"].get("session_start_time") is None:
        meta["NWBFile"]["session_start_time"] = datetime(2000, 1, 1, tzinfo=timezone.utc)
    return [p for rule in RULES if (p := rule(meta))]


_FIELD = re.compile(r"(?:unknown field |^)(NWBFile|Subject|Ecephys|Units)\.(\w+)")


def metadata_error(problems: list[str], user: dict, source_path: Path | None, origin: str | None) -> NwbItError:
    """One error for a session's metadata problems, blaming where the values came from.

    Problems with fields the user's metadata set name the metadata file (and the session);
    the others (e.g. an id the file name did not give) name the session file.
    """
    def from_user(problem: str) -> bool:
        match = _FIELD.search(problem)
        return match is not None and match[2] in (user.get(match[1]) or {})

    text = "; ".join(problems)
    if origin and all(from_user(p) for p in problems):
        return NwbItError(f"{text} (session {source_path})" if source_path else text, origin)
    return NwbItError(f"{text} (metadata: {origin})" if origin else text, source_path)


def build_metadata(source: dict, user: dict | None = None, metadata_origin: str | None = None,
                   source_path: Path | None = None, start_fallback: tuple[datetime, str] | None = None,
                   strict: bool = False) -> dict:
    """What the source gives, with ``user`` (the YAML, a session table's row) deep-merged over it, validated.

    The session start is the user's; without one, ``start_fallback`` (e.g. the MAT
    header's ``Created on`` date) taken as UTC, with a :class:`MetadataWarning`.
    What DANDI would flag (no subject age, ...) is a warning, or with ``strict`` an error.

    Raises
    ------
    NwbItError
        naming the session file, every invalid field at once, and where the metadata came
        from (``metadata_origin``, e.g. the YAML's path).
    """
    user = user or {}
    problem = check_sections(user)
    if problem:
        raise metadata_error([problem], user, source_path, metadata_origin)
    meta = _normalize(deep_merge(source, user))
    if meta["NWBFile"].get("session_start_time") is None and start_fallback is not None:
        start, fallback = start_fallback
        meta["NWBFile"]["session_start_time"] = start.replace(tzinfo=timezone.utc)
        warnings.warn(f"{source_path}: no NWBFile.session_start_time in the metadata; using {fallback} "
                      f"{start.isoformat()} as UTC", MetadataWarning, stacklevel=2)
    problems = [p for rule in RULES if (p := rule(meta))]
    if problems:
        raise metadata_error(problems, user, source_path, metadata_origin)
    dandi = [p for rule in DANDI_RULES if (p := rule(meta))]
    if dandi and strict:
        raise metadata_error(["would not pass dandi validate (`strict=True`): " + "; ".join(dandi)], {},
                             source_path, metadata_origin)
    for message in dandi:
        warnings.warn(f"{source_path}: {message}", MetadataWarning, stacklevel=2)
    return meta


def metadata_schema() -> dict[str, Any]:
    """JSON schema (draft-07) of the metadata YAML: the sections and the fields each accepts."""
    text = {"type": "string"}
    props: dict[str, dict[str, Any]] = {
        "NWBFile": {key: text for key in sorted(NWBFILE_KEYS)},
        "Subject": {key: text for key in sorted(SUBJECT_KEYS)},
        "Ecephys": {"Device": {"type": "object"}, "ElectrodeGroup": {"type": "object"}},
        "Units": {"resolution": {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1}},
    }
    for key in ("experimenter", "keywords", "related_publications"):
        props["NWBFile"][key] = {"type": "array", "items": text}
    props["Subject"]["sex"] = {"type": "string", "enum": ["M", "F", "O", "U"]}
    return {"$schema": "http://json-schema.org/draft-07/schema#", "title": "nwb_it session metadata",
            "type": "object", "additionalProperties": False,
            "properties": {section: {"type": "object", "additionalProperties": False, "properties": fields}
                           for section, fields in props.items()}}
