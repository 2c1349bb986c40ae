"""nwb-it run: a dataset file runs every step once, then only what its changes need (real files, tiny model)."""
from __future__ import annotations

import os
import warnings
from pathlib import Path

import pytest
from pynwb import NWBHDF5IO

from nwb_it.cli import main
from nwb_it.core.dataset import DatasetFileError, parse_dataset
from nwb_it.examples.dataset import add_example_session

SES = "sub-coco_ses-20240301-fixshortvid1_ecephys"


def _mtimes(folder: Path) -> dict[str, int]:
    return {str(p): p.stat().st_mtime_ns for p in folder.rglob("*") if p.is_file() and p.name != ".nwb_it-run.json"}


@pytest.mark.slow          # the example dataset (15 s to write) is shared by the slow tests only
def test_first_run_writes_what_the_verbs_write_and_the_report(example_dataset, tmp_path, capsys):
    out = example_dataset / "out"
    nwb = out / "nwb" / "sub-coco" / f"{SES}.nwb"
    with NWBHDF5IO(str(nwb), "r") as io:
        f = io.read()
        assert {"reliability", "tiny_activations", "encoding_tiny_activations"} <= \
            {name for m in f.processing.values() for name in m.data_interfaces}
    # the verb on the same file and parameters draws the same figures, by name
    assert main(["heatmaps", str(nwb), "-o", str(tmp_path)]) == 0
    verb = {p.name for p in tmp_path.rglob("*.png")}
    ran = {p.name for p in (out / SES / "heatmaps").rglob("*.png")}
    assert verb and verb == ran
    for path in (out / SES / "report.html", out / "index.html", out / "summary" / "summary.csv"):
        assert path.stat().st_size > 0
    assert list((out / SES / "activations" / "tiny").glob("*.png"))
    assert list((out / SES / "compare" / "tiny").glob("*.png"))
    assert (out / SES / "report.html").stat().st_mode & 0o044      # readable by the group and others (umask 022)


@pytest.mark.slow          # the example dataset (15 s to write) is shared by the slow tests only
def test_rerun_skips_added_session_runs_alone_and_a_parameter_reruns_its_dependents(example_dataset, capsys):
    dataset = example_dataset / "dataset.yaml"
    before = _mtimes(example_dataset / "out")
    assert main(["run", str(dataset)]) == 0
    assert "(nothing to do)" in capsys.readouterr().out
    assert _mtimes(example_dataset / "out") == before                     # nothing was written again

    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        add_example_session(example_dataset, 3)
    assert main(["run", str(dataset)]) == 0
    lines = [ln for ln in capsys.readouterr().out.splitlines() if ln.startswith("ran: ")]
    ids = {ln.split()[1] for ln in lines}
    assert ids and all("20240303" in i or i in ("summary", "index") for i in ids), lines
    assert {"summary", "index"} <= ids
    changed = {p for p, t in _mtimes(example_dataset / "out").items() if before.get(p) != t}
    assert not any("20240301" in p or "20240302" in p for p in changed), changed

    dataset.write_text(dataset.read_text().replace("n_perm: 100", "n_perm: 120"), encoding="utf-8")
    assert main(["run", str(dataset), "--dry-run"]) == 0
    would = [ln.split()[2] for ln in capsys.readouterr().out.splitlines() if ln.startswith("would run:")]
    kinds = {i.split(":")[0] for i in would}
    assert kinds == {"reliability", "heatmaps", "compare", "report", "summary", "index"}, would
    assert len([i for i in would if i.startswith("reliability:")]) == 3
    dataset.write_text(dataset.read_text().replace("n_perm: 120", "n_perm: 100"), encoding="utf-8")
    assert main(["run", str(dataset), "--dry-run"]) == 0
    assert "(nothing to do)" in capsys.readouterr().out


@pytest.mark.slow          # the example dataset (15 s to write) is shared by the slow tests only
def test_a_file_changed_outside_the_run_makes_its_session_run_again(example_dataset, capsys):
    nwb = example_dataset / "out" / "nwb" / "sub-coco" / f"{SES}.nwb"
    st = nwb.stat()
    os.utime(nwb, ns=(st.st_atime_ns, st.st_mtime_ns + 10**9))
    assert main(["run", str(example_dataset / "dataset.yaml"), "--dry-run"]) == 0
    out = capsys.readouterr().out
    assert f"would run: convert:{SES} ({nwb} changed since the last run)" in out
    os.utime(nwb, ns=(st.st_atime_ns, st.st_mtime_ns))
    assert main(["run", str(example_dataset / "dataset.yaml"), "--dry-run"]) == 0
    assert "(nothing to do)" in capsys.readouterr().out


