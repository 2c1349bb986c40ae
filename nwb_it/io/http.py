"""A remote file read over HTTP range requests, with a bounded time and memory for every request.

nwb_it used remfile for this; remfile sets no timeout (a server that sends headers and
part of a body, then stalls, hung a run for good) and reads a whole body when a server
or proxy ignores ``Range`` (an 800 MB file held in memory, on every retry). This reader
keeps remfile's idea (blocks fetched on demand under h5py, cached, retried) with:

* a connect and a read timeout on every request, and a deadline for its whole body
  (:class:`HttpTimeouts`; ``--http-timeout`` sets the read timeout);
* a request answered with anything but ``206 Partial Content`` for the asked range is
  never read: a server that ignores ``Range`` is an error line, not a download;
* at most ``max_block`` bytes of a body read, whatever the server sends;
* the file's identity as served: its size, ``ETag``, ``Last-Modified`` and the SHA-256
  of its first block (a derivative is bound to it: :mod:`nwb_it.steps.targets`).

Examples
--------
>>> f = HttpRangeFile("http://127.0.0.1:8000/ses.nwb")       # doctest: +SKIP
>>> f.length, f.identity()["etag"]                           # doctest: +SKIP
(1048576, '"5f3c..."')
"""
from __future__ import annotations

import hashlib
import io
import re
import time
from collections import OrderedDict
from dataclasses import dataclass

from ..core.errors import InvalidParameter, NwbItError

_CONTENT_RANGE = re.compile(r"^bytes (\d+)-(\d+)/(\d+|\*)$")
#: Status codes worth asking again (the server or a proxy may recover); any other is final.
_TRANSIENT = {408, 425, 429, 500, 502, 503, 504}


@dataclass(frozen=True, kw_only=True)
class HttpTimeouts:
    """Time limits of every HTTP request (seconds).

    Parameters
    ----------
    connect : to open a connection
    read : of silence while waiting for the next bytes (a stalled server)
    request : for one request's whole body, however slowly it trickles
    retries : further tries of a request after a connection error, a timeout or a 5xx answer
    """

    connect: float = 10.0
    read: float = 60.0
    request: float = 300.0
    retries: int = 3

    def __post_init__(self) -> None:
        for name in ("connect", "read", "request"):
            value = getattr(self, name)
            if not isinstance(value, (int, float)) or not 0 < value < 86400:
                raise InvalidParameter(name, f"`{name}={value}`: an HTTP time limit is seconds, > 0 and < 86400")
        if not isinstance(self.retries, int) or not 0 <= self.retries <= 10:
            raise InvalidParameter("retries", f"`retries={self.retries}`: 0 to 10")


class RangeError(OSError):
    """A request that failed for good (after its retries), with a one-line reason."""


