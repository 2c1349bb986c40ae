"""NWB files read where they live: ``http(s)://`` URLs (ranges only, through remfile) and DANDI assets.

A URL is opened with remfile (HTTP range requests, retried by remfile) under h5py and
pynwb, so only what an analysis touches is fetched; :class:`CountingFile` counts the
bytes HDF5 read. ``DANDI:<dandiset>/<path>`` is resolved to its content URL with the
``dandi`` client (that needs a network; without one it is a one-line error).

Examples
--------
>>> is_remote("https://dandiarchive.s3.amazonaws.com/blobs/abc")
True
>>> parse_dandi("DANDI:000123/sub-x/sub-x_ses-1_ecephys.nwb")
('000123', 'sub-x/sub-x_ses-1_ecephys.nwb')
"""
from __future__ import annotations

import io
import re

import h5py
from pynwb import NWBHDF5IO

from ..core.errors import NwbItError

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


class CountingFile(io.RawIOBase):
    """A read-only file object over another that counts the bytes read through it."""

    def __init__(self, raw):
        self.raw, self.bytes_read = raw, 0

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def read(self, size: int = -1) -> bytes:
        data = self.raw.read(size)
        self.bytes_read += len(data)
        return data

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self.raw.seek(offset, whence)

    def tell(self) -> int:
        return self.raw.tell()

    def close(self) -> None:
        self.raw.close()
        super().close()


def open_remote(location: str):
    """(NWBHDF5IO, the counting file, the h5py file) of a remote NWB file, read lazily over HTTP ranges."""
    try:
        import remfile  # optional: only for remote files
    except ImportError:
        raise NwbItError("remote files need remfile: pip install remfile", location) from None
    url = resolve_url(location)
    try:
        counting = CountingFile(remfile.File(url))
        h5 = h5py.File(counting, "r")
        return NWBHDF5IO(file=h5, mode="r", load_namespaces=True), counting, h5
    except NwbItError:
        raise
    except Exception as exc:  # connection refused/dropped after remfile's retries, not HDF5, not NWB
        detail = str(exc).splitlines()[0] if str(exc) else ""
        raise NwbItError(f"cannot be read over HTTP ({exc.__class__.__name__}: {detail[:200]})", location) from None
