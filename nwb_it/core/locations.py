"""Locations as they may be shown or stored: the one place a URL's secrets are removed.

A URL can carry credentials: ``user:password@`` (userinfo), and query strings such as
the presigned ``?X-Amz-Signature=...&X-Amz-Credential=...`` DANDI serves, or
``?token=...``. Nothing nwb_it writes into a file, a figure, provenance, standard output
or a log may hold them. :func:`redact_location` keeps what finds the asset again —
scheme, host, port and path (a DANDI blob's path names the blob) — and drops userinfo,
query and fragment. :func:`redact_text` does the same to every URL inside a message.
A ``DANDI:<dandiset>/<path>`` asset and a local path carry no secret and are kept.

Examples
--------
>>> redact_location("https://me:pw@dandi.s3.amazonaws.com/blobs/ab/cd?X-Amz-Signature=1f&X-Amz-Credential=k")
'https://dandi.s3.amazonaws.com/blobs/ab/cd'
>>> redact_text("cannot read https://u:p@host:8080/f.nwb?token=s3cret: timed out")
'cannot read https://host:8080/f.nwb: timed out'
>>> location_stem("https://host/sub-1/sub-1_ses-2.nwb?sig=x")
'sub-1_ses-2'
"""
from __future__ import annotations

import re
from pathlib import Path, PurePosixPath
from urllib.parse import urlsplit, urlunsplit

#: A URL inside free text: a scheme, ``://`` and everything up to white space or a quote.
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]+")


def is_url(location: object) -> bool:
    """``scheme://...`` (http, https, s3, ...), not a local path nor a ``DANDI:`` asset."""
    return isinstance(location, str) and bool(re.match(r"^[A-Za-z][A-Za-z0-9+.-]*://", location))


def redact_location(location: str | Path) -> str:
    """``location`` without userinfo, query string and fragment (a URL); anything else as it is."""
    text = str(location)
    if not is_url(text):
        return text
    authority = text.split("://", 1)[1].split("/", 1)[0]
    if "@" not in authority and "?" not in text and "#" not in text:
        return text                                      # nothing secret: kept exactly as written
    try:
        parts = urlsplit(text)
        host = parts.hostname or ""
        if ":" in host:                                  # an IPv6 literal keeps its brackets
            host = f"[{host}]"
        port = f":{parts.port}" if parts.port is not None else ""
    except ValueError:                                   # a malformed port or bracket: keep only scheme://host
        scheme, _, rest = text.partition("://")
        return f"{scheme}://{rest.split('/', 1)[0].rsplit('@', 1)[-1].split('?', 1)[0]}"
    return urlunsplit((parts.scheme, host + port, parts.path, "", ""))


def redact_text(text: str) -> str:
    """Every URL in ``text`` redacted by :func:`redact_location`; the rest unchanged."""
    return _URL_IN_TEXT.sub(lambda m: redact_location(m.group(0).rstrip(".,;:)]")) + _tail(m.group(0)), str(text))


def _tail(url: str) -> str:
    """Punctuation that ended a sentence, not the URL (kept after the redacted URL)."""
    stripped = url.rstrip(".,;:)]")
    return url[len(stripped):]


def location_stem(location: str | Path) -> str:
    """The file stem of a location (a URL's path, never its query): names outputs after their input."""
    text = str(location)
    if is_url(text):
        return PurePosixPath(urlsplit(text).path).stem or "remote"
    if text.upper().startswith("DANDI:"):
        return PurePosixPath(text.split("/", 1)[-1]).stem
    return Path(text).stem
