"""Damaged and hostile input of every kind: one error line, exit 2, nothing written, no crash."""
from __future__ import annotations

import json
import os
import struct
import subprocess
import sys
import zlib
from pathlib import Path

import numpy as np
import pytest

from nwb_it.examples import make_example_struct, write_example_frames, write_example_session, write_mat73

ROOT = Path(__file__).resolve().parents[1]


def run_many(cases: list[list[str]]) -> list[dict]:
    """Every case in one child interpreter: a segfault fails the test instead of passing silently."""
    proc = subprocess.run([sys.executable, "-m", "tests.fuzz_runner"], input=json.dumps(cases), cwd=ROOT,
                          capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, f"the child died (code {proc.returncode}): {proc.stderr[-2000:]}"
    return json.loads(proc.stdout.strip().splitlines()[-1])


def assert_clean(results: list[dict], named: list[str], allow_success: bool = False) -> int:
    """Every case either failed with exit 2 and one error line naming ``named[i]`` (the input at fault), or, with
    ``allow_success``, succeeded; returns how many failed."""
    assert len(named) == len(results)
    for r, culprit in zip(results, named):
        lines = r["stderr"].strip().splitlines()
        errors = [line for line in lines if line.startswith("nwb-it: error:")]
        if r["code"] == 0 and allow_success:
            continue
        assert r["code"] == 2, r
        assert len(errors) == 1 and "Traceback" not in r["stderr"], r
        assert culprit in errors[0], (culprit, errors[0])
    return sum(r["code"] == 2 for r in results)


def _flip(data: bytearray, rng, n: int, lo: int, hi: int) -> None:
    for pos in rng.integers(lo, hi, n):
        data[pos] ^= 1 << int(rng.integers(0, 8))


def corrupt(source: Path, folder: Path, n: int, seed: int) -> list[Path]:
    """Seeded damage: bit flips (metadata-heavy start of the file and anywhere), truncations, zeroed blocks."""
    rng = np.random.default_rng(seed)
    raw = source.read_bytes()
    out = []
    for i in range(n):
        data = bytearray(raw)
        kind = i % 4
        if kind == 0:
            _flip(data, rng, 4, 128, min(len(data), 8192))
        elif kind == 1:
            _flip(data, rng, 8, 128, len(data))
        elif kind == 2:
            data = data[: int(rng.integers(200, len(data)))]
        else:
            start = int(rng.integers(128, len(data) - 64))
            stop = min(len(data), start + int(rng.integers(16, 512)))
            data[start:stop] = bytes(stop - start)            # zeroed in place: the file keeps its length
        assert kind == 2 or len(data) == len(raw)
        path = folder / f"f{i:03d}_set_monkey.mat"
        path.write_bytes(bytes(data))
        out.append(path)
    return out


def _corpus_cases(tmp_path, n73: int, n5: int) -> list[list[str]]:
    v73, v5 = tmp_path / "s73_set_monkey.mat", tmp_path / "s5_set_monkey.mat"
    write_example_session(v73, n_units=3, n_clips=4, n_repeats=3, seed=2)
    write_example_session(v5, n_units=3, n_clips=4, n_repeats=3, seed=2, mat_format="5")
    (tmp_path / "c73").mkdir()
    (tmp_path / "c5").mkdir()
    files = corrupt(v73, tmp_path / "c73", n73, 1) + corrupt(v5, tmp_path / "c5", n5, 2)
    meta = tmp_path / "meta.yaml"
    meta.write_text("NWBFile:\n  session_start_time: 2024-01-01T00:00:00+00:00\nSubject:\n  age: P7Y\n")
    return [["convert", str(f), "-o", str(tmp_path / "out" / f.parent.name / f.stem), "--metadata", str(meta)]
            for f in files]


def _converted_or_refused(results: list[dict], cases: list[list[str]]) -> int:
    """A damaged file that converts (a flipped bit in a value, not a structure) must give a readable NWB file;
    the rest one line naming the damaged file. Returns how many were refused."""
    from nwb_it.nwb.io import reading

    refused = assert_clean(results, [c[1] for c in cases], allow_success=True)
    for r, case in zip(results, cases):
        if r["code"] == 0:
            (made,) = Path(case[3]).rglob("*.nwb")
            with reading(made) as f:
                assert len(f.units) == 3
    return refused


def test_corrupted_mat_files_give_one_line(tmp_path):
    cases = _corpus_cases(tmp_path, 24, 16)
    refused = _converted_or_refused(run_many(cases), cases)
    assert refused >= 20, f"only {refused} of 40 damaged files refused"


@pytest.mark.slow
def test_corrupted_mat_corpus_benchmark_sized(tmp_path):
    """120 damaged v7.3 files and 60 damaged v5 files, as the issue's fuzzing run."""
    cases = _corpus_cases(tmp_path, 120, 60)
    assert _converted_or_refused(run_many(cases), cases) > 60


def _png_with_size(path: Path, width: int, height: int) -> None:
    """A PNG whose header declares width x height (a decompression bomb needs no real pixels)."""
    write_example_frames(path.parent, [path.stem.rsplit("_", 1)[0]], n_frames=1)
    small = path.parent / f"{path.stem.rsplit('_', 1)[0]}_1.png"
    data = bytearray(small.read_bytes())
    ihdr = data[12:29]
    ihdr[4:12] = struct.pack(">II", width, height)
    data[12:29] = ihdr
    data[29:33] = struct.pack(">I", zlib.crc32(bytes(ihdr)) & 0xFFFFFFFF)
    small.unlink()
    path.write_bytes(bytes(data))


def test_hostile_metadata_and_frames(small_mat, small_nwb, tiny_videomae, tmp_path):
    metas = {"nul": "NWBFile:\n  lab: \"a\\0b\"\n", "long_id": f"Subject:\n  subject_id: {'x' * 300}\n",
             "list_number": "Units:\n  resolution: [1, 2]\n", "dots": "Subject:\n  subject_id: '..'\n",
             "bomb": "a: &a [x, x, x, x, x, x, x, x, x]\n" + "".join(
                 f"{c}: &{c} [{', '.join(['*' + p] * 9)}]\n" for p, c in zip("abcdefgh", "bcdefghi")),
             "binary": None}
    cases, named = [], []
    for name, text in metas.items():
        path = tmp_path / f"{name}.yaml"
        if text is None:
            path.write_bytes(bytes(range(256)) * 4)
        else:
            path.write_text(text)
        cases.append(["convert", str(small_mat), "-o", str(tmp_path / "out"), "--metadata", str(path)])
        named.append(str(path))
    frames = tmp_path / "frames"
    write_example_frames(frames, [f"{k + 1}_clip{k + 1:03d}" for k in range(7)], n_frames=4)
    bad = [("truncated", lambda p: p.write_bytes(p.read_bytes()[:40])), ("empty", lambda p: p.write_bytes(b"")),
           ("bomb", lambda p: _png_with_size(p, 20000, 20000))]
    nwb = tmp_path / "s.nwb"
    nwb.write_bytes(small_nwb.read_bytes())
    for name, damage in bad:
        folder = tmp_path / f"frames_{name}"
        folder.mkdir()
        for f in frames.iterdir():
            (folder / f.name).write_bytes(f.read_bytes())
        damage(folder / "1_clip001_2.png")
        cases.append(["extract-videomae", str(folder), "--nwb", str(nwb), "--model", str(tiny_videomae)])
        named.append(str(folder))
    model = tmp_path / "pickled_model"
    model.mkdir()
    for f in tiny_videomae.iterdir():
        if f.suffix != ".safetensors":
            (model / f.name).write_bytes(f.read_bytes())
    import pickle

    class Payload:
        def __reduce__(self):
            return (os.system, ("echo pwned",))
    (model / "pytorch_model.bin").write_bytes(pickle.dumps(Payload()))
    cases.append(["extract-videomae", str(frames), "--nwb", str(nwb), "--model", str(model)])
    named.append(str(model))
    results = run_many(cases)
    assert assert_clean(results, named) == len(cases)
    text = " ".join(r["stderr"] for r in results)
    assert "alias" in text and "control character" in text and "must be 1-64 letters" in text
    assert "pwned" not in text and not (tmp_path / "out").exists()


def test_damaged_float_type_and_billion_element_dataset(tmp_path):
    import h5py

    struct_, _ = make_example_struct(n_units=2, n_clips=2, n_repeats=2, seed=0)
    path = tmp_path / "big_set_monkey.mat"
    write_mat73(path, {"L2_str": struct_})
    with h5py.File(path, "r+") as f:                  # a field declaring 2e9 doubles in a tiny file
        f["L2_str"].create_dataset("huge", shape=(1, 2_000_000_000), dtype="f8", chunks=(1, 1024))
        f["L2_str/huge"].attrs["MATLAB_class"] = np.bytes_("double")
    from nwb_it import NwbItError, read_session

    with pytest.raises(NwbItError, match="more than the file could hold"):
        read_session(path)
    empty = tmp_path / "empty_set_monkey.mat"
    write_mat73(empty, {"L2_str": struct_})
    with h5py.File(empty, "r+") as f:
        f["L2_str"].create_dataset("fake_empty", data=np.array([100000, 100000], dtype=np.uint64))
        f["L2_str/fake_empty"].attrs["MATLAB_class"] = np.bytes_("double")
        f["L2_str/fake_empty"].attrs["MATLAB_empty"] = np.uint8(1)
    with pytest.raises(NwbItError, match="marked empty but declares 100000x100000"):
        read_session(empty)


def test_absurd_spike_time_and_integer_spikes_refused(tmp_path):
    from nwb_it import NwbItError, read_session

    struct_, _ = make_example_struct(n_units=2, n_clips=2, n_repeats=2, seed=0)
    struct_["spikes"][0, 0][0, 0][0, 0] = np.array([[1e300], [-1e300]])
    path = tmp_path / "absurd_set_monkey.mat"
    write_mat73(path, {"L2_str": struct_})
    with pytest.raises(NwbItError, match=r"spikes\{1\}\{1\}\{1\} holds a 1e\+300 s spike time.*--max-spike-time"):
        read_session(path)
    import scipy.io

    struct_, _ = make_example_struct(n_units=2, n_clips=2, n_repeats=2, seed=0)
    struct_["spikes"][1, 0][1, 0][0, 0] = np.array([[3], [4]], dtype=np.int32)
    v5 = tmp_path / "ints_set_monkey.mat"
    scipy.io.savemat(v5, {"L2_str": struct_}, format="5")
    with pytest.raises(NwbItError, match="int32 where spike times"):
        read_session(v5)
