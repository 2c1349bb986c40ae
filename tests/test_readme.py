"""Every code block of the README and of the user guide (``docs/guide``, in the site's order) runs as pasted, in
order, in one folder; the documentation site builds with warnings as errors, its tutorials run.

``bash`` blocks run with ``bash -euo pipefail``; ``python`` blocks are written to a file and
run as a script (so a Dask example without ``if __name__ == "__main__":`` fails here as it
would for a user). The first block (the two commands for a fresh machine: install, demo,
tests) is what CI itself runs, so it is the one block left out. The ``yaml`` block must be
the metadata file the package ships (the setup block copies that file).
"""
from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

import nwb_it

ROOT = Path(__file__).resolve().parents[1]
README = ROOT / "README.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def guide_pages() -> list[Path]:
    """The user guide's pages in the order of the site's table of contents (the examples build on each other)."""
    index = (ROOT / "docs" / "index.md").read_text()
    return [ROOT / "docs" / f"{name}.md" for name in re.findall(r"^(guide/[\w-]+)$", index, re.M)]


def code_blocks() -> list[tuple[str, str]]:
    texts = [README.read_text()] + [page.read_text() for page in guide_pages()]
    return [(lang, body) for text in texts for lang, body in BLOCK.findall(text) if lang in ("bash", "python", "yaml")]


def test_the_readme_opens_with_the_two_commands():
    lang, first = code_blocks()[0]
    assert lang == "bash" and "nwb-it demo" in first and "python -m pytest tests" in first
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert re.search(r"^python -m pytest (-q )?tests$", ci, re.M), "CI runs the README's test command"


def test_the_metadata_block_is_the_shipped_example():
    yamls = [body for lang, body in code_blocks() if lang == "yaml" and "NWBFile" in body]
    assert yamls and yaml.safe_load(yamls[0]) == yaml.safe_load(nwb_it.example_metadata_path().read_text())


@pytest.mark.slow
def test_every_code_block_runs_as_pasted(tmp_path):
    env = {**os.environ, "MPLBACKEND": "Agg", "PYTHONWARNINGS": "ignore"}
    ran = 0
    for index, (lang, body) in enumerate(code_blocks()[1:], start=1):
        if lang == "yaml":
            continue
        if lang == "bash":
            cmd = ["bash", "-euo", "pipefail", "-c", body]
        else:
            script = tmp_path / f"readme_block_{index}.py"
            script.write_text(body)
            cmd = [sys.executable, script.name]
        run = subprocess.run(cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600)
        assert run.returncode == 0, f"documentation block {index} ({lang}) failed:\n{body}\n---\n{run.stderr[-3000:]}"
        assert "Traceback" not in run.stderr, run.stderr[-3000:]
        ran += 1
    assert ran >= 8, "the README's examples were found"
    assert list((tmp_path / "dandiset").rglob("*.nwb")) and (tmp_path / "summary" / "summary.csv").is_file()


def test_every_guide_page_is_in_the_site():
    pages = {p.name for p in guide_pages()}
    assert pages == {p.name for p in (ROOT / "docs" / "guide").glob("*.md")} and len(pages) >= 10


@pytest.mark.slow
def test_the_site_builds_without_warnings_and_runs_its_tutorials(tmp_path):
    pytest.importorskip("sphinx_gallery")
    env = {**os.environ, "MPLBACKEND": "Agg"}
    run = subprocess.run([sys.executable, "-m", "sphinx", "-W", "--keep-going", "-q", "-b", "html",
                          "-d", str(tmp_path / "doctrees"), str(ROOT / "docs"), str(tmp_path / "html")],
                         capture_output=True, text=True, env=env, timeout=900)
    assert run.returncode == 0, run.stderr[-4000:]
    built = tmp_path / "html"
    assert (built / "api.html").is_file() and "run_reliability" in (built / "api.html").read_text()
    tutorials = list((built / "auto_tutorials").glob("tutorial_*.html"))
    assert len(tutorials) >= 2 and list((built / "_images").glob("sphx_glr_tutorial_*.png")), "tutorials ran"


def test_the_cluster_yaml_of_the_guide_is_valid():
    from nwb_it.core.params import ClusterParams

    (body,) = [body for lang, body in code_blocks() if lang == "yaml" and "cluster:" in body]
    section = yaml.safe_load(body)["cluster"]
    params = ClusterParams(**{**section, "env_setup": tuple(section["env_setup"])})
    assert params.kind == "slurm" and params.gpus == 1


def test_the_dataset_file_of_the_guide_is_the_example_one():
    from nwb_it.examples.dataset import DATASET_YAML

    (body,) = [body for lang, body in code_blocks() if lang == "yaml" and "sessions:" in body and "models:" in body]
    assert body.strip() == DATASET_YAML.format(n_perm=200, folds=4).strip()
