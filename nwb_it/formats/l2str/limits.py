"""Plausibility limits applied before a MAT file's declared sizes shape any allocation."""
from __future__ import annotations

import os
from pathlib import Path

import h5py

#: The floating-point types a MAT file's doubles/singles may have; anything else is a damaged type.
IEEE_FLOATS = (h5py.h5t.IEEE_F64LE, h5py.h5t.IEEE_F64BE, h5py.h5t.IEEE_F32LE, h5py.h5t.IEEE_F32BE)
MIN_CAP_BYTES = 1 << 30
EXPANSION = 1000            # gzip rarely expands past this; a damaged size field easily does


def max_bytes(path: str | Path | None) -> int:
    """The most bytes one decoded value may take: 1000 x the file's size, at least 1 GiB."""
    try:
        size = os.path.getsize(path) if path is not None else 0
    except OSError:
        size = 0
    return max(MIN_CAP_BYTES, EXPANSION * size)
