"""Benchmark: `mat73.loadmat` vs `nwb-it convert` (read + write NWB) on the same example session.

Each is run in its own Python process (so each one's peak memory is its own), in one run
of this script, and the ratio is printed (goal <= 0.12). ``convert`` reads the spike cells
with one process per core (its default for one large file); it is also timed with one
reader (``readers=1``, what each session of a parallel batch uses), the single-process
figure beside ``mat73``'s single process. Usage:

    python scripts/bench_convert.py [--units 256 --clips 200 --repeats 8]
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tempfile
import time
from pathlib import Path

CHILD = r"""
import json, resource, sys, time, warnings
warnings.simplefilter("ignore")
what, mat, out, readers = sys.argv[1:5]
t = time.perf_counter()
if what == "mat73":
    import mat73
    mat73.loadmat(mat)
else:
    from nwb_it import OutputPolicy, run_convert
    run_convert(mat, {"NWBFile": {"session_start_time": "2024-01-01T00:00:00+00:00"}, "Subject": {"age": "P7Y"}},
                out_dir=out, output=OutputPolicy(overwrite=True), readers=None if readers == "auto" else int(readers))
seconds = time.perf_counter() - t
peak = max(resource.getrusage(who).ru_maxrss for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN))
print(json.dumps({"seconds": seconds, "peak_mb": peak / 1024}))   # the reader child's peak counts too
"""


def run(what: str, mat: Path, out: Path, readers: str = "auto") -> dict:
    proc = subprocess.run([sys.executable, "-c", CHILD, what, str(mat), str(out), readers], capture_output=True,
                          text=True)
    if proc.returncode:
        sys.exit(proc.stderr)
    return json.loads(proc.stdout.strip().splitlines()[-1])


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--units", type=int, default=256)
    ap.add_argument("--clips", type=int, default=200)
    ap.add_argument("--repeats", type=int, default=8)
    args = ap.parse_args()
    from nwb_it.core.params import usable_cores

    with tempfile.TemporaryDirectory() as tmp:
        mat = Path(tmp) / "bench_fixshortvid1_coco.mat"
        t = time.perf_counter()
        # written by another process: Linux carries a process's peak memory across fork + exec, so the
        # children timed below would report this process's peak if it had built the session
        subprocess.run([sys.executable, "-c", "import sys; from nwb_it import write_example_session as w; "
                        "w(sys.argv[1], *map(int, sys.argv[2:]), seed=0)", str(mat), str(args.units),
                        str(args.clips), str(args.repeats)], check=True)
        written = time.perf_counter() - t
        conv = run("convert", mat, Path(tmp) / "out")
        one = run("convert", mat, Path(tmp) / "out", "1")
        m73 = run("mat73", mat, Path(tmp) / "out")
        from nwb_it import read_session

        s = read_session(mat)
        print(f"session: {s.n_units} units x {s.n_clips} clips, {s.n_presentations} presentations, "
              f"{s.n_units * s.n_presentations} spike cells, {s.spike_times.size} spikes, "
              f"{mat.stat().st_size / 1e6:.0f} MB (written in {written:.0f} s)")
        nwb = next((Path(tmp) / "out").rglob("*.nwb"))
        print(f"mat73.loadmat : {m73['seconds']:7.1f} s   peak {m73['peak_mb']:6.0f} MB")
        print(f"nwb-it convert: {conv['seconds']:7.1f} s   peak {conv['peak_mb']:6.0f} MB   "
              f"(NWB file {nwb.stat().st_size / 1e6:.0f} MB)")
        print(f"nwb-it convert, one reader: {one['seconds']:7.1f} s   peak {one['peak_mb']:6.0f} MB")
        print(f"ratio convert / mat73.loadmat = {conv['seconds'] / m73['seconds']:.3f}  (goal <= 0.12; "
              f"{usable_cores()} cores); one reader: {one['seconds'] / m73['seconds']:.3f}")


if __name__ == "__main__":
    main()
