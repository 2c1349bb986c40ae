"""The reliability statistic: vectorised r² equals the lab's loop, known units are found, seeded and NaN-safe."""
from __future__ import annotations

import dataclasses
import warnings

import numpy as np
import pandas as pd
import pytest
from pynwb import NWBHDF5IO

from nwb_it import run_convert
from nwb_it.core.params import ReliabilityParams
from nwb_it.examples import write_example_session
from nwb_it.examples.null_session import null_aligned_counts
from nwb_it.examples.other_lab import write_blank_and_images_file
from nwb_it.process.reliability import reliability
from nwb_it.process.splits import null_deal, split_half_r, split_positions
from nwb_it.steps import read_aligned
from nwb_it.steps.reliability import run_reliability

from .helpers import META


def _seed_loop_r2(counts, mask, positions):
    """The lab's loop: per unit and split, halves' means, pandas' pairwise-complete Pearson."""
    n_k = mask.sum(1)
    out = np.full((counts.shape[0], positions.shape[0]), np.nan)
    for u in range(counts.shape[0]):
        for p in range(positions.shape[0]):
            xs, ys = [], []
            for k in range(mask.shape[0]):
                if n_k[k] == 0:
                    continue
                order = np.argsort(positions[p, k])[:n_k[k]]
                a, b = order[:n_k[k] // 2], order[n_k[k] // 2:]
                xs.append(counts[u, k, a].mean(0) if a.size else np.full(counts.shape[-1], np.nan))
                ys.append(counts[u, k, b].mean(0))
            out[u, p] = pd.Series(np.concatenate(xs)).corr(pd.Series(np.concatenate(ys))) ** 2
    return out


def test_vectorised_r2_equals_plain_loop(small_nwb):
    with NWBHDF5IO(str(small_nwb), "r") as io:
        a = read_aligned(io.read())
    rng = np.random.default_rng(5)
    pos = split_positions(rng, a.mask, 20)
    np.testing.assert_allclose(split_half_r(a.counts, a.mask, pos) ** 2, _seed_loop_r2(a.counts, a.mask, pos),
                               atol=1e-12)
    dealt = null_deal(rng, a.counts[0], a.mask)
    assert sorted(map(tuple, dealt[a.mask])) == sorted(map(tuple, a.counts[0][a.mask]))


@pytest.mark.slow
def test_precision_recall_on_known_units(tmp_path):

    mat = tmp_path / "pr_fixshortvid1_coco.mat"
    truth = write_example_session(mat, n_units=40, n_clips=30, n_repeats=6, seed=11)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nwb = run_convert(mat, META, out_dir=tmp_path)
    res = run_reliability(nwb)
    found, made = res.responsive, truth.responsive
    precision = (found & made).sum() / max(found.sum(), 1)
    recall = (found & made).sum() / made.sum()
    assert precision >= 0.95 and recall >= 0.95, (precision, recall)


def test_seeded_and_nan_safe(small_nwb):
    with NWBHDF5IO(str(small_nwb), "r") as io:
        a = read_aligned(io.read())
    one = reliability(a, ReliabilityParams(n_perm=30, seed=4)).to_dataframe()
    two = reliability(a, ReliabilityParams(n_perm=30, seed=4), chunk=2).to_dataframe()
    pd.testing.assert_frame_equal(one, two)
    assert not reliability(a, ReliabilityParams(n_perm=30, seed=5)).to_dataframe().equals(one)
    silent = one.iloc[-1]
    assert np.isnan(silent.dprime) and not silent.responsive
    first = a.repeat == 0                      # < 2 repeats everywhere
    res = reliability(dataclasses.replace(a, presentation_counts=a.presentation_counts[:, first],
                                          clip_of=a.clip_of[first], repeat=a.repeat[first], rows=a.rows[first]),
                      ReliabilityParams(n_perm=10))
    assert np.isnan(res.dprime).all() and not res.responsive.any()


def _null_session(n_units=300, n_clips=60, n_rep=6, seed=1):
    return null_aligned_counts(n_units, n_clips, n_rep, seed)


def test_p_values_calibrated_on_a_null_session():
    res = reliability(_null_session(), ReliabilityParams())
    p = res.p_value
    assert 0.025 <= np.mean(p < 0.05) <= 0.075, np.mean(p < 0.05)
    assert np.mean(p < 0.01) <= 0.02
    assert res.responsive.mean() <= 0.01
    assert np.nanmin(res.q_value) > 0.05, "no discovery survives Benjamini-Hochberg on a null session"


@pytest.mark.slow
def test_calibration_benchmark_sized_null_session():
    """Three sessions of 300 flat units x 200 clips x ragged 8 repeats (the size of a real session), pooled."""
    res = [reliability(_null_session(n_clips=200, n_rep=8, seed=s), ReliabilityParams(seed=s)) for s in (7, 8, 9)]
    p = np.concatenate([r.p_value for r in res])
    assert 0.025 <= np.mean(p < 0.05) <= 0.075 and np.mean(p < 0.01) <= 0.02, (np.mean(p < 0.05), np.mean(p < 0.01))
    assert np.mean(np.concatenate([r.responsive for r in res])) <= 0.01


def test_agreement_ranks_units_like_the_split_half_r2(small_nwb, tmp_path):
    from scipy.stats import spearmanr

    mat = tmp_path / "rank_fixshortvid1_coco.mat"
    write_example_session(mat, n_units=30, n_clips=25, n_repeats=6, seed=4)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nwb = run_convert(mat, META, out_dir=tmp_path)
    with NWBHDF5IO(str(nwb), "r") as io:
        df = reliability(read_aligned(io.read()), ReliabilityParams(n_perm=50)).to_dataframe()
    ok = df.agreement.notna()
    assert spearmanr(df.agreement[ok], df.r2_true_mean[ok]).statistic > 0.8


def test_spearman_brown_of_the_mean_r_never_explodes():
    from nwb_it.process.reliability import summarize

    r = np.array([[0.4, -0.8, 0.3, 0.2]])            # mean r 0.025: per-split corrections explode at -0.8
    res = summarize([0], ["u"], r, np.zeros((1, 4)), ReliabilityParams(n_perm=4))
    assert res.spearman_brown_mean_r[0] == pytest.approx(2 * 0.025 / 1.025)
    many = np.random.default_rng(0).uniform(-0.99, 0.9, (50, 20))          # splits near -1 included
    res = summarize(list(range(50)), [str(u) for u in range(50)], many, np.zeros((50, 20)),
                    ReliabilityParams(n_perm=20))
    mean = many.mean(1)
    np.testing.assert_allclose(res.spearman_brown_mean_r, 2 * mean / (1 + mean), rtol=1e-12)
    assert np.all(np.abs(res.spearman_brown_mean_r) <= 1)


def test_redealt_null_steadies_dprime_across_seeds():
    null = _null_session(n_units=40, n_clips=30)
    spread = {}
    for how in ("redeal", "once"):
        d = np.stack([reliability(null, ReliabilityParams(null=how, n_null=100, seed=s)).dprime for s in range(8)])
        spread[how] = np.nanmean(d.std(0))
        if how == "redeal":
            assert np.nanmax(d) < 3, "no flat unit called responsive under any seed"
    assert spread["redeal"] < spread["once"], spread


def test_memory_follows_presentations_not_clips_times_repeats(tmp_path):
    """2000 blanks + 2000 images once: the dense (clip x repeat) layout asked for 2.98 GiB per array."""
    import resource
    import subprocess
    import sys

    path = tmp_path / "blank_and_images.nwb"
    write_blank_and_images_file(path, 2000, 2000)

    def cap():                                   # the child may not even reserve 2 GiB of address space
        resource.setrlimit(resource.RLIMIT_AS, (2 << 30, 2 << 30))

    child = ("import resource, sys\nfrom nwb_it.cli import main\ncode = main(sys.argv[1:])\n"
             "print('peak_kb', resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)\nsys.exit(code)")
    run = subprocess.run([sys.executable, "-c", child, "reliability", str(path), "--stimulus-column", "stim"],
                         capture_output=True, text=True, preexec_fn=cap, timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    peak_mb = int(run.stdout.split("peak_kb")[1].split()[0]) / 1024
    assert peak_mb < 1024, f"peak {peak_mb:.0f} MB"
    assert "8 units" in run.stdout


def test_per_presentation_splits_equal_the_dense_ones(small_nwb):
    """The per-presentation path gives split-half r equal to the dense reference on the same random keys."""
    from nwb_it.process.splits import draw_keys, presentation_ranks, split_half_r_by_presentation

    with NWBHDF5IO(str(small_nwb), "r") as io:
        a = read_aligned(io.read())
    grid = a.mask.shape
    rng = np.random.default_rng(4)
    keys = rng.random((15, *grid))
    cells = a.clip_of * grid[1] + a.repeat
    np.testing.assert_array_equal(draw_keys(np.random.default_rng(4), 15, grid, cells), keys.reshape(15, -1)[:, cells])
    present = np.ones(a.clip_of.size, dtype=bool)
    ranks = presentation_ranks(keys.reshape(15, -1)[:, cells], present, a.clip_of)
    x = a.presentation_counts.transpose(1, 0, 2).reshape(a.clip_of.size, -1).astype(float)
    got = split_half_r_by_presentation(x, ranks, present, a.clip_of, len(a.clip_names), a.n_units)
    want = split_half_r(a.counts, a.mask, split_positions(keys, a.mask, 0))
    np.testing.assert_allclose(got, want, atol=1e-12, equal_nan=True)


@pytest.mark.parametrize("n_strong", [1, 3, 5])
def test_a_few_strong_units_among_300_all_pass_benjamini_hochberg(n_strong):
    """Sequential deals give a unit far beyond its null a p small enough for BH over 300 units."""
    from .synthetic import aligned_from_rates

    rng = np.random.default_rng(n_strong)
    rates = np.full((300, 60, 7), 10.0)
    rates[:n_strong] = rng.gamma(1.0, 20.0, (n_strong, 60, 1))         # strongly clip-selective
    res = reliability(aligned_from_rates(rates, np.full(60, 6), seed=n_strong), ReliabilityParams(n_perm=20))
    assert np.all(res.q_value[:n_strong] < 0.05), res.q_value[:n_strong]
    assert np.all(res.n_deals[:n_strong] >= ReliabilityParams().n_null)
    if n_strong == 1:                                # 1/1001 is not enough for BH over 300 units: dealt on
        assert res.n_deals[0] > ReliabilityParams().n_null and res.p_value[0] < 1 / 1001
    null = res.p_value[n_strong:]
    assert 0.02 <= np.mean(null < 0.05) <= 0.08
    assert np.sum(res.q_value[n_strong:] < 0.05) <= 1, "BH keeps false discoveries rare (FDR 5 %)"
    assert np.all(res.n_deals[n_strong:] <= ReliabilityParams().n_null_max)
    assert np.mean(res.n_deals[n_strong:] > ReliabilityParams().n_null) < 0.05, "null units stop early"
