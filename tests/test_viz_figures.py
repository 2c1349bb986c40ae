"""What the figures show: every clip named, integer counts, clip names on RDMs, one label per series."""
from __future__ import annotations

import numpy as np
import pytest
from pynwb import NWBHDF5IO

from nwb_it.core.params import ReliabilityParams
from nwb_it.core.results import RSAResult
from nwb_it.nwb.recording import file_clips, read_presentations
from nwb_it.process.reliability import reliability
from nwb_it.steps import read_aligned
from nwb_it.viz.activations import pca_figure
from nwb_it.viz.compare import rdm_figure
from nwb_it.viz.heatmaps import histogram_figures, unit_figure
from nwb_it.viz.layers import depth_figure, ranking_figure


def test_a_clip_never_shown_is_an_empty_named_row(small_nwb):
    with NWBHDF5IO(str(small_nwb), "r") as io:
        nwb = io.read()
        aligned = read_aligned(nwb)
        every = file_clips(nwb, read_presentations(nwb))
    assert len(every) == len(aligned.clip_names) + 1, "the example has one clip with zero repeats"
    ax = unit_figure(aligned, 0, all_clips=every).axes[0]
    labels = [t.get_text() for t in ax.get_yticklabels()]
    assert len(labels) == len(every) and sum("(never shown)" in x for x in labels) == 1
    assert np.isnan(ax.images[0].get_array().filled(np.nan)).all(axis=1).sum() == 1, "its row is empty"


def test_count_axes_have_whole_ticks(small_nwb):
    with NWBHDF5IO(str(small_nwb), "r") as io:
        res = reliability(read_aligned(io.read()), ReliabilityParams(n_perm=10))
    ax = histogram_figures(res)[1].axes[0]
    ticks = ax.yaxis.get_major_locator().tick_values(*ax.get_ylim())
    assert np.allclose(ticks, np.round(ticks)), ticks


def test_rdm_axes_name_the_clips():
    names = [f"clip{k:02d}" for k in range(12)]
    rdm = np.random.default_rng(0).random((12, 12))
    fig = rdm_figure(RSAResult(0.3, 0.9, rdm, rdm, clip_names=names), "s")
    for ax in fig.axes[:2]:                       # the two RDMs (their colour bars follow)
        assert [t.get_text() for t in ax.get_xticklabels()] == names
        assert [t.get_text() for t in ax.get_yticklabels()] == names


@pytest.mark.parametrize("distance, neural", [("crossnobis", "crossnobis"), ("poisson", "Poisson-cv"),
                                               ("correlation", "1 - Pearson r")])
def test_rdm_colour_bars_name_the_distance_used(distance, neural):
    rdm = np.random.default_rng(0).random((5, 5))
    fig = rdm_figure(RSAResult(0.3, 0.9, rdm, rdm, clip_names=list("abcde"), distance=distance), "s")
    bars = [ax.get_ylabel() for ax in fig.axes[2:]]
    assert neural in bars[0] and len(bars) == 2
    assert distance == "correlation" or "Pearson" not in " ".join(bars)


def test_pca_key_names_clips_and_counts_in_whole_numbers():
    rng = np.random.default_rng(0)
    values, in_clip = rng.normal(size=(60, 8)), np.ones(60, dtype=bool)
    few = pca_figure(values, np.repeat(np.arange(6), 10), in_clip, "t", [f"c{k}" for k in range(6)])
    assert [t.get_text() for t in few.axes[0].get_legend().get_texts()] == [f"c{k}" for k in range(6)]
    many = pca_figure(rng.normal(size=(300, 8)), np.repeat(np.arange(30), 10), np.ones(300, dtype=bool), "t")
    bar = many.axes[-1]
    ticks = bar.get_yticks()
    assert np.allclose(ticks, np.round(ticks)), ticks


def test_two_tables_of_one_family_get_distinct_labels_and_both_lines_show():
    summary = {k: {"median": 0.5, "ci_low": 0.4, "ci_high": 0.6} for k in ("layer0", "layer1", "last")}
    curves = [{"activations": "videomae_activations", "family": "videomae", "n_layers": 2, "summary": summary},
              {"activations": "lab_checkpoint", "family": "videomae", "n_layers": 2, "summary": summary}]
    ax = depth_figure(curves, "s").axes[0]
    named = ("videomae_activations", "lab_checkpoint (videomae)")
    lines = [line for line in ax.get_lines() if line.get_label() in named]
    assert len(lines) == 2 and lines[0].get_marker() != lines[1].get_marker(), "identical curves stay distinguishable"
    labels = [t.get_text() for t in ranking_figure(curves, "s").axes[0].get_yticklabels()]
    assert len(labels) == len(set(labels)) == 6
