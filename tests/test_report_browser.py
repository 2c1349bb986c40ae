"""The HTML report in a real browser: headless Chromium (Debian's package) opens it from disk, no server.

Screenshots (1280x800) are written to ``$NWB_IT_SCREENSHOTS`` (default: the test's temporary folder) for a
person to look at.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

import numpy as np
import pytest
from pynwb import NWBHDF5IO

SES = "sub-coco_ses-20240301-fixshortvid1_ecephys"
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def browser():
    from playwright.sync_api import sync_playwright

    assert CHROMIUM, "Debian's chromium is needed for the report tests: apt-get install -y chromium (.ci/run does it)"
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=[
            "--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
            "--disable-sync", "--no-first-run"])
        yield b
        b.close()


@pytest.fixture()
def shots(tmp_path) -> Path:
    folder = Path(os.environ.get("NWB_IT_SCREENSHOTS", tmp_path))
    folder.mkdir(parents=True, exist_ok=True)
    return folder


def _open(browser, path: Path):
    page = browser.new_page(viewport={"width": 1280, "height": 800})
    errors: list[str] = []
    requests: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    page.on("request", lambda r: requests.append(r.url))
    page.goto(path.as_uri())
    page.wait_for_load_state("load")
    return page, errors, requests


def _images_decode(page) -> bool:
    return page.evaluate("[...document.images].filter(i => i.getAttribute('src'))"
                         ".every(i => i.complete && i.naturalWidth > 0)")


def test_session_report_works_in_chromium(example_dataset, browser, shots):
    report = example_dataset / "out" / SES / "report.html"
    page, errors, requests = _open(browser, report)
    assert page.evaluate("document.images.length") > 5 and _images_decode(page)
    assert all(u.startswith(("file:", "data:")) for u in requests), requests      # nothing from the network
    page.screenshot(path=str(shots / "report_top.png"))

    # the unit table sorts (d′ descending, then ascending) and filters
    def column(key):
        i = page.evaluate(f"[...document.querySelectorAll('#unit-head th')].findIndex(t => t.dataset.key === '{key}')")
        cells = page.eval_on_selector_all(f"#unit-body tr td:nth-child({i + 1})", "tds => tds.map(t => t.textContent)")
        return [float(c) for c in cells if c]
    n_units = page.evaluate("window.nwbItReport.data.units.length")
    page.click("#unit-head th[data-key='dprime']")
    d = column("dprime")
    assert len(d) > 3 and d == sorted(d, reverse=True)
    page.click("#unit-head th[data-key='dprime']")
    assert column("dprime") == sorted(d)
    page.check("#only-responsive")
    n_resp = page.evaluate("window.nwbItReport.data.units.filter(u => u.responsive).length")
    assert 0 < n_resp < n_units and page.eval_on_selector_all("#unit-body tr", "r => r.length") == n_resp
    assert page.text_content("#unit-count") == f"{n_resp} of {n_units} units"
    page.uncheck("#only-responsive")
    page.fill("#min-dprime", "1000")
    assert page.eval_on_selector_all("#unit-body tr", "r => r.length") == 0
    page.fill("#min-dprime", "")

    # the clip view: frames step, the raster and PSTH follow the cursor; another clip redraws both
    page.locator("#clip-view").scroll_into_view_if_needed()
    compared = page.evaluate("Object.keys(window.nwbItReport.data.clip_view.predictions[0].units)")
    page.select_option("#unit-select", compared[0])
    assert page.get_attribute("#frame", "src").startswith("data:image/jpeg") and _images_decode(page)
    first = page.get_attribute("#frame", "src")
    cursor = page.get_attribute("#raster", "data-cursor-ms")
    page.click("#next-frame")
    assert page.get_attribute("#frame", "src") != first
    assert page.get_attribute("#raster", "data-cursor-ms") != cursor
    assert page.get_attribute("#psth", "data-cursor-ms") == page.get_attribute("#raster", "data-cursor-ms")
    assert "frame 2 /" in page.text_content("#frame-label")
    prediction = page.get_attribute("#psth", "data-prediction")
    assert prediction and prediction != "[]"                     # the model's held-out prediction is drawn
    spikes = page.get_attribute("#raster", "data-spikes")
    page.screenshot(path=str(shots / "report_clip_view.png"))
    page.select_option("#clip-select", "3")
    assert page.get_attribute("#raster", "data-clip") == "3"
    # the page's PSTH is the file's spikes, binned on the prediction's bins, averaged over the clip's repeats
    edges = np.array(page.evaluate("window.nwbItReport.data.clip_view.predictions[0].edges"))
    clip = page.evaluate("window.nwbItReport.data.clip_view.clips[3].name")
    expected = _psth(example_dataset / "out" / "nwb" / "sub-coco" / f"{SES}.nwb", int(compared[0]), clip, edges)
    measured = json.loads(page.get_attribute("#psth", "data-measured"))
    assert np.allclose(measured, expected, atol=1e-3) and np.max(expected) > 0
    # the drawn prediction is the file's held-out prediction of this unit, clip and best layer
    layer = page.evaluate("window.nwbItReport.data.clip_view.predictions[0].model").split()[-1]
    stored = _prediction(example_dataset / "out" / "nwb" / "sub-coco" / f"{SES}.nwb", int(compared[0]), layer, clip)
    assert np.allclose(json.loads(page.get_attribute("#psth", "data-prediction")), stored, atol=1e-3)
    assert page.get_attribute("#psth", "data-prediction") != prediction
    assert (page.get_attribute("#raster", "data-spikes"), page.get_attribute("#psth", "data-measured")) != \
        (spikes, None)
    page.click("#play")
    time.sleep(0.5)
    page.click("#play")
    assert errors == []
    page.close()


def _psth(nwb: Path, unit_id: int, clip: str, edges: np.ndarray) -> np.ndarray:
    with NWBHDF5IO(str(nwb), "r") as io:
        f = io.read()
        spikes = f.units["spike_times"][list(f.units.id[:]).index(unit_id)]
        trials = f.trials.to_dataframe()
    onsets = trials.loc[trials["stimulus_name"] == clip, "stimulus_onset"].to_numpy()
    counts = np.array([np.histogram(spikes - t, edges)[0] for t in onsets])
    return (counts / np.diff(edges)).mean(axis=0)


def _prediction(nwb: Path, unit_id: int, layer: str, clip: str) -> np.ndarray:
    from nwb_it.core.provenance import read_provenance

    with NWBHDF5IO(str(nwb), "r") as io:
        table = io.read().processing["ecephys"]["encoding_tiny_activations"]
        clips = read_provenance(table.description)["clips"]
        df = table.to_dataframe(index=True)
        units = np.asarray(table["unit"].data[:])
        row = np.flatnonzero((units == unit_id) & (np.asarray(table["layer"].data[:]).astype(str) == layer))[0]
        return np.asarray(table["predicted"].data[row])[clips.index(clip)] if len(df) else None


def test_index_links_every_session(example_dataset, browser, shots):
    page, errors, _ = _open(browser, example_dataset / "out" / "index.html")
    links = page.eval_on_selector_all("#sessions a", "a => a.map(x => x.getAttribute('href'))")
    assert f"{SES}/report.html" in links and all((example_dataset / "out" / h).is_file() for h in links)
    assert _images_decode(page) and page.evaluate("document.images.length") >= 2      # the summary's figures
    page.screenshot(path=str(shots / "index.png"), full_page=True)
    page.click(f"#sessions a[href='{SES}/report.html']")
    page.wait_for_load_state("load")
    assert page.url.endswith(f"{SES}/report.html") and errors == []
    page.close()
