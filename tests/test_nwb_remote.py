"""NWB files read where they live (HTTP ranges from a loopback server) and results as derivative NWB files."""
from __future__ import annotations

import contextlib
import os
import re
import shutil
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import numpy as np
import pytest
from pynwb import NWBHDF5IO

from nwb_it.core.errors import NwbItError
from nwb_it.core.output import OutputPolicy
from nwb_it.core.params import ReliabilityParams
from nwb_it.nwb.derivative import SOURCE_TABLE
from nwb_it.nwb.io import reading
from nwb_it.nwb.validate import validate_nwb
from nwb_it.steps import run_reliability

pytest.importorskip("requests")


class _RangeHandler(BaseHTTPRequestHandler):
    """Serves one file with HTTP Range support; counts the bytes of ranges sent; ``drop`` closes every connection
    unanswered."""

    root: Path
    log: Path                          # one line per answer: the bytes of a range (negative: the whole file)
    drop = False
    mode = ""                          # "stall": headers and part of the body, then silence; "whole": ignores Range

    def log_message(self, *args) -> None:            # quiet
        pass

    def _file(self) -> Path:
        return self.root / urlsplit(self.path).path.lstrip("/")      # a signed query is not part of the name

    def _size(self) -> int:
        return self._file().stat().st_size

    def do_HEAD(self) -> None:
        if self.drop:
            self.close_connection = True
            return
        self.send_response(200)
        self.send_header("Content-Length", str(self._size()))
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()

    def do_GET(self) -> None:
        if self.drop:
            self.close_connection = True
            return
        path, size = self._file(), self._size()
        m = re.match(r"bytes=(\d+)-(\d*)", self.headers.get("Range", ""))
        if self.mode == "whole":       # a server or proxy that ignores Range: 200 and the whole file, streamed
            self.send_response(200)
            self.send_header("Content-Length", str(size))
            self.end_headers()
            try:
                with open(path, "rb") as fh:
                    shutil.copyfileobj(fh, self.wfile, 1 << 16)
            except OSError:            # the client closed a body it did not ask for
                pass
            return
        start, end = (int(m.group(1)), int(m.group(2) or size - 1)) if m else (0, size - 1)
        end = min(end, size - 1)
        with open(path, "rb") as fh:
            fh.seek(start)
            body = fh.read(end - start + 1)
        self.send_response(206 if m else 200)
        self.send_header("Content-Length", str(len(body)))
        self.send_header("Content-Range", f"bytes {start}-{end}/{size}")
        self.send_header("Accept-Ranges", "bytes")
        self.end_headers()
        if self.mode == "stall" and start > 0:
            self.wfile.write(body[:len(body) // 2])
            self.wfile.flush()
            time.sleep(20)                              # then silence (a daemon thread: the test does not wait)
            return
        with open(self.log, "a") as fh:                       # a whole-file answer counts negative
            fh.write(f"{len(body) if m else -len(body)}\n")
        with contextlib.suppress(OSError):          # the client closed a body it did not ask for
            self.wfile.write(body)


class _SentLog:
    """What the server sent, read from its log file: a list of byte counts (the server is another process)."""

    def __init__(self, path: Path):
        self.path = path

    def _values(self) -> list[int]:
        return [int(line) for line in self.path.read_text().split()] if self.path.exists() else []

    def __iter__(self):
        return iter(self._values())

    def __len__(self) -> int:
        return len(self._values())


@pytest.fixture()
def serve(tmp_path):
    """serve(file, drop=False) -> URL of ``file`` on a loopback server stopped after the test.

    The server runs in a forked process, not a thread of this one: a garbage collection in a server thread can
    run hdmf's ``__del__`` (closing an HDF5 file needs h5py's global lock) while the reading thread holds that
    lock waiting for this very server's answer, a deadlock no real remote server can cause.
    """
    import multiprocessing

    children = []

    def start(file: Path, drop: bool = False, mode: str = "") -> tuple[str, _SentLog]:
        root = tmp_path / f"served{len(children)}"
        root.mkdir()
        shutil.copy(file, root / file.name)
        log = tmp_path / f"sent{len(children)}.txt"
        handler = type("Handler", (_RangeHandler,), {"root": root, "log": log, "drop": drop, "mode": mode})
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        child = multiprocessing.get_context("fork").Process(target=server.serve_forever, daemon=True)
        child.start()
        server.server_close()                       # the child listens on its copy of the socket
        children.append(child)
        return f"http://127.0.0.1:{server.server_address[1]}/{file.name}", _SentLog(log)

    yield start
    for child in children:
        child.terminate()
        child.join(5)
        if child.is_alive():
            child.kill()


def test_reliability_of_a_url_goes_into_a_derivative_that_later_verbs_take(serve, small_nwb, tmp_path):
    url, sent = serve(small_nwb)
    out = tmp_path / "derivatives"
    remote = run_reliability(url, ReliabilityParams(n_perm=20), output=OutputPolicy(derivative_dir=out))
    local = run_reliability(shutil.copy(small_nwb, tmp_path / "local.nwb"), ReliabilityParams(n_perm=20))
    np.testing.assert_allclose(remote.dprime, local.dprime)
    (derivative,) = out.rglob("*_desc-nwbit_ecephys.nwb")
    assert derivative.parent.name.startswith("sub-") and derivative.name.startswith(derivative.parent.name)
    assert sent and min(sent) > 0, "every answer was a range (a whole-file GET would count negative)"
    assert len(sent) < 50, "blocks, not one request per HDF5 read"
    with NWBHDF5IO(str(derivative), "r") as io:
        f = io.read()
        source = f.processing["misc"][SOURCE_TABLE]
        assert source["location"][0] == url and source["sha256"][0] == ""
        assert 0 < source["bytes_read"][0] <= os.path.getsize(small_nwb), "what HDF5 read over HTTP, recorded"
        assert "reliability" in f.processing["ecephys"].data_interfaces
        assert len(f.units) == len(remote.unit_ids)
    assert not [x for x in validate_nwb(derivative) if x.blocking], "the derivative passes nwb-it validate"
    again = run_reliability(derivative, ReliabilityParams(n_perm=20))          # reusable as input
    np.testing.assert_allclose(again.dprime, remote.dprime)


def test_only_ranges_are_fetched_from_a_large_file(serve, tmp_path):
    """A file whose bulk the analysis never reads: bytes sent stay far below its size."""
    from nwb_it.examples.other_lab import write_other_lab_file

    path = tmp_path / "big.nwb"
    write_other_lab_file(path)
    with NWBHDF5IO(str(path), "a") as io:                        # 40 MB of an acquisition nobody analyses
        from pynwb import TimeSeries

        f = io.read()
        f.add_acquisition(TimeSeries(name="raw", data=np.random.default_rng(0).normal(size=(5_000_000,)),
                                     unit="V", rate=30000.0))
        io.write(f)
    url, sent = serve(path)
    stats: dict = {}
    with reading(url, stats) as f:
        n_units = len(f.units)
        _ = f.units["spike_times"][0]
    assert n_units > 0 and 0 < stats["bytes_read"] <= sum(sent) < os.path.getsize(path) / 4, (
        sum(sent), os.path.getsize(path))


@pytest.mark.slow
def test_a_server_that_drops_connections_is_one_error_line(serve, small_nwb):
    """The range reader retries (with back-off), then one line naming the URL."""
    url, _ = serve(small_nwb, drop=True)
    with pytest.raises(NwbItError) as err:
        run_reliability(url, ReliabilityParams(n_perm=20), output=OutputPolicy(derivative_dir="unused"))
    assert url in str(err.value) and "\n" not in str(err.value)


def test_a_remote_file_without_a_derivative_folder_is_refused(serve, small_nwb):
    url, _ = serve(small_nwb)
    with pytest.raises(NwbItError, match="derivative_dir"):
        run_reliability(url)


def test_a_read_only_local_file_is_analysed_into_a_derivative(small_nwb, tmp_path):
    path = Path(shutil.copy(small_nwb, tmp_path / "ro.nwb"))
    path.chmod(0o444)
    before = path.read_bytes()
    with pytest.raises(NwbItError, match="derivative_dir"):
        run_reliability(path, ReliabilityParams(n_perm=20))
    run_reliability(path, ReliabilityParams(n_perm=20), output=OutputPolicy(derivative_dir=tmp_path / "d"))
    assert path.read_bytes() == before
    (derivative,) = (tmp_path / "d").rglob("*.nwb")
    with reading(derivative) as f:
        assert f.processing["misc"][SOURCE_TABLE]["sha256"][0] != ""


def test_the_command_line_analyses_a_url_into_a_derivative(serve, small_nwb, tiny_videomae, tmp_path, capsys):
    """reliability, extract-videomae and compare on a URL, all into one derivative; heatmaps read the URL itself."""
    from nwb_it.cli import main
    from nwb_it.examples import write_example_frames

    url, sent = serve(small_nwb)
    with reading(small_nwb) as f:
        names = sorted(set(f.trials["stimulus_name"][:]))
    frames = write_example_frames(tmp_path / "frames", names, n_frames=4, size=16)
    out = tmp_path / "derivatives"
    assert main(["reliability", url, "--derivative-dir", str(out), "--n-perm", "20"]) == 0
    assert f"results written into its derivative {out}" in capsys.readouterr().out      # it says where
    assert main(["heatmaps", url, "-o", str(tmp_path / "figs_r"), "--derivative-dir", str(out)]) == 0
    assert "results read from its derivative" in capsys.readouterr().out                 # responsive units: there
    assert main(["extract-videomae", str(frames), "--nwb", url, "--model", str(tiny_videomae), "--pad", "1",
                 "--derivative-dir", str(out)]) == 0
    assert main(["compare", url, "--derivative-dir", str(out), "--units", "all", "--folds", "2"]) == 0
    assert main(["heatmaps", url, "-o", str(tmp_path / "figs"), "--units", "all"]) == 0
    (derivative,) = out.rglob("*.nwb")
    with reading(derivative) as f:
        tables = set(f.processing["ecephys"].data_interfaces)
        assert {"reliability"} <= tables and "videomae_activations" in f.processing["misc"].data_interfaces
        assert {"encoding", "encoding_time", "rsa"} <= tables
    assert sum(sent) > 0 and url in capsys.readouterr().out
    # the report of a remote file is made from its derivative, and only from it
    assert main(["report", url, "-o", str(tmp_path / "report")]) == 2
    assert "--derivative-dir" in capsys.readouterr().err
    assert main(["report", url, "-o", str(tmp_path / "report"), "--derivative-dir", str(out)]) == 0
    assert f"reading its derivative {derivative}" in capsys.readouterr().out
    page = (tmp_path / "report" / Path(url).stem / "report.html").read_text()
    assert "responsive (d′ above the cutoff)" in page and "127.0.0.1" not in page.split("<main>")[1]



def test_a_derivative_of_another_labs_file_gives_the_same_numbers(tmp_path):
    """Allen-style presentations under /intervals, no unit names, a unit observed half the session."""
    from nwb_it.core.params import PresentationSpec
    from nwb_it.examples.other_lab import write_other_lab_file

    write_other_lab_file(tmp_path / "a.nwb", partial_unit=True)
    shutil.copy(tmp_path / "a.nwb", tmp_path / "b.nwb")
    spec = PresentationSpec(intervals="natural_scenes_presentations", stimulus_column="image_index")
    local = run_reliability(tmp_path / "a.nwb", ReliabilityParams(n_perm=20), presentations=spec)
    derived = run_reliability(tmp_path / "b.nwb", ReliabilityParams(n_perm=20), presentations=spec,
                              output=OutputPolicy(derivative_dir=tmp_path / "d"))
    np.testing.assert_allclose(derived.dprime, local.dprime, equal_nan=True)
    np.testing.assert_allclose(derived.p_value, local.p_value, equal_nan=True)


# -- every result bound to its inputs; bounded time and memory; no secret in any output ---------------------------

def _changed_copy(src: Path, dst: Path) -> Path:
    """The same NWB file (identifier, object ids, subject, session) with one more acquisition: other bytes."""
    from pynwb import TimeSeries

    shutil.copy(src, dst)
    with NWBHDF5IO(str(dst), "a") as io:
        f = io.read()
        f.add_acquisition(TimeSeries(name="extra", data=np.arange(5000.0), unit="V", rate=10.0))
        io.write(f)
    return dst


def test_a_changed_local_source_is_never_served_its_old_derivative(small_nwb, tmp_path):
    a = Path(shutil.copy(small_nwb, tmp_path / "a.nwb"))
    into_d = OutputPolicy(derivative_dir=tmp_path / "d")
    first = run_reliability(a, ReliabilityParams(n_perm=20), output=into_d)
    _changed_copy(small_nwb, tmp_path / "b.nwb")
    with pytest.raises(NwbItError) as err:              # same subject and session: the same derivative name
        run_reliability(tmp_path / "b.nwb", ReliabilityParams(n_perm=20), output=into_d)
    text = str(err.value)
    assert "is the derivative of" in text and str(a.resolve()) in text and "b.nwb" in text and "sha256" in text
    again = run_reliability(tmp_path / "b.nwb", ReliabilityParams(n_perm=20),
                            output=OutputPolicy(derivative_dir=tmp_path / "d", overwrite=True))
    np.testing.assert_allclose(again.dprime, first.dprime)       # the spikes are the same; the source is not
    (derivative,) = (tmp_path / "d").rglob("*.nwb")
    with reading(derivative) as f:
        from nwb_it.io.digest import file_sha256

        assert f.processing["misc"][SOURCE_TABLE]["sha256"][0] == file_sha256(tmp_path / "b.nwb")
    # the unchanged source reuses it without a word
    run_reliability(tmp_path / "b.nwb", ReliabilityParams(n_perm=20), output=into_d)


def test_a_server_that_now_serves_another_file_is_refused(serve, small_nwb, tmp_path):
    url, _ = serve(small_nwb)
    run_reliability(url, ReliabilityParams(n_perm=20), output=OutputPolicy(derivative_dir=tmp_path / "d"))
    served = tmp_path / "served0" / small_nwb.name
    _changed_copy(small_nwb, tmp_path / "new.nwb")
    shutil.copy(tmp_path / "new.nwb", served)             # same URL, same NWB ids, other content
    with pytest.raises(NwbItError, match=r"is the derivative of .*differ in size"):
        run_reliability(url, ReliabilityParams(n_perm=20), output=OutputPolicy(derivative_dir=tmp_path / "d"))


def test_two_verbs_creating_one_derivative_at_once_both_succeed(serve, small_nwb, tmp_path):
    from concurrent.futures import ThreadPoolExecutor

    from nwb_it.steps.targets import results_target

    url, _ = serve(small_nwb)
    for attempt in range(3):
        out = tmp_path / f"d{attempt}"
        with ThreadPoolExecutor(2) as pool:
            policy = OutputPolicy(derivative_dir=out)
            targets = list(pool.map(results_target, [url, url], [policy, policy]))
        assert targets[0] == targets[1] and len(list(out.rglob("*.nwb"))) == 1


def test_a_stalled_server_is_one_error_line_in_bounded_time(serve, small_nwb):
    from nwb_it.io.http import HttpTimeouts
    from nwb_it.nwb.remote import http_timeouts

    url, _ = serve(small_nwb, mode="stall")
    t0 = time.monotonic()
    with http_timeouts(HttpTimeouts(read=1.0, retries=1)), pytest.raises(NwbItError) as err:
        run_reliability(url, ReliabilityParams(n_perm=20), output=OutputPolicy(derivative_dir="unused"))
    assert time.monotonic() - t0 < 15 and "no answer in time" in str(err.value) and "\n" not in str(err.value)


def test_a_server_that_ignores_range_is_refused_before_its_body_is_read(serve, tmp_path):
    import tracemalloc

    from nwb_it.io.http import open_range_file

    big = tmp_path / "big.nwb"
    big.write_bytes(np.random.default_rng(0).bytes(60 << 20))
    url, _ = serve(big, mode="whole")
    tracemalloc.start()
    try:
        with pytest.raises(NwbItError, match="ignores HTTP range requests"):
            open_range_file(url)
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert peak < 8 << 20, f"{peak / 2**20:.0f} MB held for a refused 60 MB body"


def test_no_secret_of_a_url_reaches_stdout_stderr_or_the_derivative(serve, small_nwb, tmp_path, capsys):
    from nwb_it.cli import main

    url, _ = serve(small_nwb)
    scheme, rest = url.split("://")
    secret = f"{scheme}://alice:pa55word@{rest}?X-Amz-Signature=0ddc0ffee&X-Amz-Credential=AKIAKEY&token=t0k3n"
    out = tmp_path / "derivatives"
    assert main(["reliability", secret, "--derivative-dir", str(out), "--n-perm", "20", "-o",
                 str(tmp_path / "figs")]) == 0
    assert main(["heatmaps", secret + "x", "-o", str(tmp_path / "figs2")]) == 2     # an error line too
    assert main(["export-brainscore", secret, "-o", str(tmp_path / "bs"), "--units", "all",
                 "--min-reliability", "none"]) == 0
    printed = capsys.readouterr()
    written = b"".join(p.read_bytes() for p in tmp_path.rglob("*") if p.is_file() and "served" not in str(p))
    names = " ".join(str(p) for p in tmp_path.rglob("*"))
    for leak in ("pa55word", "alice", "0ddc0ffee", "AKIAKEY", "t0k3n", "Signature"):
        assert leak not in printed.out and leak not in printed.err and leak.encode() not in written, leak
        assert leak not in names, leak
    assert url in printed.out                              # what finds the file again is kept
