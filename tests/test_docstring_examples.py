"""Every docstring Example in the package runs and prints what it shows (the few that need a remote file, a
batch-system cluster or a real checkpoint are marked +SKIP)."""
from __future__ import annotations

import doctest
import importlib
import pkgutil

import pytest

import nwb_it

MODULES = sorted(m.name for m in pkgutil.walk_packages(nwb_it.__path__, "nwb_it.") if not m.name.endswith("__main__"))
#: Modules whose examples run two models or write a dataset (seconds each): with the slow tests.
SLOW = {"nwb_it.steps.design", "nwb_it.steps.dataset_run"}


@pytest.mark.parametrize("name", [pytest.param(m, marks=pytest.mark.slow) if m in SLOW else m for m in MODULES])
def test_examples_run(name, tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)                                   # an example that writes, writes here
    module = importlib.import_module(name)
    finder, runner = doctest.DocTestFinder(), doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
    for test in finder.find(module, name):
        runner.run(test)
    result = runner.summarize(verbose=False)
    assert result.failed == 0, f"{name}: {result.failed} of {result.attempted} example lines failed (printed above)"
