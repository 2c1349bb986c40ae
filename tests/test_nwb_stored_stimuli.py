"""Stimulus images stored inside an NWB file (an Images container, as the DiCarlo lab's package writes them) used
as the clips of extract-activations: one image = a one-frame clip for image families."""
from __future__ import annotations

from datetime import datetime, timezone

import numpy as np
import pytest
from pynwb import NWBHDF5IO, NWBFile

from nwb_it.core.errors import NwbItError
from nwb_it.core.params import CompareParams, ExtractionParams, PresentationSpec, ReliabilityParams
from nwb_it.examples.random_model import save_random_model
from nwb_it.models.frames import discover_clips
from nwb_it.models.windows import extract
from nwb_it.steps import run_compare, run_extract, run_reliability

from .synthetic import add_image_units


def _write(path, n_images=12, n_repeats=8, seed=0):
    from pynwb.base import ImageReferences, Images
    from pynwb.image import IndexSeries, RGBImage

    rng = np.random.default_rng(seed)
    pixels = rng.integers(0, 256, (n_images, 16, 16, 3), dtype=np.uint8)
    stim = np.tile(np.arange(n_images), n_repeats)
    rng.shuffle(stim)
    onset = 1.0 + 0.6 * np.arange(stim.size)
    nwb = NWBFile(session_description="stored", identifier="stored", session_start_time=datetime(
        2024, 1, 1, tzinfo=timezone.utc))
    images = [RGBImage(name=f"img{i:02d}", data=pixels[i]) for i in range(n_images)]
    container = Images(name="stimuli", images=images, description="the images",
                       order_of_images=ImageReferences(name="order_of_images", data=images))
    nwb.add_stimulus_template(container)
    nwb.add_stimulus(IndexSeries(name="stimulus_presentation", data=stim.astype(np.uint32), indexed_images=container,
                                 unit="N/A", timestamps=onset))
    add_image_units(nwb, onset, stim, n_images, seed=seed + 1, n_flat=0)
    with NWBHDF5IO(str(path), "w") as io:
        io.write(nwb)
    return pixels


def test_images_stored_in_the_file_are_the_clips_of_an_image_model(tmp_path):
    from PIL import Image

    path = tmp_path / "stored.nwb"
    pixels = _write(path)
    vit = save_random_model(tmp_path / "vit", "vit")
    spec = PresentationSpec(intervals="stimulus_presentation")
    run_reliability(path, ReliabilityParams(n_perm=20, n_null=100), presentations=spec)
    acts = run_extract(None, ExtractionParams(model=str(vit), pad=0, layers="all"), nwb_paths=[path],
                       presentations=spec, activations="vit_activations")
    assert sorted(acts.clip_keys) == [f"img{i:02d}" for i in range(12)] and acts.layers["last"].shape[0] == 12
    folder = tmp_path / "pngs"
    folder.mkdir()
    for i, p in enumerate(pixels):
        Image.fromarray(p).save(folder / f"{i + 1}_img{i:02d}_1.png")
    from_png = extract(discover_clips(folder), ExtractionParams(model=str(vit), pad=0, layers="all"))
    order = np.argsort(acts.clip_keys)
    np.testing.assert_allclose(acts.layers["last"][order], from_png.layers["last"], atol=1e-5)
    results = run_compare(path, CompareParams(units="all", folds=3, layer="last", n_boot=50, n_perm_rsa=20),
                          presentations=spec, activations="vit_activations")
    assert np.isfinite(results["last"][0].r).all()


def test_a_video_family_on_still_images_is_one_line_naming_the_image_families(tmp_path, tiny_videomae):
    path = tmp_path / "stored.nwb"
    _write(path)
    with pytest.raises(NwbItError, match=r"still images.*use an image family \(.*vit"):
        run_extract(None, ExtractionParams(model=str(tiny_videomae), pad=1), nwb_paths=[path],
                    presentations=PresentationSpec(intervals="stimulus_presentation"))