@pytest.mark.slow          # the example dataset (15 s to write) is shared by the slow tests only
def test_outputs_no_run_recorded_are_refused(example_dataset, tmp_path, capsys):
    dataset = tmp_path / "dataset.yaml"           # a second dataset file writing into the first one's folder
    dataset.write_text((example_dataset / "dataset.yaml").read_text().replace("raw/", f"{example_dataset}/raw/")
                       .replace("metadata.yaml", f"{example_dataset}/metadata.yaml")
                       .replace("sessions.csv", f"{example_dataset}/sessions.csv")
                       .replace("output: out", f"output: {tmp_path}/out").replace("*.mat", "20240301*.mat"),
                       encoding="utf-8")
    (tmp_path / "out" / "nwb" / "sub-coco").mkdir(parents=True)
    (tmp_path / "out" / "nwb" / "sub-coco" / f"{SES}.nwb").write_bytes(b"not ours")
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        assert main(["run", str(dataset)]) == 2
    err = capsys.readouterr().err
    assert f"convert:{SES}" in err and "--overwrite" in err
    assert (tmp_path / "out" / "nwb" / "sub-coco" / f"{SES}.nwb").read_bytes() == b"not ours"


def test_every_problem_of_a_dataset_file_is_one_line(tmp_path, capsys):
    bad = tmp_path / "dataset.yaml"
    bad.write_text("sessions: [a.mat]\nouptut: out\nreliability: {cutof: 2}\nheatmaps: {window: [0.3, 0.1]}\n"
                   "models: [{name: 'x y', model: m}]\nresults: elsewhere\n", encoding="utf-8")
    assert main(["run", str(bad)]) == 2
    lines = capsys.readouterr().err.strip().splitlines()
    parts = ("ouptut: unknown key", "output: give the folder", "reliability.cutof: unknown parameter",
             "heatmaps.window: `window=(0.3, 0.1)`: start must be before end", "models[0].name:",
             "results: `elsewhere`")
    assert len(lines) == len(parts)                      # nothing ran: only the problems, one line each
    for line, part in zip(sorted(lines), sorted(parts)):
        assert line.startswith(f"nwb-it: error: {bad}: {part}"), (line, part)
    bad.write_text("sessions: [a.mat]\nsessions: [b.mat]\noutput: out\n", encoding="utf-8")
    assert main(["run", str(bad)]) == 2
    assert "sessions" in capsys.readouterr().err
    bad.write_text("sessions: [missing/*.mat]\noutput: out\n", encoding="utf-8")
    assert main(["run", str(bad)]) == 2
    assert "no session file there" in capsys.readouterr().err
    bad.write_text("!!python/object/apply:os.system ['echo pwned']\n", encoding="utf-8")
    assert main(["run", str(bad)]) == 2
    assert "pwned" not in capsys.readouterr().out


def test_parse_dataset_defaults_and_relative_paths():
    spec = parse_dataset({"sessions": "raw/*.mat", "output": "out", "export_brainscore": {},
                          "heatmaps": False, "models": [{"name": "m1", "model": "./m"}]}, base="/lab")
    assert spec.sessions == ("/lab/raw/*.mat",) and spec.heatmaps is None
    assert spec.export_brainscore is not None and spec.models[0].extraction.model == "/lab/m"
    assert spec.models[0].table == "m1_activations"
    spec = parse_dataset({"sessions": ["a.mat"], "output": "o", "workers": 2,
                          "cluster": {"kind": "slurm", "queue": "q", "env_setup": ["source venv/bin/activate"]}})
    assert spec.cluster.kind == "slurm" and spec.cluster.env_setup == ("source venv/bin/activate",)
    with pytest.raises(DatasetFileError) as exc:
        parse_dataset({"sessions": ["a.mat"], "output": "o", "cluster": {"kind": "nope"}, "workers": 0})
    assert exc.value.problems == ["workers: `0`: a whole number >= 1, or null (this machine decides)",
                                  "cluster.kind: `kind=nope`: use local, slurm, pbs, lsf"]
    with pytest.raises(DatasetFileError) as exc:
        parse_dataset(["not", "a", "mapping"])
    assert "mapping" in str(exc.value)


@pytest.mark.slow          # the example dataset (15 s to write) is shared by the slow tests only
def test_nwb_sessions_with_results_in_derivatives_stay_as_they_are(example_dataset, tmp_path, capsys):
    """Sessions given as NWB files (another lab's, read-only, archived) and `results: derivatives`: the files are
    never written, the derivatives hold the results, and a second run does nothing."""
    import hashlib
    import shutil

    src = tmp_path / "theirs" / f"{SES}.nwb"
    src.parent.mkdir()
    shutil.copy(example_dataset / "out" / "nwb" / "sub-coco" / f"{SES}.nwb", src)
    src.chmod(0o444)
    digest = hashlib.sha256(src.read_bytes()).hexdigest()
    dataset = tmp_path / "dataset.yaml"
    dataset.write_text("sessions: [theirs/*.nwb]\noutput: out\nresults: derivatives\n"
                       "reliability: {n_perm: 50, n_null: 100}\nsummary: false\n", encoding="utf-8")
    assert main(["run", str(dataset)]) == 0
    out = capsys.readouterr().out
    assert f"ran: reliability:{SES} (new)" in out and f"ran: report:{SES} (new)" in out
    assert hashlib.sha256(src.read_bytes()).hexdigest() == digest
    (derivative,) = (tmp_path / "out" / "derivatives").rglob("*.nwb")
    with NWBHDF5IO(str(derivative), "r") as io:
        assert "reliability" in io.read().processing["ecephys"].data_interfaces
    assert "responsive (d′ above the cutoff)" in (tmp_path / "out" / SES / "report.html").read_text()
    assert main(["run", str(dataset)]) == 0
    assert "(nothing to do)" in capsys.readouterr().out
