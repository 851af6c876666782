"""Every `make bench` script still runs to its report, at a toy size.

The benchmarks are not part of the suite (they take minutes and measure, they do not check), so a
change to the code they drive could break one unnoticed until the next `make bench`; one did (a
helper it called was removed), and another needed a package only one machine had installed. Each script runs here as `make bench` runs it, in a child process,
with arguments that make it small, and must exit 0 and print the line its report ends with. The
figures of so small a run mean nothing and are not looked at, except the dashboard benchmark's own
check that the rollups equal the aggregation over answers.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from tests.conftest import CHROMIUM, require_or_skip

ROOT = Path(__file__).resolve().parents[1]
BENCH = ROOT / "tests" / "benchmarks"

# script, arguments for a toy run, text its report must contain, whether it drives Chromium
RUNS = [
    (
        "bench_dashboard.py",
        ["--inspections", "1000", "--answer-budget", "3", "--runs", "5"],
        "rollup figures equal the direct aggregation over answers: True",
        False,
    ),
    ("bench_sync.py", ["--seconds", "0.4", "--rounds", "1", "--clients", "2"], "(b) replay p99", False),
    ("bench_photos.py", ["--rounds", "1"], "peak RSS MB per photo", False),
    ("bench_export.py", ["--inspections", "200", "--items", "10"], "ratio export time / bare read", False),
    (
        "bench_report.py",
        ["--sections", "1", "--items", "2", "--note-chars", "300", "--photos", "1", "--comments", "1"],
        "ratio report / bare",
        False,
    ),
    ("bench_asgi.py", ["--duration", "1", "--rounds", "1", "--no-shutdown-check"], "PUT /submission", False),
    ("bench_builder.py", ["--rounds", "1"], "targets:", True),
    ("bench_pwa.py", ["--rounds", "1"], "cold offline start to usable form", True),
]


def test_every_benchmark_script_is_run_here() -> None:
    assert sorted(p.name for p in BENCH.glob("bench_*.py")) == sorted(name for name, *_ in RUNS)


@pytest.mark.parametrize(("script", "args", "report", "browser"), RUNS, ids=[r[0] for r in RUNS])
def test_benchmark_script_runs_to_its_report(script: str, args: list[str], report: str, browser: bool) -> None:
    if browser and not Path(CHROMIUM).exists():
        require_or_skip(f"{CHROMIUM} is not installed (apt-get install chromium)")
    result = subprocess.run(
        [sys.executable, str(BENCH / script), *args], cwd=ROOT, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, (
        f"{script} exited {result.returncode}:\n{result.stdout[-3000:]}\n{result.stderr[-3000:]}"
    )
    assert report in result.stdout, f"{script} did not print {report!r}:\n{result.stdout[-3000:]}"
