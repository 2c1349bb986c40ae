"""The end-to-end demo: example session -> NWB -> validation (later steps join as they land)."""
from __future__ import annotations

import warnings
from dataclasses import dataclass, field
from importlib import resources
from pathlib import Path

from .errors import NwbItError


@dataclass
class DemoResult:
    mat: Path
    nwb: Path
    files: dict[str, Path] = field(default_factory=dict)
    summary: dict[str, str] = field(default_factory=dict)


def example_metadata_path() -> Path:
    """The example metadata YAML shipped with the package."""
    return Path(str(resources.files("nwb_it") / "data" / "example_metadata.yaml"))


def run_demo(out_dir: str | Path, n_units: int = 32, n_clips: int = 24, n_repeats: int = 6, seed: int = 0,
             overwrite: bool = False) -> DemoResult:
    """Run every pipeline step on an example session, writing everything under ``out_dir``.

    Examples
    --------
    >>> import tempfile
    >>> result = run_demo(tempfile.mkdtemp(), n_units=4, n_clips=5, n_repeats=3)   # doctest: +SKIP
    """
    from .io.atomic import atomic_output
    from .io.convert import convert_session
    from .io.example import write_example_session
    from .io.validate import validate_nwb
    from .process.heatmaps import make_heatmaps
    from .process.responsive import run_reliability

    out_dir = Path(out_dir)
    mat = out_dir / "raw" / "demo_fixshortvid1_coco.mat"
    with atomic_output(mat, overwrite) as tmp:
        truth = write_example_session(tmp, n_units, n_clips, n_repeats, seed)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        nwb = convert_session(mat, out_dir / "nwb", example_metadata_path(), overwrite=overwrite)
    blocking = [str(f) for f in validate_nwb(nwb) if f.blocking]
    if blocking:
        raise NwbItError(f"demo output fails validation: {blocking[0]}", nwb)
    rel = run_reliability(nwb)
    figures = make_heatmaps(nwb, out_dir / "figures" / "heatmaps")
    result = DemoResult(mat=mat, nwb=nwb, files={"session (.mat)": mat, "NWB": nwb,
                                                 "heatmaps": figures[0].parent})
    made = truth.responsive
    found = rel.responsive
    result.summary["reliability"] = (f"{int(found.sum())} responsive units (d' > {rel.params.cutoff:g}); "
                                     f"{int((found & made).sum())} of the {int(made.sum())} made responsive, "
                                     f"{int((found & ~made).sum())} others")
    result.summary["heatmaps"] = f"{len(figures)} figures"
    result.summary["session"] = (f"{n_units} units ({int(truth.responsive.sum())} made responsive), {n_clips} clips, "
                                 f"{int(truth.n_repeats.sum())} presentations")
    result.summary["validation"] = "pynwb + nwbinspector (DANDI config): nothing blocking"
    return result
