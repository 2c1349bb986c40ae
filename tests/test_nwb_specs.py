"""A written file caches the namespaces it uses, whatever the writing process had loaded before."""
from __future__ import annotations

import shutil
import subprocess
import sys
import warnings
from pathlib import Path

import pytest

from nwb_it.nwb.specs import ALWAYS, cached_namespaces

CONVERT_AFTER_LOADING = """
import sys, warnings
warnings.simplefilter("ignore")
if sys.argv[1] == "loaded":
    import ndx_binned_spikes   # what a notebook or a dataset run may have loaded for another file
from nwb_it import run_convert
from nwb_it.steps.reliability import run_reliability
from tests.helpers import META
out = run_convert(sys.argv[2], META, out_dir=sys.argv[3])
run_reliability(out, store_binned=sys.argv[4] == "binned")
print(out)
"""


def _convert(tmp_path: Path, mat: Path, loaded: bool, binned: bool) -> Path:
    out = tmp_path / f"{loaded}-{binned}"
    run = subprocess.run([sys.executable, "-c", CONVERT_AFTER_LOADING, "loaded" if loaded else "fresh", str(mat),
                          str(out), "binned" if binned else "plain"], capture_output=True, text=True,
                         cwd=Path(__file__).parents[1], timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    return Path(run.stdout.strip().splitlines()[-1])


@pytest.mark.slow
def test_cached_namespaces_do_not_depend_on_what_the_process_loaded(small_mat, tmp_path):
    fresh, loaded = (_convert(tmp_path, small_mat, flag, binned=False) for flag in (False, True))
    assert cached_namespaces(fresh) == cached_namespaces(loaded) == set(ALWAYS)
    binned = _convert(tmp_path, small_mat, False, binned=True)
    assert cached_namespaces(binned) == set(ALWAYS) | {"ndx-binned-spikes"}, "a file that uses it keeps it"


def test_a_file_using_an_extension_rewritten_by_a_fresh_process_keeps_it(small_nwb, tmp_path):
    """Reading loads ndx-binned-spikes for a file that declares it, so the file's next write still holds it."""
    from nwb_it.steps.reliability import run_reliability

    path = tmp_path / small_nwb.name
    shutil.copy(small_nwb, path)
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        run_reliability(path, store_binned=True)
        assert "ndx-binned-spikes" in cached_namespaces(path)
        run_reliability(path)                               # rewrites the file: the binned counts stay
    assert "ndx-binned-spikes" in cached_namespaces(path)


LATE_EXTENSION = """
import hashlib, sys, warnings
warnings.simplefilter("ignore")
from pathlib import Path
from nwb_it.core.errors import NwbItError
from nwb_it.nwb.binned import binned_aligned_spikes
from nwb_it.nwb.io import replace_in_module
from nwb_it.steps.reliability import read_reliability_data
from nwb_it.process.binning import bin_aligned

path = Path(sys.argv[1])
before = hashlib.sha256(path.read_bytes()).hexdigest()
data = read_reliability_data(path)
aligned = bin_aligned(data.spikes, data.presentations, (0.0, 0.3), 0.05)
try:    # the extension is imported inside make, after the file was opened: pynwb would write a bare base class
    replace_in_module(path, "ecephys", "x", lambda f: [binned_aligned_spikes(f, aligned, data.presentations, {})])
except NwbItError as exc:
    print("refused:", exc.problem, hashlib.sha256(path.read_bytes()).hexdigest() == before)
"""


def test_a_container_whose_type_the_reader_did_not_know_is_refused_not_written_bare(small_nwb, tmp_path):
    path = tmp_path / small_nwb.name
    shutil.copy(small_nwb, path)
    run = subprocess.run([sys.executable, "-c", LATE_EXTENSION, str(path)], capture_output=True, text=True,
                         cwd=Path(__file__).parents[1], timeout=300)
    assert run.returncode == 0, run.stderr[-2000:]
    assert "refused: binned_aligned_spikes would be written as NWBDataInterface, not BinnedAlignedSpikes" in run.stdout
    assert run.stdout.strip().endswith("True"), "the file is left as it was"


def test_a_specification_that_cannot_be_read_prunes_nothing(tmp_path):
    """Another writer's cached specification that is not a namespace document: keep every namespace."""
    from datetime import datetime, timezone

    import h5py
    import ndx_binned_spikes  # noqa: F401  (loaded: pynwb caches it in what it writes)
    from pynwb import NWBHDF5IO, NWBFile

    from nwb_it.nwb.specs import keep_used_specifications

    path = tmp_path / "x.nwb"
    with NWBHDF5IO(str(path), "w") as io:
        io.write(NWBFile(session_description="x", identifier="x", session_start_time=datetime.now(timezone.utc)))
    with h5py.File(path, "r+") as f:
        f.create_group("extra").attrs["namespace"] = "ndx-binned-spikes"          # a group of that namespace
        for version in f["specifications/ndx-binned-spikes"].values():
            del version["namespace"]
            version["namespace"] = "not json"
    before = cached_namespaces(path)
    assert keep_used_specifications(path) == [] and cached_namespaces(path) == before
