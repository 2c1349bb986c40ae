"""SHA-256 of files, computed once per version of a file (its path, modification time and size)."""
from __future__ import annotations

import functools
import hashlib
from pathlib import Path

from ..core.errors import NwbItError


@functools.lru_cache(maxsize=256)
def _cached(path: Path, mtime_ns: int, size: int) -> str:
    with open(path, "rb") as fh:
        return hashlib.file_digest(fh, "sha256").hexdigest()


def file_sha256(path: str | Path) -> str:
    """SHA-256 of a file (hex); a file read again unchanged (a video's frames, a cache's inputs) is hashed once.

    Examples
    --------
    >>> import tempfile, os
    >>> p = os.path.join(tempfile.mkdtemp(), "x"); _ = open(p, "w").write("abc")
    >>> file_sha256(p)[:12]
    'ba7816bf8f01'
    """
    path = Path(path)
    try:
        st = path.stat()
        return _cached(path, st.st_mtime_ns, st.st_size)
    except OSError as exc:
        raise NwbItError(f"cannot read ({exc.strerror})", path) from None
