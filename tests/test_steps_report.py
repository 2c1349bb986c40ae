"""The report's numbers are the file's: units named by id whatever their rows, spikes aligned exactly."""
from __future__ import annotations

import h5py
import numpy as np

from nwb_it.core.params import ReliabilityParams
from nwb_it.nwb.io import reading
from nwb_it.nwb.results import read_reliability_table
from nwb_it.steps.reliability import run_reliability
from nwb_it.steps.report import aligned_spikes, compute_report, read_report_data

from .helpers import copy_to


def test_units_whose_ids_are_not_their_rows_keep_their_own_numbers(small_nwb, tmp_path):
    path = copy_to(small_nwb, tmp_path)
    with h5py.File(path, "r+") as f:                      # another lab's ids: not 0..n-1
        ids = f["units/id"][:]
        f["units/id"][:] = ids[::-1] * 7 + 100
    run_reliability(path, ReliabilityParams(n_perm=20, n_null=100))
    with reading(path) as nwb:
        stored = read_reliability_table(nwb)                     # rows of the units table
        file_ids = np.asarray(nwb.units.id[:])
    payload = compute_report(read_report_data(path))
    by_id = {u["id"]: u for u in payload["units"]}
    assert sorted(by_id) == sorted(file_ids.tolist())
    for row, d in zip(stored.unit_ids, stored.dprime):
        shown = by_id[int(file_ids[row])]["dprime"]
        assert (shown is None and not np.isfinite(d)) or abs(shown - d) < 1e-4      # shown to 4 decimals


def test_aligned_spikes_is_the_loop_it_replaces():
    rng = np.random.default_rng(3)
    spikes = np.sort(rng.uniform(0, 50, 4000))
    onset = np.sort(rng.uniform(1, 49, 60))
    ptr, t = aligned_spikes(spikes, onset, (-0.1, 0.5))
    for i, o in enumerate(onset):
        inside = spikes[(spikes >= o - 0.1) & (spikes < o + 0.5)] - o
        assert np.array_equal(t[ptr[i]:ptr[i + 1]], inside)
