"""A file written by the DiCarlo lab's own conversion package (dicarlo-lab-to-nwb, installed with --no-deps): its
trials (one per image presentation, ``stimulus_presented``, ``fixation_correct``, ``stimuli_block_index``) and its
stimuli (an Images container and an IndexSeries ``stimulus_presentation``) analysed with a known truth."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
from pynwb import NWBHDF5IO, NWBFile

from nwb_it.core.params import CompareParams, ExtractionParams, PresentationSpec
from nwb_it.examples.random_model import save_random_model
from nwb_it.steps import run_compare, run_extract

from .synthetic import add_image_units, reliability_by_fixation

conversion = pytest.importorskip("dicarlo_lab_to_nwb.conversion.stimuli_interface")
behavior = pytest.importorskip("dicarlo_lab_to_nwb.conversion.behaviorinterface")

N_IMAGES, N_REPEATS = 12, 10


def _write(tmp_path):
    """The MWorks CSV and image folder the package reads, its interfaces' file, and units that respond to the
    image 50-250 ms after onset only where fixation held (units 0-5), or not at all (6-9)."""
    from PIL import Image

    rng = np.random.default_rng(0)
    folder = tmp_path / "images"
    folder.mkdir()
    for i in range(N_IMAGES):
        Image.fromarray(rng.integers(0, 256, (16, 16, 3), dtype=np.uint8)).save(folder / f"im{i}.png")
    stim = np.tile(np.arange(N_IMAGES), N_REPEATS)
    rng.shuffle(stim)
    onset = 1.0 + 0.6 * np.arange(stim.size)
    fixation = rng.random(stim.size) >= 0.3
    csv = tmp_path / "mworks.csv"
    csv.write_text("samp_on_us,stimulus_presented,fixation_correct,stim_on_time_ms,stim_off_time_ms,"
                   "stimulus_order_in_trial\n" + "".join(
                       f"{int(t * 1e6)},{s},{bool(f)},100,100,{k % 8 + 1}\n"
                       for k, (t, s, f) in enumerate(zip(onset, stim, fixation))))
    nwb = NWBFile(session_description="dicarlo layout", identifier="dicarlo", session_start_time=datetime(
        2024, 1, 1, tzinfo=timezone.utc))
    behavior.BehavioralTrialsInterface(file_path=csv).add_to_nwbfile(nwb, metadata={})
    conversion.StimuliImagesInterface(file_path=csv, folder_path=folder, image_set_name="test").add_to_nwbfile(
        nwb, metadata={})
    add_image_units(nwb, onset, stim, N_IMAGES, seed=1, shown=fixation)
    path = tmp_path / "dicarlo.nwb"
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return path, fixation


def test_a_file_of_the_dicarlo_package_is_analysed_with_where_and_its_stored_images(tmp_path):
    path, fixation = _write(tmp_path)
    held, broken = reliability_by_fixation(path)
    assert held.responsive[:6].sum() >= 5 and not held.responsive[6:].any(), held.dprime
    assert not broken.responsive.any(), broken.dprime
    from nwb_it.core.params import HeatmapParams
    from nwb_it.steps import run_heatmaps

    figures = run_heatmaps(path, HeatmapParams(units="all"), out_dir=tmp_path / "heat", presentations=PresentationSpec(
        stimulus_column="stimulus_presented", where="fixation_correct"))
    assert len(figures) >= 10
    vit = save_random_model(tmp_path / "vit", "vit")
    images = PresentationSpec(intervals="stimulus_presentation")
    acts = run_extract(None, ExtractionParams(model=str(vit), pad=0), nwb_paths=[path], presentations=images,
                       activations="vit_activations")
    assert sorted(acts.clip_keys) == sorted(f"im{i}" for i in range(N_IMAGES))
    enc, _ = run_compare(path, CompareParams(units="all", folds=3, n_boot=50, n_perm_rsa=20), presentations=images,
                         activations="vit_activations")["last"]
    assert np.isfinite(enc.r).all()
    with NWBHDF5IO(str(path), "r") as io:
        f = io.read()
        assert [str(row[0]) for row in f.was_generated_by[:]] == ["nwb_it"]
