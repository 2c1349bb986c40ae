"""NWB files read where they live: ``http(s)://`` URLs (HTTP ranges only) and DANDI assets.

A URL is opened as an :class:`~nwb_it.io.http.HttpRangeFile` (HTTP range requests with
time limits, retried) under h5py and pynwb, so only what an analysis touches is fetched;
it counts the bytes received and says what the server served (size, ETag, first block).
``DANDI:<dandiset>/<path>`` is resolved to its content URL with the ``dandi`` client
(that needs a network; without one it is a one-line error).

Examples
--------
>>> is_remote("https://dandiarchive.s3.amazonaws.com/blobs/abc")
True
>>> parse_dandi("DANDI:000123/sub-x/sub-x_ses-1_ecephys.nwb")
('000123', 'sub-x/sub-x_ses-1_ecephys.nwb')
"""
from __future__ import annotations

import contextlib
import contextvars
import re
from collections.abc import Iterator

from ..core.errors import NwbItError
from ..io.http import HttpTimeouts, RangeError, open_range_file

_DANDI = re.compile(r"^DANDI:(\d{6})/(.+)$", re.IGNORECASE)


def is_remote(path: object) -> bool:
    """An ``http://``/``https://`` URL or a ``DANDI:`` asset (not a local path)."""
    text = str(path)
    return text.startswith(("http://", "https://")) or bool(_DANDI.match(text))


def parse_dandi(text: str) -> tuple[str, str] | None:
    """(dandiset, path) of ``DANDI:<dandiset>/<path>``, else None."""
    m = _DANDI.match(text)
    return (m.group(1), m.group(2)) if m else None


def resolve_url(location: str) -> str:
    """The URL to read: the location itself, or a DANDI asset's content URL (asked of the DANDI API)."""
    asset = parse_dandi(location)
    if asset is None:
        return location
    try:
        from dandi.dandiapi import DandiAPIClient  # optional: only for DANDI: locations

        with DandiAPIClient() as client:
            return client.get_dandiset(asset[0]).get_asset_by_path(asset[1]).get_content_url(
                follow_redirects=1, strip_query=True)
    except ImportError:
        raise NwbItError("DANDI: locations need the dandi client: pip install dandi", location) from None
    except Exception as exc:  # network, unknown dandiset or path: one line
        raise NwbItError(f"cannot resolve the DANDI asset ({exc.__class__.__name__}: {str(exc).splitlines()[0]})",
                         location) from None


#: The HTTP time limits of this context (``--http-timeout`` sets them for a command; jobs carry them to workers).
_TIMEOUTS: contextvars.ContextVar[HttpTimeouts | None] = contextvars.ContextVar("nwb_it_http_timeouts",
                                                                                default=None)


@contextlib.contextmanager
def http_timeouts(timeouts: HttpTimeouts) -> Iterator[None]:
    """Remote files opened inside the block use ``timeouts`` (this thread/context only: nothing process-wide)."""
    token = _TIMEOUTS.set(timeouts)
    try:
        yield
    finally:
        _TIMEOUTS.reset(token)


def call_with_timeouts(timeouts: HttpTimeouts, job, *args, **kwargs):
    """``job(*args, **kwargs)`` under :func:`http_timeouts` (a picklable wrapper for jobs sent to workers)."""
    with http_timeouts(timeouts):
        return job(*args, **kwargs)


def open_remote(location: str):
    """(NWBHDF5IO, the range file, the h5py file) of a remote NWB file, read lazily over HTTP ranges.

    The range file's ``bytes_read`` counts what came over the network and ``identity()`` says what was served.
    """
    url = resolve_url(location)
    remote = open_range_file(url, _TIMEOUTS.get() or HttpTimeouts())
    try:
        import h5py  # here, not at the top: `is_remote` is used by the CLI's --help path
        from pynwb import NWBHDF5IO

        h5 = h5py.File(remote, "r")
        return NWBHDF5IO(file=h5, mode="r", load_namespaces=True), remote, h5
    except RangeError as exc:
        remote.close()
        raise NwbItError(f"cannot be read over HTTP: {exc}", location) from None
    except Exception as exc:  # not HDF5, not NWB
        remote.close()
        detail = str(exc).splitlines()[0] if str(exc) else ""
        raise NwbItError(f"is not an NWB file ({exc.__class__.__name__}: {detail[:200]})", location) from None
