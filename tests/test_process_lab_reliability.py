"""--lab-compat against a transcription of the lab notebook's own code (written here, independently)."""
# ruff: noqa: NPY002  (the notebook used the legacy global random state; the transcription must too)
from __future__ import annotations

import warnings

import numpy as np
import pandas as pd
import pytest
from pynwb import NWBHDF5IO

from nwb_it import read_session, run_convert
from nwb_it.cli import main
from nwb_it.core.params import ReliabilityParams
from nwb_it.examples import make_example_struct, write_mat73
from nwb_it.nwb.recording import read_presentations, read_spike_trains
from nwb_it.nwb.results import read_reliability_table
from nwb_it.process.lab_reliability import lab_reliability

from .helpers import META, copy_to


def notebook_dprimes(nested, seed=0, n_perm=100):
    """real_stats.ipynb, transcribed: spikes as mat73 gives them (None when empty, 0-d when one spike)."""
    np.random.seed(seed)
    edges = np.arange(-.05, 0.300 + 0.05, 0.05)
    out = []
    for unit in nested:
        clips = []
        for clip in unit:
            reps = [None if r.size == 0 else (r.reshape(()) if r.size == 1 else r) for r in clip]
            clips.append([j for j in reps if j is not None])

        def split_r2(groups):
            hists = [np.array([np.histogram(r, edges)[0] for r in g]) for g in groups]
            r2 = []
            for _ in range(n_perm):
                a, b = [], []
                for h in hists:
                    if len(h) == 0:
                        continue
                    perm = np.random.permutation(h)
                    half = len(h) // 2
                    with warnings.catch_warnings():
                        warnings.simplefilter("ignore")
                        a.append(np.mean(perm[:half], axis=0))
                    b.append(np.mean(perm[half:], axis=0))
                r2.append(pd.Series(np.concatenate(a)).corr(pd.Series(np.concatenate(b))) ** 2)
            return np.array(r2)
        try:
            true = split_r2(clips)
            flat = [r for clip in clips for r in clip]
            np.random.shuffle(flat)
            for i, r in enumerate(flat):
                if r.ndim == 0:                         # one spike: mat73's 0-d array, the flip skips it
                    continue
                if np.random.rand() > 0.5:
                    flat[i] = r[::-1]
            dealt, i = [], 0
            for clip in clips:
                dealt.append(flat[i:i + len(clip)])
                i += len(clip)
            null = split_r2(dealt)
            out.append((np.nanmean(true) - np.nanmean(null)) / (0.5 * (np.nanstd(true) + np.nanstd(null))))
        except ValueError:                              # np.concatenate([]): a unit without any spike
            out.append(np.nan)
    return np.array(out)


@pytest.fixture(scope="module")
def lab_session(tmp_path_factory):
    """Silent repeats, ragged repeats, an empty clip, a silent unit, single-spike repeats, spikes on the edges."""
    struct, _ = make_example_struct(n_units=7, n_clips=9, n_repeats=5, seed=12)
    spikes = struct["spikes"]
    spikes[1, 0][0, 0][1, 0] = np.zeros((0, 1))                      # silent repeats in a firing unit
    spikes[1, 0][3, 0][0, 0] = np.zeros((0, 1))
    spikes[1, 0][3, 0][1, 0] = np.zeros((0, 1))
    spikes[2, 0][1, 0][0, 0] = np.array([[0.1]])                      # one spike, exactly on 0.1
    spikes[2, 0][4, 0][1, 0] = np.array([[0.25], [0.15], [0.3]])      # on the float-noise edges and the end
    spikes[3, 0][0, 0][0, 0] = np.array([[0.0]])
    d = tmp_path_factory.mktemp("lab")
    mat = d / "lab_fixshortvid1_coco.mat"
    write_mat73(mat, {"L2_str": struct})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nwb = run_convert(mat, META, out_dir=d)
    return mat, nwb


def test_lab_compat_equals_the_notebook(lab_session):
    mat, nwb = lab_session
    session = read_session(mat)
    assert (session.n_repeats == 0).any() and session.spike_counts[-1].sum() == 0
    expected = notebook_dprimes(session.nested(), seed=3, n_perm=40)
    with NWBHDF5IO(str(nwb), "r") as io:
        f = io.read()
        res = lab_reliability(read_spike_trains(f), read_presentations(f), ReliabilityParams(seed=3, n_perm=40),
                              f.units.resolution)
    assert np.isnan(expected[-1]) and np.isnan(res.dprime[-1]), "the silent unit: NaN where the notebook crashes"
    np.testing.assert_allclose(res.dprime, expected, atol=1e-9, rtol=0, equal_nan=True)


def test_lab_compat_verb_stores_the_notebook_numbers(lab_session, tmp_path):
    mat, nwb = lab_session
    path = copy_to(nwb, tmp_path)
    assert main(["reliability", str(path), "--lab-compat", "--n-perm", "30", "--seed", "1"]) == 0
    with NWBHDF5IO(str(path), "r") as io:
        res = read_reliability_table(io.read())
    assert res.params.lab_compat and np.isnan(res.p_value).all()
    np.testing.assert_allclose(res.dprime, notebook_dprimes(read_session(mat).nested(), 1, 30), atol=1e-9,
                               equal_nan=True)
