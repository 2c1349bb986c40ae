"""Shared fixtures: small example sessions written as real MAT files (v7.3 and v5)."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import numpy as np
import pytest

from nwb_it.io.example import make_example_struct, write_example_session

os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")

META = {"NWBFile": {"session_start_time": "2024-03-01T10:00:00-05:00", "experimenter": ["Doe, Jane"],
                    "institution": "Cold Spring Harbor Laboratory", "lab": "Vision Lab"},
        "Subject": {"age": "P7Y", "sex": "M"}}

SMALL = dict(n_units=6, n_clips=7, n_repeats=4, seed=3)


@pytest.fixture(scope="session")
def small_mat(tmp_path_factory) -> Path:
    """v7.3 example: ragged repeats, clip 3 without repeats, a silent last unit."""
    path = tmp_path_factory.mktemp("mat") / "rec_fixshortvid1_coco.mat"
    write_example_session(path, **SMALL)
    return path


@pytest.fixture(scope="session")
def small_mat_v5(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("mat5") / "rec_fixshortvid1_coco.mat"
    write_example_session(path, mat_format="5", **SMALL)
    return path


@pytest.fixture(scope="session")
def small_struct():
    return make_example_struct(**SMALL)


@pytest.fixture(scope="session")
def small_nwb(tmp_path_factory, small_mat) -> Path:
    from nwb_it import convert_session

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return convert_session(small_mat, tmp_path_factory.mktemp("nwb"), META)


def nested_equal(a, b) -> bool:
    """Deep equality of decoded MATLAB values (dicts, object arrays, arrays, strings)."""
    if isinstance(a, dict):
        return isinstance(b, dict) and list(a) == list(b) and all(nested_equal(a[k], b[k]) for k in a)
    if isinstance(a, str):
        return a == b
    a, b = np.asarray(a), np.asarray(b)
    if a.dtype == object:
        return b.dtype == object and a.shape == b.shape and all(
            nested_equal(x, y) for x, y in zip(a.reshape(-1), b.reshape(-1)))
    return a.shape == b.shape and np.array_equal(a, b)
