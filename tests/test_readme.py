"""Every code block of the README runs as pasted, in order, in one folder.

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

README = Path(__file__).resolve().parents[1] / "README.md"
BLOCK = re.compile(r"^```(\w+)\n(.*?)^```", re.S | re.M)


def code_blocks() -> list[tuple[str, str]]:
    return [(lang, body) for lang, body in BLOCK.findall(README.read_text()) if lang in ("bash", "python", "yaml")]


def test_the_readme_opens_with_the_two_commands():
    lang, first = code_blocks()[0]
    assert lang == "bash" and "nwb-it demo" in first and "python -m pytest tests" in first
    ci = (Path(__file__).resolve().parents[1] / ".ci" / "run").read_text()
    assert re.search(r"^python -m pytest (-q )?tests$", ci, re.M), "CI runs the README's test command"


def test_the_metadata_block_is_the_shipped_example():
    yamls = [body for lang, body in code_blocks() if lang == "yaml"]
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
        assert run.returncode == 0, f"README block {index} ({lang}) failed:\n{body}\n---\n{run.stderr[-3000:]}"
        assert "Traceback" not in run.stderr, run.stderr[-3000:]
        ran += 1
    assert ran >= 8, "the README's examples were found"
    assert list((tmp_path / "dandiset").rglob("*.nwb")) and (tmp_path / "summary" / "summary.csv").is_file()
