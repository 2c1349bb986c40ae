"""Binning on the presentation clock: equal to np.histogram of the source and to per-presentation Elephant."""
from __future__ import annotations

import warnings

import neo
import numpy as np
import pytest
import quantities as pq
from elephant.conversion import BinnedSpikeTrain
from pynwb import NWBHDF5IO

from nwb_it import read_session, run_convert
from nwb_it.examples import cell_array, write_mat73
from nwb_it.nwb.recording import read_presentations, read_spike_trains
from nwb_it.process.binning import TOLERANCE_S
from nwb_it.steps import read_aligned

from .helpers import META

EDGES = np.array([-0.05, 0.0, 0.05, 0.10, 0.15, 0.20, 0.25, 0.30])

@pytest.fixture(scope="module")
def edge_session(tmp_path_factory):
    """Spikes exactly on every bin edge, ragged repeats, an empty clip and a silent unit."""
    on_edges = np.r_[EDGES, EDGES[:3], -0.07, 0.31]
    spikes = [
        [[on_edges, np.array([0.0, 0.05, 0.3])], [np.array([0.1])], []],
        [[np.zeros(0), np.array([-0.05])], [np.array([0.25, 0.2999])], []],
        [[np.zeros(0), np.zeros(0)], [np.zeros(0)], []],
    ]
    struct = {"spikes": cell_array([cell_array([cell_array([s.reshape(-1, 1) for s in rep]) for rep in unit])
                                    for unit in spikes]),
              "itemnames": cell_array(["1_a", "2_b", "3_c"]), "neuron_id": cell_array(["u1", "u2", "u3"])}
    d = tmp_path_factory.mktemp("edge")
    mat = d / "e_fixshortvid1_coco.mat"
    write_mat73(mat, {"L2_str": struct})
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        return mat, run_convert(mat, META, out_dir=d)


def _histograms(session, aligned):
    out = np.zeros_like(aligned.counts)
    for u in range(session.n_units):
        for c, k in enumerate(aligned.clip_index):
            for r in range(session.n_repeats[k]):
                out[u, c, r] = np.histogram(session.spikes(u, k, r), bins=EDGES)[0]
    return out


def test_binning_equals_np_histogram_of_the_source(edge_session, small_mat, small_nwb):
    for mat, nwb_path in (edge_session, (small_mat, small_nwb)):
        session = read_session(mat)
        with NWBHDF5IO(str(nwb_path), "r") as io:
            aligned = read_aligned(io.read())
        np.testing.assert_array_equal(aligned.counts, _histograms(session, aligned))
        assert aligned.mask.sum() == session.n_presentations


def test_edges_and_ragged_repeats(edge_session):
    with NWBHDF5IO(str(edge_session[1]), "r") as io:
        a = read_aligned(io.read())
    assert a.counts.shape == (3, 2, 2, 7), "the never-shown clip has no row"
    np.testing.assert_array_equal(a.mask, [[True, True], [True, False]])
    np.testing.assert_array_equal(a.counts[0, 0, 0], [2, 2, 2, 1, 1, 1, 2])   # 0.30 in the last bin
    np.testing.assert_array_equal(a.counts[1, 1, 0], [0, 0, 0, 0, 0, 0, 2])   # 0.25 opens the last bin
    assert a.counts[2].sum() == 0 and a.counts[:, 1, 1].sum() == 0


def presentation_trains(spikes, pres, window, units=None):
    """The simple way: one onset-aligned ``neo.SpikeTrain`` per unit and presentation (table order).

    Slow for whole sessions; kept as the reference ``bin_aligned`` is tested against.
    """
    unit_ids = np.arange(spikes.n_units) if units is None else np.asarray(units, dtype=int)
    out = []
    for u in unit_ids:
        t = np.sort(spikes.unit(u))
        row = []
        for onset in pres.onset:
            rel = t[(t >= onset + window[0] - TOLERANCE_S) & (t <= onset + window[1] + TOLERANCE_S)] - onset
            row.append(neo.SpikeTrain(np.clip(rel, *window), units="s", t_start=window[0], t_stop=window[1]))
        out.append(row)
    return out


def test_presentation_clock_equals_per_presentation_elephant(small_nwb):
    with NWBHDF5IO(str(small_nwb), "r") as io:
        nwb = io.read()
        fast = read_aligned(nwb, (-0.05, 0.25), 0.05)
        trains = presentation_trains(read_spike_trains(nwb), read_presentations(nwb), (-0.05, 0.25))
    for u, per_trial in enumerate(trains):
        slow = np.stack([BinnedSpikeTrain(t, bin_size=0.05 * pq.s).to_array()[0] for t in per_trial])
        np.testing.assert_array_equal(fast.presentation_counts[u], slow[fast.rows])
        np.testing.assert_array_equal(fast.counts[u][fast.clip_of, fast.repeat], slow[fast.rows])


def test_edge_rounding_is_quiet_in_this_thread_only_and_the_logger_level_is_untouched(edge_session):
    """Elephant logs every edge spike it moves: silenced while nwb_it bins, in the binning thread only; Elephant's
    logger keeps its level, and its records from another thread at the same moment still get through."""
    import logging
    import threading

    import elephant.utils

    from nwb_it.process import binning
    from nwb_it.steps import read_aligned

    class Keep(logging.Handler):
        def __init__(self):
            super().__init__(logging.DEBUG)
            self.records = []

        def emit(self, record):
            self.records.append(record)

    logger = elephant.utils.logger
    level = logger.level
    keep = Keep()
    logger.addHandler(keep)
    try:
        logger.setLevel(logging.DEBUG)                 # the caller wants to hear everything
        with NWBHDF5IO(str(edge_session[1]), "r") as io:
            read_aligned(io.read(), (0.0, 0.3), 0.05)
        assert not keep.records, [r.getMessage() for r in keep.records]
        with binning._quiet_edge_rounding():
            other = threading.Thread(target=lambda: logger.warning("from another thread"))
            other.start()
            other.join()
            logger.warning("from the binning thread")
        logger.warning("after binning")
        assert [r.getMessage() for r in keep.records] == ["from another thread", "after binning"]
        assert logger.level == logging.DEBUG
    finally:
        logger.removeHandler(keep)
        logger.setLevel(level)
