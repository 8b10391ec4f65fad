"""A tiny run of the benchmark script, so `make bench` cannot rot (no timing is asserted)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
KEYS = {"name", "median_s", "min_s", "max_s", "peak_rss_mb", "reference", "reference_median_s", "ratio", "target", "met"}


def test_bench_smoke_run_writes_every_figure_with_its_reference(tmp_path: Path) -> None:
    results = tmp_path / "results.json"
    completed = subprocess.run([sys.executable, str(ROOT / "bench" / "run.py"), "--smoke", "--results", str(results)],
                               capture_output=True, text=True, timeout=600, check=False)
    assert completed.returncode == 0, completed.stderr
    data = json.loads(results.read_text())
    assert {"platform", "python", "cpus"} <= set(data["machine"])
    names = [row["name"] for row in data["figures"]]
    for expected in ("reviewpub --help", "audio cold (book, jobs 1)", "audio warm, nothing changed (book)",
                     "audio, one sentence edited (book)", "peak RSS audio (book vs half book)", "epub (book)"):
        assert expected in names
    for row in data["figures"]:
        assert KEYS <= set(row)
        assert row["median_s"] > 0 and row["min_s"] <= row["median_s"] <= row["max_s"]
        if not row["reference"].startswith("pandoc: not installed"):
            assert row["reference_median_s"] and row["ratio"], row
    assert "ratio" in completed.stdout and "raw espeak+ffmpeg" in completed.stdout
