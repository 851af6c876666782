"""`make bench`: run every benchmark script in turn and keep their reports side by side.

Each bench_*.py measures our path and its baseline in the same run and prints ratios; none of them
asserts a time. Their output is also written to test-artifacts/bench/ for the record.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent.parent
OUT = ROOT / "test-artifacts" / "bench"


def main(names: list[str]) -> int:
    OUT.mkdir(parents=True, exist_ok=True)
    scripts = sorted(HERE.glob("bench_*.py"))
    if names:
        scripts = [s for s in scripts if any(n in s.stem for n in names)]
    failed = []
    for script in scripts:
        print(f"\n=== {script.stem} ===", flush=True)
        started = time.monotonic()
        result = subprocess.run([sys.executable, str(script)], cwd=ROOT, capture_output=True, text=True)
        output = result.stdout + (result.stderr if result.returncode else "")
        print(output, flush=True)
        (OUT / f"{script.stem}.txt").write_text(output)
        print(f"--- {script.stem}: exit {result.returncode} in {time.monotonic() - started:.0f}s", flush=True)
        if result.returncode:
            failed.append(script.stem)
    if failed:
        print(f"\nbenchmarks that failed to run: {', '.join(failed)}")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
