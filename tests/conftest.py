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


DATASET_YAML = """\
sessions: [raw/*.mat]
metadata: metadata.yaml
session_table: sessions.csv
stimuli: raw/frames
output: out
reliability: {n_perm: 100, n_null: 200}
compare: {folds: 4, n_boot: 100, n_perm_rsa: 100}
models:
  - {name: tiny, model: raw/tiny_videomae, layers: all}
"""


@pytest.fixture(scope="session")
def example_dataset(tmp_path_factory) -> Path:
    """Two example sessions, their frames, a tiny model and a dataset file, run once (``nwb-it run``)."""
    from nwb_it.examples.dataset import write_example_dataset
    from nwb_it.steps.dataset_run import run_dataset

    folder = tmp_path_factory.mktemp("dataset")
    files = write_example_dataset(folder, n_sessions=2)
    files["dataset"].write_text(DATASET_YAML, encoding="utf-8")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run = run_dataset(files["dataset"])
    assert not run.failed, run.failed
    return folder
