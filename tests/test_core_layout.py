"""The layout's rules, checked: pure process/, no backend chosen by the library, one source of defaults, JSON
provenance, module sizes, ruff clean."""
from __future__ import annotations

import ast
import dataclasses
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

import nwb_it
from nwb_it.cli import build_parser
from nwb_it.cli.options import as_flags
from nwb_it.core.errors import InvalidParameter, NwbItError
from nwb_it.core.params import (
    CompareParams,
    ExtractionParams,
    HeatmapParams,
    ReliabilityParams,
    from_dict,
    to_dict,
)
from nwb_it.core.provenance import package_version, read_provenance, with_provenance

PACKAGE = Path(__file__).resolve().parents[1] / "nwb_it"
ROOT = PACKAGE.parent


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    names = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            names |= {a.name.split(".")[0] for a in node.names}
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            names.add(node.module.split(".")[0])
    return names


def test_process_imports_nothing_of_nwb_hdf5_or_plotting():
    for module in (PACKAGE / "process").glob("*.py"):
        bad = _imports(module) & {"pynwb", "hdmf", "h5py", "matplotlib", "nwbinspector"}
        assert not bad, f"{module.name} imports {bad}"
        relative = [n.module for n in ast.walk(ast.parse(module.read_text()))
                    if isinstance(n, ast.ImportFrom) and n.level == 2]
        assert all(m.split(".")[0] in {"core"} for m in relative), f"{module.name} reaches outside core: {relative}"


def _nwb_it_imports(path: Path) -> list[tuple[int, str]]:
    """(line, top-level nwb_it package) of every import of nwb_it in a module, those inside functions included."""
    rel = path.relative_to(PACKAGE).parts
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if isinstance(node, ast.Import):
            out += [(node.lineno, a.name.split(".")[1]) for a in node.names if a.name.startswith("nwb_it.")]
        elif isinstance(node, ast.ImportFrom):
            if node.level == 0:
                if node.module and node.module.startswith("nwb_it."):
                    out.append((node.lineno, node.module.split(".")[1]))
                continue
            here = list(rel[:-1])[: len(rel) - node.level]
            parts = here + (node.module.split(".") if node.module else [])
            out += [(node.lineno, parts[0])] if parts else [(node.lineno, a.name) for a in node.names]
    return [(line, name.removesuffix(".py")) for line, name in out]


def test_every_layer_imports_only_its_own_package_and_the_layers_below():
    import nwb_it

    level = {pkg: i for i, names in enumerate(nwb_it.LAYERS) for pkg in names}
    packages = {p.name.removesuffix(".py") for p in PACKAGE.iterdir()
                if (p.is_dir() and (p / "__init__.py").exists()) or (p.suffix == ".py" and p.stem not in ("__init__",
                                                                                                            "__main__"))}
    assert packages == set(level), f"every package has a layer: {packages ^ set(level)}"
    bad = []
    for module in PACKAGE.rglob("*.py"):
        own = module.relative_to(PACKAGE).parts[0].removesuffix(".py")
        if own in ("__init__", "__main__"):
            continue                                 # the top: re-exports the public API
        for line, target in _nwb_it_imports(module):
            if target in level and target != own and level[target] >= level[own]:
                bad.append(f"{module.relative_to(ROOT)}:{line} ({own}) imports {target}")
    assert not bad, "\n".join(bad)


def test_the_layer_order_is_stated_once_in_words_that_match():
    import nwb_it

    words = " -> ".join(" | ".join(names) for names in nwb_it.LAYERS)
    assert words in nwb_it.__doc__, "the package docstring states LAYERS"
    assert words in (ROOT / "docs" / "guide" / "layout.md").read_text(), "the Layout page states LAYERS"


def test_the_layer_test_catches_an_upward_import(tmp_path, monkeypatch):
    fake = PACKAGE / "core" / "_layer_probe.py"
    fake.write_text("def f():\n    from ..steps import run_batch\n    return run_batch\n")
    try:
        with pytest.raises(AssertionError, match="_layer_probe.py:2 \\(core\\) imports steps"):
            test_every_layer_imports_only_its_own_package_and_the_layers_below()
    finally:
        fake.unlink()


def test_no_backend_chosen_or_pyplot_used_by_the_library():
    for module in PACKAGE.rglob("*.py"):
        text = module.read_text()
        assert "matplotlib.use(" not in text and "matplotlib.pyplot" not in text and "import pyplot" not in text, module
    code = ("import matplotlib; before = matplotlib.get_backend(); "
            "import nwb_it.viz.heatmaps, nwb_it.viz.compare, nwb_it.viz.activations, nwb_it.steps; "
            "assert matplotlib.get_backend() == before, matplotlib.get_backend()")
    subprocess.run([sys.executable, "-c", code], check=True)


def test_modules_under_400_lines():
    big = {p.name: n for p in PACKAGE.rglob("*.py") if (n := len(p.read_text().splitlines())) > 400}
    assert not big, big


