"""Bad input: one line naming the file and the problem, exit code 2, no traceback, no file left."""
from __future__ import annotations

import shutil
import subprocess
import sys

import numpy as np
import pytest

from nwb_it.cli import main
from nwb_it.examples import cell_array, make_example_struct, write_mat73


def _struct(**changes):
    struct, _ = make_example_struct(n_units=3, n_clips=4, n_repeats=3, seed=1)
    struct.update(changes)
    return struct


def _nan_spikes():
    struct = _struct()
    struct["spikes"][1, 0][0, 0][0, 0] = np.array([[0.1], [np.nan]])
    return struct


def _make(kind, tmp_path):
    path = tmp_path / "rec_fixshortvid1_coco.mat"
    if kind == "not a mat file":
        path.write_text("hello, I am a text file\n" * 20)
    elif kind == "truncated hdf5":
        write_mat73(path, {"L2_str": _struct()})
        data = path.read_bytes()
        path.write_bytes(data[: len(data) // 2])
    elif kind == "no struct":
        write_mat73(path, {"other": _struct()})
    elif kind == "spikes not cells":
        write_mat73(path, {"L2_str": _struct(spikes=np.zeros((3, 4)))})
    elif kind == "nan spikes":
        write_mat73(path, {"L2_str": _nan_spikes()})
    elif kind == "itemnames count":
        write_mat73(path, {"L2_str": _struct(itemnames=cell_array(["a", "b"]))})
    elif kind == "neuron_id count":
        write_mat73(path, {"L2_str": _struct(neuron_id=cell_array(["a", "b", "c", "d"]))})
    return path


@pytest.mark.parametrize("kind, message", [
    ("not a mat file", "not a MATLAB .mat file"),
    ("truncated hdf5", "truncated or corrupt"),
    ("no struct", "no 'L2_str' struct"),
    ("spikes not cells", "not a nested cell array"),
    ("nan spikes", "spikes{2}{1}{1} holds a nan s spike time"),
    ("itemnames count", "'itemnames' names 2 clips but 'spikes' has 4"),
    ("neuron_id count", "'neuron_id' names 4 units but 'spikes' has 3"),
])
def test_bad_session(kind, message, tmp_path, capsys):
    path = _make(kind, tmp_path)
    out = tmp_path / "out"
    assert main(["convert", str(path), "-o", str(out)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and "Traceback" not in err[0]
    assert str(path) in err[0] and message in err[0], err[0]
    assert not out.exists() or not any(out.rglob("*.nwb*")), "no file left"


def test_invalid_metadata_value(small_mat, tmp_path, capsys):
    meta = tmp_path / "meta.yaml"
    meta.write_text("Subject:\n  sex: male\n")
    assert main(["convert", str(small_mat), "-o", str(tmp_path / "out"), "--metadata", str(meta)]) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert err[-1].startswith(f"nwb-it: error: {meta}: Subject.sex 'male'")
    assert not (tmp_path / "out").exists()


def test_existing_output_untouched(small_mat, tmp_path, capsys):
    meta = tmp_path / "meta.yaml"
    meta.write_text("NWBFile:\n  session_start_time: 2024-01-01T00:00:00+00:00\nSubject:\n  age: P7Y\n")
    args = ["convert", str(small_mat), "-o", str(tmp_path / "out"), "--metadata", str(meta)]
    assert main(args) == 0
    out = next((tmp_path / "out").rglob("*.nwb"))
    before = (out.read_bytes(), out.stat().st_mtime_ns)
    capsys.readouterr()
    assert main(args) == 2
    err = capsys.readouterr().err.strip().splitlines()
    assert len(err) == 1 and str(out) in err[0] and "--overwrite" in err[0]
    assert (out.read_bytes(), out.stat().st_mtime_ns) == before
    assert main(args + ["--overwrite"]) == 0


def test_console_script_and_debug(tmp_path):
    bad = tmp_path / "x.mat"
    bad.write_bytes(b"\x00" * 300)
    exe = shutil.which("nwb-it") or sys.executable
    cmd = [exe] if exe.endswith("nwb-it") else [exe, "-m", "nwb_it.cli"]
    plain = subprocess.run(cmd + ["convert", str(bad), "-o", str(tmp_path)], capture_output=True, text=True)
    assert plain.returncode == 2 and "Traceback" not in plain.stderr
    assert plain.stderr.strip() == f"nwb-it: error: {bad}: not a MATLAB .mat file (no 'MATLAB ... MAT-file' header)"
    debug = subprocess.run(cmd + ["--debug", "convert", str(bad), "-o", str(tmp_path)], capture_output=True, text=True)
    assert debug.returncode != 0 and "Traceback" in debug.stderr


def test_help_loads_no_heavy_library():
    """`nwb-it --help` and every verb's --help answer without pynwb, pandas, matplotlib, torch or Dask (speed is
    measured in the README; here what makes it slow is checked absent)."""
    import subprocess
    import sys

    code = ("import sys\nfrom nwb_it.cli import build_parser\np = build_parser()\n"
            "heavy = [m for m in ('pynwb', 'pandas', 'matplotlib', 'torch', 'dask', 'elephant', 'transformers') "
            "if m in sys.modules]\nprint(','.join(heavy))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == ""


_VERB_PARAMS = [
    (["reliability", "x.nwb"], "ReliabilityParams", set()),
    (["heatmaps", "x.nwb", "-o", "o"], "HeatmapParams", set()),
    (["compare", "x.nwb"], "CompareParams", {"response_window", "time_offset", "n_boot", "n_perm_rsa"}),
    (["export-brainscore", "x.nwb", "-o", "o"], "BrainScoreExportParams", set()),
    (["score", "b", "-o", "o"], "ScoreParams", set()),
    (["score", "b", "-o", "o"], "BrainScoreExportParams", set()),
    (["design", "x.nwb", "--candidates", "c", "--model", "t=m", "-o", "o"], "DesignParams", set()),
    (["report", "x.nwb", "-o", "o"], "ReportParams", set()),
    (["plot-activations", "x.nwb", "-o", "o"], "ActivationPlotParams", set()),
    (["extract-activations", "frames", "--nwb", "x.nwb"], "ExtractionParams", set()),
]


@pytest.mark.parametrize("argv, cls_name, unexposed", _VERB_PARAMS, ids=[f"{a[0]}-{c}" for a, c, _ in _VERB_PARAMS])
def test_every_parameter_has_its_flag_and_the_flag_the_dataclass_default(argv, cls_name, unexposed):
    """The CLI builds parameters from the dataclass fields (cli.options.params_from): every field is a flag of the verb
    (but the few named here, kept at their defaults), and every flag's default is the field's."""
    import dataclasses

    import nwb_it
    from nwb_it.cli import build_parser
    from nwb_it.cli.options import FLAG_OF

    cls = getattr(nwb_it, cls_name) if hasattr(nwb_it, cls_name) else getattr(nwb_it.core.params, cls_name)
    args = build_parser().parse_args(argv)
    defaults = cls()
    missing = set()
    for field in dataclasses.fields(cls):
        dest = next((d for d in (FLAG_OF.get(field.name, field.name).replace("-", "_"), field.name)
                     if hasattr(args, d)), None)
        if dest is None:
            missing.add(field.name)
            continue
        value = getattr(args, dest)
        value = tuple(value) if isinstance(value, list) else value
        converted = {"lags", "grey", "clip_duration", "family", "stimuli_root"}   # the verb converts these
        if field.name not in converted:
            assert value == getattr(defaults, field.name), (field.name, value)
    assert missing == unexposed


def test_verbose_shows_the_package_log_once_per_line_and_quiet_by_default(small_nwb, tmp_path, capsys):
    """``-v`` shows the ``nwb_it`` logger's records (a derivative made) as ``nwb-it:`` lines; without it they are
    not shown, and running ``main`` again does not print them twice."""
    src = shutil.copy(small_nwb, tmp_path / "ses.nwb")
    assert main(["reliability", str(src), "--n-perm", "10", "--derivative-dir", str(tmp_path / "a")]) == 0
    assert "derivative made" not in capsys.readouterr().err
    for run in range(2):
        assert main(["-v", "reliability", str(src), "--n-perm", "10", "--derivative-dir",
                     str(tmp_path / f"b{run}")]) == 0
        err = capsys.readouterr().err
        assert err.count("derivative made at") == 1 and err.startswith("nwb-it: "), err
