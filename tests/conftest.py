"""Shared fixtures: small example sessions written as real MAT files (v7.3 and v5), their NWB file, a tiny model."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest

from nwb_it.examples import make_example_struct, write_example_session

from .helpers import META, SMALL

os.environ.setdefault("HDF5_USE_FILE_LOCKING", "FALSE")


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
    from nwb_it import run_convert

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return run_convert(small_mat, META, out_dir=tmp_path_factory.mktemp("nwb"))


@pytest.fixture(scope="session")
def tiny_videomae(tmp_path_factory) -> Path:
    """A tiny random VideoMAE checkpoint saved to a local folder."""
    from nwb_it.examples.random_model import save_random_videomae

    return save_random_videomae(tmp_path_factory.mktemp("model") / "tiny")
