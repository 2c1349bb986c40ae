"""nwb-it summary: one CSV row per session (and per compared model layer), figures, the overwrite rule."""
from __future__ import annotations

import csv
import shutil

from nwb_it.cli import main


def test_summary_across_sessions(small_nwb, tmp_path, capsys):
    folder = tmp_path / "dandiset"
    for name in ("a", "b"):
        (folder / name).mkdir(parents=True)
        shutil.copy(small_nwb, folder / name / small_nwb.name)
    assert main(["reliability", str(folder / "a" / small_nwb.name), "--n-perm", "10"]) == 0
    (folder / "b" / f".{small_nwb.stem}.nwb_it-1-x.tmp.nwb").write_bytes(b"partial")    # skipped
    out = tmp_path / "summary"
    assert main(["summary", str(folder), "-o", str(out)]) == 0
    with open(out / "summary.csv", newline="") as fh:
        rows = list(csv.DictReader(fh))
    assert [r["file"].split("/")[-2] for r in rows] == ["a", "b"]
    assert rows[0]["units"] == "6" and rows[0]["responsive"] != "" and rows[1]["responsive"] == ""
    assert (out / "responsive_units.png").stat().st_size > 0 and (out / "scores_by_layer.png").is_file()
    capsys.readouterr()
    assert main(["summary", str(folder), "-o", str(out)]) == 2 and "--overwrite" in capsys.readouterr().err