@pytest.mark.parametrize("verb, cls, fields", [
    ("reliability", ReliabilityParams, {"n_perm": "n_perm", "seed": "seed", "cutoff": "cutoff", "bin": "bin_size"}),
    ("heatmaps", HeatmapParams, {"bin": "bin_size", "normalize": "normalize", "units": "units",
                                 "clip_duration": "clip_duration"}),
    ("compare", CompareParams, {"bin": "bin_size", "folds": "folds", "seed": "seed", "layer": "layer",
                                "units": "units"}),
    ("extract-videomae", ExtractionParams, {"model": "model", "layers": "layers", "pool": "pool", "pad": "pad",
                                              "fps": "fps", "dtype": "dtype"}),
])
def test_cli_defaults_are_the_dataclass_defaults(verb, cls, fields):
    extra = {"heatmaps": ["-o", "x"], "extract-videomae": []}.get(verb, [])
    args = build_parser().parse_args([verb, "f", *extra])
    defaults = cls()
    for option, field in fields.items():
        assert getattr(args, option) == getattr(defaults, field), (verb, option)
    if hasattr(defaults, "window"):
        assert tuple(args.window) == defaults.window
    text = build_parser()._subparsers._group_actions[0].choices[verb].format_help()
    assert "(default:" in text, "option help shows the default"


def test_params_round_trip_and_option_errors():
    for params in (ReliabilityParams(n_perm=7, window=(-0.1, 0.3)), CompareParams(lags=(0.0, 0.1)),
                   ExtractionParams(pad=3), HeatmapParams(units="all")):
        assert from_dict(type(params), to_dict(params)) == params
        assert dataclasses.is_dataclass(params)
        with pytest.raises(dataclasses.FrozenInstanceError):
            params.seed = 1  # type: ignore[misc]
    with pytest.raises(InvalidParameter, match="`n_perm=1`: must be at least 2") as caught:
        ReliabilityParams(n_perm=1)
    assert caught.value.field == "n_perm" and isinstance(caught.value, ValueError)
    assert as_flags(str(caught.value)) == "--n-perm 1: must be at least 2", "the CLI speaks in flags"
    with pytest.raises(NwbItError, match="not a whole number of 0.04 s bins"):
        ReliabilityParams(bin_size=0.04)


def test_provenance_is_json_after_the_prose():
    text = with_provenance("Some table.\n", "reliability", {"window": [-0.05, 0.3]}, model={"family": "videomae"})
    record = read_provenance(text)
    assert text.startswith("Some table.") and record["parameters"] == {"window": [-0.05, 0.3]}
    assert record["version"] == package_version() and record["model"]["family"] == "videomae"
    assert read_provenance("written by something else") == {}


def test_ruff_clean():
    ruff = shutil.which("ruff")
    if ruff is None:
        pytest.fail("ruff not installed (pip install -e .[test])")
    run = subprocess.run([ruff, "check", "nwb_it", "tests", "scripts"], cwd=ROOT, capture_output=True, text=True)
    assert run.returncode == 0, run.stdout


@pytest.mark.parametrize("package", ["nwb_it", "nwb_it.process", "nwb_it.models", "nwb_it.steps", "nwb_it.nwb",
                                     "nwb_it.io", "nwb_it.examples", "nwb_it.viz", "nwb_it.formats", "nwb_it.core"])
def test_the_public_api_is_declared_and_documented(package):
    import importlib
    import inspect

    module = importlib.import_module(package)
    assert module.__all__, f"{package} declares its public names"
    undocumented = [name for name in module.__all__ if (inspect.isfunction(obj := getattr(module, name))
                    or inspect.isclass(obj)) and not (obj.__doc__ or "").strip()]
    assert not undocumented, f"{package}: {undocumented}"


def test_every_parameter_result_and_runner_is_importable_from_nwb_it():
    """The flat API (like pynapple's): every public class of the core's parameter and result modules, every
    runner and every one-file job, from ``nwb_it`` itself."""
    import importlib
    import inspect

    modules = ["params", "benchmark_params", "results", "comparison", "benchmark", "recording", "output", "cluster",
               "session"]
    classes = {n for m in modules for n, o in vars(importlib.import_module(f"nwb_it.core.{m}")).items()
               if inspect.isclass(o) and o.__module__ == f"nwb_it.core.{m}" and not n.startswith("_")}
    steps = importlib.import_module("nwb_it.steps")
    verbs = {n for n in steps.__all__ if n.startswith("run_") or n.endswith("_job")}
    missing = sorted((classes | verbs) - set(nwb_it.__all__))
    assert not missing, missing
    assert all(getattr(nwb_it, n) is not None for n in sorted(classes | verbs))


#: Modules slow to import or needed only by one path: the only ones a library function may import in its body.
HEAVY = {"torch", "transformers", "PIL", "scipy", "nwbinspector", "distributed", "huggingface_hub",
         "ndx_binned_spikes", "himalaya", "rsatoolbox", "requests", "dandi", "av", "dask_jobqueue",
         "pynwb", "h5py", "sklearn"}


def _imports_inside_functions(path: Path) -> list[tuple[int, str]]:
    tree = ast.parse(path.read_text())
    found = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
            for sub in ast.walk(node):
                if isinstance(sub, ast.Import):
                    found += [(sub.lineno, a.name) for a in sub.names]
                elif isinstance(sub, ast.ImportFrom):
                    found.append((sub.lineno, "." * sub.level + (sub.module or "")))
    return found


def test_imports_inside_functions_only_for_heavy_dependencies():
    """Outside the CLI (which defers its runners so `--help` is fast), a function imports in its body only a
    heavy or optional dependency; everything else is imported at the top of the module."""
    package = Path(nwb_it.__file__).parent
    wrong = [f"{p.relative_to(package)}:{line} {name}" for p in package.rglob("*.py")
             if "cli" not in p.relative_to(package).parts
             for line, name in _imports_inside_functions(p) if name.split(".")[0] not in HEAVY]
    assert not wrong, wrong
