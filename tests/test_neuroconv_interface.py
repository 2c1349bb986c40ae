"""The L2_str source inside a real NeuroConv NWBConverter writes what nwb-it convert writes."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
from pynwb import NWBHDF5IO

pytest.importorskip("neuroconv", reason="the optional extra neuroconv is not installed")

from neuroconv import NWBConverter

from nwb_it import read_source_fields
from nwb_it.neuroconv import L2StrInterface

from .helpers import nested_equal


class LabConverter(NWBConverter):
    data_interface_classes = dict(L2Str=L2StrInterface)


def test_run_conversion_writes_the_same_units_and_trials(small_mat, small_nwb, tmp_path):
    converter = LabConverter(source_data=dict(L2Str=dict(file_path=str(small_mat))))
    metadata = converter.get_metadata()
    assert metadata["Subject"]["subject_id"] == "coco" and metadata["NWBFile"]["session_id"] == "rec-fixshortvid1"
    metadata["NWBFile"]["session_start_time"] = datetime(2024, 3, 1, 15, tzinfo=timezone.utc)
    metadata["Subject"].update(age="P7Y", sex="M")
    out = tmp_path / "neuroconv.nwb"
    converter.run_conversion(nwbfile_path=str(out), metadata=metadata)
    with NWBHDF5IO(str(out), "r") as a, NWBHDF5IO(str(small_nwb), "r") as b:
        fa, fb = a.read(), b.read()
        assert fa.trials.to_dataframe().equals(fb.trials.to_dataframe())
        for u in range(len(fb.units)):
            np.testing.assert_array_equal(fa.units["spike_times"][u], fb.units["spike_times"][u])
        assert list(fa.units["unit_name"][:]) == list(fb.units["unit_name"][:])
        assert fa.units.resolution == fb.units.resolution
        sa, sb = read_source_fields(fa), read_source_fields(fb)
        assert list(sa) == list(sb) and all(nested_equal(sa[k], sb[k]) for k in sa)
        assert fa.subject.age == "P7Y"


def test_store_binned_round_trip(small_nwb, tmp_path):
    import ndx_binned_spikes  # noqa: F401  (registers the extension's classes)

    from nwb_it.cli import main
    from nwb_it.nwb.recording import read_presentations
    from nwb_it.nwb.validate import validate_nwb
    from nwb_it.steps import read_aligned

    from .helpers import copy_to

    path = copy_to(small_nwb, tmp_path)
    assert main(["reliability", str(path), "--n-perm", "20", "--store-binned"]) == 0
    assert main(["reliability", str(path), "--n-perm", "20"]) == 0          # a later step keeps it
    with NWBHDF5IO(str(path), "r") as io:
        f = io.read()
        binned = f.processing["ecephys"]["binned_aligned_spikes"]
        aligned, pres = read_aligned(f), read_presentations(f)
        data, stamps = binned.data[:], binned.event_timestamps[:]
        labels, which = list(binned.condition_labels[:]), binned.condition_indices[:]
        assert binned.bin_width_in_ms == 50.0 and binned.event_to_bin_offset_in_ms == -50.0
        assert list(binned.units_region.data[:]) == list(range(len(f.units)))
    assert np.all(np.diff(stamps) >= 0) and stamps.size == len(pres)
    order = np.argsort(pres.onset)
    clip_pos = np.searchsorted(aligned.clip_index, pres.clip[order])
    np.testing.assert_array_equal(data, aligned.counts[:, clip_pos, pres.repeat[order]])
    assert [labels[i] for i in which] == list(pres.names[order])
    assert not [x for x in validate_nwb(path) if x.blocking]


def test_store_binned_keeps_the_bin_width_asked_for_and_warns_nothing(small_nwb, tmp_path):
    """--bin 0.04 is stored as 40.0 ms (was 40.00000000000001), and no dtype conversion warning is printed."""
    import warnings

    import ndx_binned_spikes  # noqa: F401

    from nwb_it.core.params import ReliabilityParams
    from nwb_it.steps import run_reliability

    from .helpers import copy_to

    path = copy_to(small_nwb, tmp_path)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run_reliability(path, ReliabilityParams(n_perm=20, window=(-0.04, 0.32), bin_size=0.04), store_binned=True)
    assert not [w for w in caught if "converted to data type" in str(w.message)], [str(w.message) for w in caught]
    with NWBHDF5IO(str(path), "r") as io:
        binned = io.read().processing["ecephys"]["binned_aligned_spikes"]
        assert binned.bin_width_in_ms == 40.0 and binned.event_to_bin_offset_in_ms == -40.0


def test_the_stimuli_conversion_option_stores_templates(small_mat, small_nwb, tmp_path):
    from nwb_it.examples import write_example_frames
    from nwb_it.nwb.stimuli import TEMPLATE_COLUMN, read_stimulus_templates

    with NWBHDF5IO(str(small_nwb), "r") as io:
        names = sorted(set(io.read().trials["stimulus_name"][:]))
    frames = write_example_frames(tmp_path / "stimuli", names, n_frames=3, size=8)
    converter = LabConverter(source_data=dict(L2Str=dict(file_path=str(small_mat))))
    metadata = converter.get_metadata()
    metadata["NWBFile"]["session_start_time"] = datetime(2024, 3, 1, 15, tzinfo=timezone.utc)
    out = tmp_path / "with_stimuli.nwb"
    converter.run_conversion(nwbfile_path=str(out), metadata=metadata,
                             conversion_options=dict(L2Str=dict(stimuli=str(frames), nwbfile_path=str(out))))
    with NWBHDF5IO(str(out), "r") as io:
        f = io.read()
        assert sorted(read_stimulus_templates(f)) == names
        assert set(f.trials[TEMPLATE_COLUMN][:]) == set(names)
