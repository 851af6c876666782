"""Photo pipeline benchmark: CPU and peak memory per 12 MP phone JPEG, as ratios to bare Pillow.

Run as `python tests/benchmarks/bench_photos.py [--rounds N]`. The baseline is the least any
photo feature costs: Pillow opens the JPEG, makes a 320 px thumbnail and saves it. Both sides
are timed in the same run, interleaved photo by photo so that a busy machine slows both alike,
and the median of the per-round ratios is reported. Memory is measured in a fresh interpreter
per side, so neither inherits the other's heap. The script reports and always exits 0;
DESIGN.md section 10 holds the targets (CPU ratio <= 2.5, peak RSS <= 40 MB per photo).
"""

from __future__ import annotations

import argparse
import io
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from PIL import Image  # noqa: E402

from server.photos.pipeline import process  # noqa: E402
from tests.photo_corpus import make_phone_jpeg  # noqa: E402

CPU_TARGET = 2.5
RSS_TARGET_MB = 40.0


def baseline(data: bytes) -> bytes:
    with Image.open(io.BytesIO(data)) as img:
        img.thumbnail((320, 320))
        out = io.BytesIO()
        img.save(out, "JPEG")
    return out.getvalue()


def pipeline(data: bytes) -> bytes:
    return process(data).display


SIDES = {"baseline": baseline, "process": pipeline}


def phone_photos() -> list[bytes]:
    # Three shots as a phone takes them: held level, held upright (orientation 6), and with
    # the capture time and position an inspector's phone writes.
    lahore = timezone(timedelta(hours=5))
    return [
        make_phone_jpeg(seed=1),
        make_phone_jpeg(seed=2, exif_orientation=6),
        make_phone_jpeg(seed=3, gps=(31.5204, 74.3587, 217.0), taken_at=datetime(2026, 11, 27, 9, 15, tzinfo=lahore)),
    ]


def cpu_ms(photos: list[bytes], rounds: int) -> tuple[float, float, float]:
    for data in photos:
        baseline(data)
        pipeline(data)
    spent = {name: [] for name in SIDES}
    for _ in range(rounds):
        totals = dict.fromkeys(SIDES, 0.0)
        for data in photos:
            for name, side in SIDES.items():
                start = time.process_time()
                side(data)
                totals[name] += time.process_time() - start
        for name in SIDES:
            spent[name].append(totals[name] * 1000 / len(photos))
    ratio = statistics.median(p / b for p, b in zip(spent["process"], spent["baseline"], strict=True))
    return statistics.median(spent["baseline"]), statistics.median(spent["process"]), ratio


def peak_kib() -> int:
    # VmHWM is the resident high-water mark of this process, in kB, exactly what a container's
    # memory limit sees; ru_maxrss says the same on Linux and is the fallback elsewhere.
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1])
    except OSError:
        pass
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss


def child(side: str, path: str) -> None:
    data = Path(path).read_bytes()
    # A small photo first loads every plugin and code path, so the growth measured next is the
    # photo's own working memory and not one-time start-up. The upload's bytes are already in
    # memory (the route has read them), so they are not counted again.
    warm = io.BytesIO()
    Image.new("RGB", (64, 48), (90, 120, 150)).save(warm, "JPEG")
    SIDES[side](warm.getvalue())
    before = peak_kib()
    SIDES[side](data)
    print(peak_kib() - before)


def rss_mb(side: str, path: str) -> float:
    out = subprocess.run(
        [sys.executable, __file__, "--child", side, path], check=True, capture_output=True, text=True
    ).stdout
    return int(out.strip()) / 1024


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=7)
    parser.add_argument("--child", nargs=2, metavar=("SIDE", "PATH"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(*args.child)
        return
    photos = phone_photos()
    sizes = ", ".join(f"{len(data) / 1e6:.1f}" for data in photos)
    print(f"photos: {len(photos)} x 12 MP phone JPEG ({sizes} MB), {args.rounds} rounds")
    base_ms, ours_ms, ratio = cpu_ms(photos, args.rounds)
    with tempfile.TemporaryDirectory() as tmp:
        rss = {}
        for name in SIDES:
            runs = []
            for index, data in enumerate(photos):
                path = Path(tmp, f"{index}.jpg")
                path.write_bytes(data)
                runs.append(rss_mb(name, str(path)))
            rss[name] = max(runs)
    print()
    print(f"{'side':<10} {'CPU ms/photo':>13} {'peak RSS growth MB':>19}")
    print(f"{'baseline':<10} {base_ms:>13.1f} {rss['baseline']:>19.1f}")
    print(f"{'process':<10} {ours_ms:>13.1f} {rss['process']:>19.1f}")
    print()
    print(f"{'measure':<28} {'value':>7} {'target':>8}  verdict")
    verdict = "meets" if ratio <= CPU_TARGET else "MISSES"
    print(f"{'CPU ratio process/baseline':<28} {ratio:>7.2f} {'<= ' + str(CPU_TARGET):>8}  {verdict}")
    verdict = "meets" if rss["process"] <= RSS_TARGET_MB else "MISSES"
    print(f"{'peak RSS MB per photo':<28} {rss['process']:>7.1f} {'<= ' + str(RSS_TARGET_MB):>8}  {verdict}")


if __name__ == "__main__":
    main()
