"""Plausibility of session metadata: values NWB would store that cannot be true of a recording.

One rule, one function (like the rules of :mod:`nwb_it.nwb.metadata`, which runs these
after its own); each returns a message that says the fix, or None. The limits:

* dates (session start, date of birth) from the year 1900 on: ``0001-01-01`` is a
  placeholder, not a recording;
* the date of birth before the session start;
* an age (ISO-8601 duration, or each end of a range) of at most 100 years (a macaque
  lives about 40), and a range whose start is not after its end;
* a weight (``Subject.weight``, "6.5 kg", "6500 g" or a number of kg) above 0 and at
  most 1000 kg.

Examples
--------
>>> check_date_of_birth({"NWBFile": {"session_start_time": datetime(2024, 3, 1, tzinfo=timezone.utc)},
...                      "Subject": {"date_of_birth": datetime(2030, 1, 1, tzinfo=timezone.utc)}})
'Subject.date_of_birth 2030-01-01 is after the session start 2024-03-01: correct one of them'
>>> check_subject_weight({"Subject": {"weight": "-3 kg"}})
"Subject.weight '-3 kg' must be above 0 kg (e.g. '6.5 kg')"
"""
from __future__ import annotations

import re
from datetime import date, datetime, timezone

MIN_YEAR = 1900
MAX_AGE_YEARS = 100.0
MAX_WEIGHT_KG = 1000.0

_PART = re.compile(r"(\d+(?:\.\d+)?)([YMWDHS])")
_YEARS = {"Y": 1.0, "M": 1 / 12, "W": 7 / 365.25, "D": 1 / 365.25}
_TIME_YEARS = {"H": 1 / (24 * 365.25), "M": 1 / (24 * 60 * 365.25), "S": 1 / (24 * 3600 * 365.25)}
_WEIGHT = re.compile(r"^\s*([-+]?\d+(?:\.\d+)?(?:[eE][-+]?\d+)?)\s*(kg|g|mg)?\s*$")


def _as_datetime(value) -> datetime | None:
    if isinstance(value, datetime):
        return value if value.tzinfo else value.replace(tzinfo=timezone.utc)
    if isinstance(value, date):
        return datetime(value.year, value.month, value.day, tzinfo=timezone.utc)
    return None


def duration_years(text: str) -> float:
    """Years of an ISO-8601 duration (``P7Y6M``, ``P30D``, ``PT5H``), months and days at their mean length.

    Examples
    --------
    >>> round(duration_years("P7Y6M"), 2)
    7.5
    """
    date_part, _, time_part = text.lstrip("P").partition("T")
    years = sum(float(n) * _YEARS[u] for n, u in _PART.findall(date_part))
    return years + sum(float(n) * _TIME_YEARS[u] for n, u in _PART.findall(time_part))


def check_dates_plausible(meta: dict) -> str | None:
    for section, key in (("NWBFile", "session_start_time"), ("Subject", "date_of_birth")):
        when = _as_datetime(meta.get(section, {}).get(key))
        if when is not None and when.year < MIN_YEAR:
            return f"{section}.{key} {when.date().isoformat()} is before {MIN_YEAR}: write the real date"
    return None


def check_date_of_birth(meta: dict) -> str | None:
    born = meta.get("Subject", {}).get("date_of_birth")
    if born is None:
        return None
    birth = _as_datetime(born)
    if birth is None:
        return f"Subject.date_of_birth {str(born)[:40]!r} is not a date (write e.g. 2016-05-01)"
    start = _as_datetime(meta.get("NWBFile", {}).get("session_start_time"))
    if start is not None and birth > start:
        return (f"Subject.date_of_birth {birth.date().isoformat()} is after the session start "
                f"{start.date().isoformat()}: correct one of them")
    return None


def check_age_plausible(meta: dict) -> str | None:
    age = meta.get("Subject", {}).get("age")
    if not isinstance(age, str) or not age.startswith("P"):
        return None                                   # check_subject_age reports the format
    ends = [part for part in age.split("/") if part]
    years = [duration_years(part) for part in ends]
    if any(y > MAX_AGE_YEARS for y in years):
        return (f"Subject.age {age!r} is over {MAX_AGE_YEARS:g} years (a macaque lives about 40): "
                "write the age on the day of the session, e.g. P7Y")
    if len(years) == 2 and years[0] > years[1]:
        return f"Subject.age range {age!r} starts after it ends: write P<youngest>/P<oldest>"
    return None


def check_subject_weight(meta: dict) -> str | None:
    weight = meta.get("Subject", {}).get("weight")
    if weight is None:
        return None
    match = _WEIGHT.match(str(weight))
    if not match:
        return f"Subject.weight {str(weight)[:40]!r} must be a number with a unit, e.g. '6.5 kg'"
    kg = float(match.group(1)) * {"kg": 1.0, "g": 1e-3, "mg": 1e-6, None: 1.0}[match.group(2)]
    if not kg > 0:
        return f"Subject.weight {str(weight)!r} must be above 0 kg (e.g. '6.5 kg')"
    if kg > MAX_WEIGHT_KG:
        return f"Subject.weight {str(weight)!r} is over {MAX_WEIGHT_KG:g} kg: write it in kg, e.g. '6.5 kg'"
    return None


PLAUSIBILITY_RULES = [check_dates_plausible, check_date_of_birth, check_age_plausible, check_subject_weight]
