"""The Layout page's "Where new work goes", done by a newcomer: a format, a model family and an analysis.

Each is written here, in this test file only, the way the recipe says; nothing else of
nwb_it is edited (a model family's one registry line is the one change outside its file:
here it is added to a copy of the registry, for this test only). Each then runs through
the runners unchanged.
"""
from __future__ import annotations

import json
import shutil
from dataclasses import dataclass
from functools import partial
from pathlib import Path
from typing import Any

import numpy as np
import pytest
from hdmf.common import DynamicTable
from matplotlib.figure import Figure

from nwb_it.core.errors import NwbItError
from nwb_it.core.output import OutputPolicy
from nwb_it.core.params import ExtractionParams, PresentationSpec, ReliabilityParams
from nwb_it.core.recording import AlignedCounts
from nwb_it.core.session import Session
from nwb_it.formats.base import SourceInterface
from nwb_it.models import registry
from nwb_it.models.base import FeatureExtractor, pool_tokens
from nwb_it.nwb.io import reading, replace_in_module
from nwb_it.nwb.metadata import build_metadata
from nwb_it.nwb.results import MODULE, MODULE_DESCRIPTION
from nwb_it.nwb.session_file import new_nwbfile
from nwb_it.steps import read_aligned, run_batch, run_convert, run_extract, run_reliability
from nwb_it.steps.convert import convert_source
from nwb_it.steps.jobs import session_folder
from nwb_it.steps.targets import results_target
from nwb_it.viz.save import save_figure_folder

from .helpers import META, copy_to


# -- a new input format: formats/<name>/ with a SourceInterface subclass ------------------------------------------
class JsonSpikesSource(SourceInterface):
    """Spikes as JSON: {"units": [...], "clips": [...], "n_repeats": [...], "counts": [[...]], "times": [...]}."""

    def __init__(self, path: Path):
        self.path = path

    def read(self) -> Session:
        d = json.loads(self.path.read_text())
        return Session(unit_names=d["units"], clip_names=d["clips"], n_repeats=np.array(d["n_repeats"]),
                       spike_counts=np.array(d["counts"]), spike_times=np.array(d["times"], dtype=float),
                       source_path=self.path, format="JSON", struct="json", clip_field="clips")

    def get_metadata(self) -> dict[str, Any]:
        return {"NWBFile": {"session_id": self.path.stem, "session_description": "spikes from JSON"},
                "Subject": {"subject_id": "json", "species": "Macaca mulatta", "sex": "U"},
                "Ecephys": {"Device": {"name": "probe", "description": "a probe"},
                            "ElectrodeGroup": {"name": "IT", "description": "IT", "location": "IT cortex"}},
                "Units": {"resolution": 1e-4}}

    def add_to_nwbfile(self, nwbfile, metadata: dict[str, Any]) -> None:
        from nwb_it.nwb.session_file import add_session

        add_session(nwbfile, self.read(), metadata)


def test_a_new_format_converts_and_analyses(tmp_path):
    rng = np.random.default_rng(0)
    n_units, n_repeats = 3, np.array([4, 4, 4, 4, 4])
    counts = rng.poisson(3, (n_units, n_repeats.sum()))
    times = rng.uniform(-0.05, 0.3, counts.sum())
    path = tmp_path / "s1.json"
    path.write_text(json.dumps({"units": ["a", "b", "c"], "clips": [f"clip{i}" for i in range(5)],
                                "n_repeats": n_repeats.tolist(), "counts": counts.tolist(), "times": times.tolist()}))
    nwb = convert_source(JsonSpikesSource(path), META, out_dir=tmp_path)
    res = run_reliability(nwb, ReliabilityParams(n_perm=10))
    no_probe = {k: v for k, v in JsonSpikesSource(path).get_metadata().items() if k != "Ecephys"}
    with pytest.raises(NwbItError, match="Ecephys.Device"):                  # forgotten: one clear line
        JsonSpikesSource(path).add_to_nwbfile(new_nwbfile(build_metadata(no_probe, META)), no_probe)
    assert res.unit_names == ["a", "b", "c"]
    with reading(nwb) as f:                               # every spike of the source is in the file
        assert sum(len(f.units["spike_times"][i]) for i in range(n_units)) == counts.sum()


# -- a new model family: models/<family>.py with a FeatureExtractor subclass + one registry line -------------------
class VideoMAEFirstToken(FeatureExtractor):
    """VideoMAE read out from its first patch token only (a toy family)."""

    family = "videomae_first_token"
    tokens = "the first patch token"
    model_class, processor_class = "VideoMAEModel", "VideoMAEImageProcessor"

    def now(self, hidden, pool: str):
        return pool_tokens(hidden[:, :1], pool)


def test_a_new_model_family_extracts(tmp_path, tiny_videomae, small_nwb, monkeypatch):
    from nwb_it.examples.frames import write_example_frames

    monkeypatch.setattr(registry, "FAMILIES", {**registry.FAMILIES, VideoMAEFirstToken.family: VideoMAEFirstToken})
    ext = registry.load_extractor(tiny_videomae, family=VideoMAEFirstToken.family)
    assert isinstance(ext, VideoMAEFirstToken)
    with reading(small_nwb) as f:
        clips = sorted(set(f.trials["stimulus_name"][:]))
    frames = write_example_frames(tmp_path / "frames", clips, n_frames=4, size=16)
    (tmp_path / "nwb").mkdir()
    target = copy_to(small_nwb, tmp_path / "nwb")
    acts = run_extract(frames, ExtractionParams(model=str(tiny_videomae), pad=1), nwb_paths=[target], extractor=ext,
                       activations="first_token_activations")
    assert acts.provenance["family"] == VideoMAEFirstToken.family
    assert acts.layers["last"].shape[1] == ext.net.config.hidden_size


