"""Other tools read what we write: dandi validate, nwbinspector, pynapple, neo."""
from __future__ import annotations

import json
import os
import shutil
import subprocess

import neo
import numpy as np
import pynapple as nap
import pytest
from pynwb import NWBHDF5IO

from nwb_it.core.output import OutputPolicy
from nwb_it.nwb.validate import validate_nwb


def test_dandi_validate_clean(small_nwb, tmp_path):
    root = tmp_path / "dandiset"
    target = root / small_nwb.parent.name / small_nwb.name
    target.parent.mkdir(parents=True)
    shutil.copy(small_nwb, target)
    (root / "dandiset.yaml").write_text("identifier: DANDI:000000\nname: nwb_it test\ndescription: test\n")
    dandi = shutil.which("dandi")
    if dandi is None:
        pytest.fail("dandi CLI not installed (pip install -e .[test])")
    run = subprocess.run([dandi, "validate", "--min-severity", "HINT", "-f", "json", str(root)],
                         capture_output=True, text=True, env={**os.environ, "DANDI_NO_ET": "1"})
    records = json.loads(run.stdout or "[]")
    bad = [r for r in records if r.get("severity") in ("ERROR", "CRITICAL", "WARNING")]
    assert run.returncode == 0 and not bad, run.stdout + run.stderr


def test_nwbinspector_nothing_blocking(small_nwb):
    findings = validate_nwb(small_nwb)
    assert not [f for f in findings if f.blocking], [str(f) for f in findings]


def test_pynapple_and_neo_see_the_same_spikes(small_nwb):
    with NWBHDF5IO(str(small_nwb), "r") as io:
        nwb = io.read()
        counts = [len(nwb.units["spike_times"][u]) for u in range(len(nwb.units))]
        n_trials = len(nwb.trials)
    data = nap.load_file(str(small_nwb))
    units = data["units"]
    assert [len(units[k]) for k in units.index] == counts
    assert len(data["trials"]) == n_trials
    assert list(units.metadata["unit_name"]) == [f"ch{u // 2 + 1:03d}_u{u % 2 + 1}" for u in range(6)]
    block = neo.io.NWBIO(str(small_nwb), mode="r").read()[0]
    trains = block.segments[0].spiketrains
    assert [len(t) for t in trains] == counts
    assert np.isclose(float(trains[0].magnitude.sum()), float(np.sum(data["units"][0].t)))


def test_every_file_nwb_it_writes_or_updates_says_it_was_generated_by_nwb_it(small_nwb, tmp_path):
    """NWB 2.8+ ``was_generated_by``: set by convert, kept and completed by every update (another tool's entry
    stays), set on derivatives; the files still pass validation."""
    import shutil

    from pynwb import NWBHDF5IO

    from nwb_it.core.params import ReliabilityParams
    from nwb_it.core.provenance import package_version
    from nwb_it.nwb.validate import validate_nwb
    from nwb_it.steps import run_reliability

    mine = ["nwb_it", package_version()]

    def generated(path):
        with NWBHDF5IO(str(path), "r") as io:
            rows = io.read().was_generated_by
            return [] if rows is None else [[str(v) for v in row] for row in rows[:]]

    assert generated(small_nwb) == [mine]
    other = tmp_path / "other.nwb"
    with NWBHDF5IO(str(small_nwb), "r") as io:                       # as if NeuroConv had written the file
        f = io.read()
        f.fields["was_generated_by"] = [["neuroconv", "0.10.0"]]
        f.set_modified()
        with NWBHDF5IO(str(other), "w") as out:
            out.export(src_io=io, nwbfile=f)
    run_reliability(other, ReliabilityParams(n_perm=20))
    assert generated(other) == [["neuroconv", "0.10.0"], mine]
    run_reliability(other, ReliabilityParams(n_perm=20))
    assert generated(other) == [["neuroconv", "0.10.0"], mine], "one entry per version, not one per update"
    copy = shutil.copy(small_nwb, tmp_path / "c.nwb")
    run_reliability(copy, ReliabilityParams(n_perm=20), output=OutputPolicy(derivative_dir=tmp_path / "d"))
    (derivative,) = (tmp_path / "d").rglob("*.nwb")
    assert generated(derivative) == [mine]
    for path in (other, derivative):
        assert not [x for x in validate_nwb(path) if x.blocking]