class HttpRangeFile(io.RawIOBase):
    """A read-only, seekable file over HTTP ranges (see the module doc); ``bytes_read`` counts bytes received."""

    def __init__(self, url: str, timeouts: HttpTimeouts = HttpTimeouts(), block_size: int = 1 << 18,
                 cache_bytes: int = 64 << 20, max_block: int = 16 << 20):
        import requests  # optional: only for remote files (installed with the model/remote extras)

        self.url, self.timeouts = url, timeouts
        self.block_size, self.max_block = block_size, max_block
        self.max_blocks = max(4, cache_bytes // block_size)
        self._requests = requests
        self._session = requests.Session()
        self._cache: OrderedDict[int, bytes] = OrderedDict()
        self._pos = 0
        self.bytes_read = 0
        self.length = -1
        self.etag = self.last_modified = ""
        first = self._fetch(0, block_size - 1)          # learns the size and the identity
        self.head_sha256 = hashlib.sha256(first[:65536]).hexdigest()
        self._store(0, first)

    # -- requests --------------------------------------------------------------------------
    def _fetch(self, start: int, end: int) -> bytes:
        """Bytes ``start..end`` (inclusive, clipped to the file), retried; RangeError when they cannot be had."""
        if self.length >= 0:
            end = min(end, self.length - 1)
        want = end - start + 1
        if want > self.max_block:
            raise RangeError(f"a read of {want} bytes at once is over the {self.max_block}-byte limit")
        reason = ""
        for attempt in range(self.timeouts.retries + 1):
            if attempt:
                time.sleep(min(4.0, 0.5 * 2 ** (attempt - 1)))
            try:
                return self._one_request(start, end, want)
            except _Transient as exc:
                reason = str(exc)
            except (self._requests.ConnectionError, self._requests.Timeout) as exc:
                timed_out = isinstance(exc, self._requests.Timeout) or "timed out" in str(exc).lower()
                reason = (f"no answer in time (no byte for {self.timeouts.read:g} s)" if timed_out
                          else f"connection failed ({exc.__class__.__name__})")
            except self._requests.RequestException as exc:
                raise RangeError(f"HTTP request failed ({exc.__class__.__name__})") from None
        raise RangeError(f"{reason}, {self.timeouts.retries + 1} tries")

    def _one_request(self, start: int, end: int, want: int) -> bytes:
        t = self.timeouts
        deadline = time.monotonic() + t.request
        with self._session.get(self.url, headers={"Range": f"bytes={start}-{end}", "Accept-Encoding": "identity"},
                               stream=True, timeout=(t.connect, t.read)) as response:
            status = response.status_code
            if status in _TRANSIENT:
                raise _Transient(f"the server answered HTTP {status}")
            if status == 200:
                raise RangeError("the server ignores HTTP range requests (it answered with the whole file): "
                                 "download the file and give its local path")
            if status != 206:
                raise RangeError(f"the server answered HTTP {status} {response.reason or ''}".rstrip())
            match = _CONTENT_RANGE.match(response.headers.get("Content-Range", ""))
            if not match or int(match.group(1)) != start:
                raise RangeError("the server answered another range than the one asked for")
            if self.length < 0:
                if match.group(3) == "*":
                    raise RangeError("the server does not say the file's size")
                self.length = int(match.group(3))
                self.etag = response.headers.get("ETag", "")
                self.last_modified = response.headers.get("Last-Modified", "")
                want = min(want, self.length - start)
            buf = bytearray()
            for chunk in response.iter_content(chunk_size=1 << 16):
                buf += chunk
                self.bytes_read += len(chunk)
                if len(buf) >= want:
                    break                                # never more than asked for, whatever is sent
                if time.monotonic() > deadline:
                    raise _Transient(f"the body took over {t.request:g} s")
        if len(buf) < want:
            raise _Transient(f"the body ended after {len(buf)} of {want} bytes")
        return bytes(buf[:want])

    # -- the block cache -----------------------------------------------------------------------
    def _store(self, first_block: int, data: bytes) -> None:
        for i in range(0, len(data), self.block_size):
            self._cache[first_block + i // self.block_size] = data[i:i + self.block_size]
            self._cache.move_to_end(first_block + i // self.block_size)
        while len(self._cache) > self.max_blocks:
            self._cache.popitem(last=False)

    def _blocks(self, lo: int, hi: int) -> None:
        """Have blocks ``lo..hi`` in the cache: each run of missing blocks in one request."""
        b = lo
        while b <= hi:
            if b in self._cache:
                self._cache.move_to_end(b)
                b += 1
                continue
            run_end = b
            while run_end + 1 <= hi and run_end + 1 not in self._cache \
                    and (run_end + 2 - b) * self.block_size <= self.max_block:
                run_end += 1
            self._store(b, self._fetch(b * self.block_size, (run_end + 1) * self.block_size - 1))
            b = run_end + 1

    # -- the file interface --------------------------------------------------------------------
    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        base = {io.SEEK_SET: 0, io.SEEK_CUR: self._pos, io.SEEK_END: self.length}[whence]
        self._pos = max(0, base + offset)
        return self._pos

    def tell(self) -> int:
        return self._pos

    def read(self, size: int = -1) -> bytes:
        if size is None or size < 0:
            size = self.length - self._pos
        size = min(size, self.length - self._pos)
        if size <= 0:
            return b""
        lo, hi = self._pos // self.block_size, (self._pos + size - 1) // self.block_size
        self._blocks(lo, hi)
        data = b"".join(self._cache[b] for b in range(lo, hi + 1))
        offset = self._pos - lo * self.block_size
        out = data[offset:offset + size]
        self._pos += len(out)
        return out

    def readinto(self, buffer) -> int:
        data = self.read(len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def identity(self) -> dict[str, str | int]:
        """What identifies the file as served: size, ETag, Last-Modified, SHA-256 of its first 64 KiB."""
        return {"size": self.length, "etag": self.etag, "last_modified": self.last_modified,
                "head_sha256": self.head_sha256}

    def close(self) -> None:
        self._session.close()
        self._cache.clear()
        super().close()


class _Transient(Exception):
    """A failure worth one more try."""


def open_range_file(url: str, timeouts: HttpTimeouts = HttpTimeouts()) -> HttpRangeFile:
    """:class:`HttpRangeFile` of ``url``; a failure is one :class:`NwbItError` line naming the URL."""
    try:
        return HttpRangeFile(url, timeouts)
    except ImportError:
        raise NwbItError("remote files need requests: pip install requests", url) from None
    except RangeError as exc:
        raise NwbItError(f"cannot be read over HTTP: {exc}", url) from None