# -- a new analysis: a pure function, its table, its figure, its runner and its job ----------------------------------
@dataclass(frozen=True)
class PeakBinParams:
    """core/params.py: the analysis' parameters, checked where they are made."""

    window: tuple[float, float] = (0.0, 0.3)
    bin_size: float = 0.05

    def __post_init__(self) -> None:
        if not self.bin_size > 0:
            raise NwbItError(f"`bin_size={self.bin_size}`: a positive number of seconds")


def peak_bin(aligned: AlignedCounts) -> np.ndarray:
    """process/<name>.py: each unit's bin of largest mean count (pure: core objects in, numbers out)."""
    return np.asarray(aligned.counts).mean(axis=(1, 2)).argmax(axis=1)


def compute_peak_bin(nwb_path: Path, params: PeakBinParams,
                     presentations: PresentationSpec = PresentationSpec()) -> tuple[list[str], np.ndarray]:
    """steps/<name>.py, read + compute: nothing written."""
    with reading(nwb_path) as f:
        aligned = read_aligned(f, window=params.window, bin_size=params.bin_size, spec=presentations)
    return aligned.unit_names, peak_bin(aligned)


def write_peak_bin(nwb_path: Path, names: list[str], peaks: np.ndarray, output: OutputPolicy = OutputPolicy()) -> None:
    def table(nwbfile):
        t = DynamicTable(name="peak_bin", description="bin of largest mean count per unit")
        t.add_column("unit_name", "unit")
        t.add_column("peak_bin", "bin index")
        for name, peak in zip(names, peaks):
            t.add_row(unit_name=name, peak_bin=int(peak))
        return [t]
    replace_in_module(nwb_path, MODULE, MODULE_DESCRIPTION, table, output.force)


def draw_peak_bin(peaks: np.ndarray, out_dir: Path, output: OutputPolicy = OutputPolicy()) -> list[Path]:
    def figure() -> Figure:
        fig = Figure()
        fig.add_subplot().hist(peaks)
        return fig
    return save_figure_folder(out_dir, "peak-bin", {Path(out_dir) / "peak_bin.png": figure}, output=output)


def run_peak_bin(nwb_path: Path, params: PeakBinParams = PeakBinParams(), *, out_dir: Path | None = None,
                 presentations: PresentationSpec = PresentationSpec(), output: OutputPolicy = OutputPolicy()
                 ) -> np.ndarray:
    """The one runner shape: the file itself or its derivative (``output``), compute, write, draw."""
    target = results_target(nwb_path, output, presentations=presentations)
    names, peaks = compute_peak_bin(target, params, presentations)
    write_peak_bin(target, names, peaks, output)
    if out_dir is not None:
        draw_peak_bin(peaks, out_dir, output)
    return peaks


def peak_bin_job(nwb_path: Path, params: PeakBinParams = PeakBinParams(), out_dir: Path | None = None,
                 output: OutputPolicy = OutputPolicy()) -> dict:
    """The verb's one-file job: a row of plain values (the CLI formats it; run_batch runs it on many files)."""
    peaks = run_peak_bin(nwb_path, params, out_dir=session_folder(out_dir, nwb_path, "peak_bin"), output=output)
    return {"nwb": str(nwb_path), "units": len(peaks), "median_peak_bin": float(np.median(peaks))}


def test_a_new_analysis_runs_writes_and_draws(tmp_path, small_mat):
    nwb = run_convert(small_mat, META, out_dir=tmp_path)
    peaks = run_peak_bin(nwb, out_dir=tmp_path / "figs")
    with reading(nwb) as f:
        stored = f.processing[MODULE]["peak_bin"].to_dataframe()
    assert stored["peak_bin"].tolist() == peaks.tolist()
    assert (tmp_path / "figs" / "peak_bin.png").stat().st_size > 0
    with pytest.raises(NwbItError, match="overwrite=True"):          # the output policy, as for every runner
        run_peak_bin(nwb, out_dir=tmp_path / "figs")
    assert run_peak_bin(nwb, out_dir=tmp_path / "figs", output=OutputPolicy(overwrite=True)).tolist() == peaks.tolist()
    with pytest.raises(NwbItError, match="bin_size"):
        PeakBinParams(bin_size=0)


def test_a_new_analysis_job_runs_on_many_files_and_into_derivatives(tmp_path, small_nwb):
    files = [Path(shutil.copy(small_nwb, tmp_path / f"ses_{day}.nwb")) for day in ("a", "b")]
    for f in files:
        f.chmod(0o444)                                                 # read-only: results go to derivatives
    before = [f.read_bytes() for f in files]
    job = partial(peak_bin_job, out_dir=tmp_path / "figs", output=OutputPolicy(derivative_dir=tmp_path / "d"))
    outcomes = run_batch(job, files, workers=2)
    assert [o.status for o in outcomes] == ["ok", "ok"], [o.message for o in outcomes]
    assert all(o.value["units"] > 0 for o in outcomes)
    assert len(list((tmp_path / "d").rglob("*.nwb"))) == 1               # one subject/session: one derivative
    assert sorted(p.parent.parent.name for p in (tmp_path / "figs").rglob("peak_bin.png")) == ["ses_a", "ses_b"]
    assert [f.read_bytes() for f in files] == before                     # the inputs are as they were


@pytest.mark.parametrize("recipe", ["A new analysis", "A new input format", "A new model family"])
def test_the_readme_names_these_recipes(recipe):
    readme = (Path(__file__).parents[1] / "docs" / "guide" / "layout.md").read_text()
    assert f"*{recipe}*" in readme
