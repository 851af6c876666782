"""PWA benchmark: the shell's gzipped size, and a cold offline start to a usable form.

Run as `python tests/benchmarks/bench_pwa.py [--rounds N]`. Prints figures and always exits 0;
DESIGN.md §10 holds the targets (app shell + code ≤ 150 KB gzipped without fonts; cold offline
start to a usable form ≤ 1 s in headless Chromium).

Size: every file the service worker precaches, each gzipped at level 9 as a server would send it,
grouped into code (HTML, CSS, JS, manifest, sw.js), icons and fonts.

Cold start: the PWA is served exactly as the app serves it (same precache header on sw.js), a
phone-sized Chromium profile signs in once and holds a draft of the demo template; then, for
each round, a NEW browser process is started on that profile with the network off and opens the
draft. The time reported is from navigation start to the first answer button being on screen,
read from the page's own clock (performance.now()).
"""

from __future__ import annotations

import argparse
import functools
import gzip
import http.server
import re
import shutil
import statistics
import sys
import tempfile
import threading
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from server.app import PWA_DIR, pwa_manifest, service_worker_source  # noqa: E402
from server.demo.content import load_hierarchy, load_template  # noqa: E402
from tests.conftest import wait_in_page  # noqa: E402

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SIZE_TARGET_KB = 150
START_TARGET_MS = 1000


def sizes() -> dict[str, tuple[int, int, int]]:
    """Group -> (files, raw bytes, gzipped bytes): the precached shell, and the reviewer/admin screens
    ("role") that are cached only when a reviewer or admin first opens them."""
    manifest = pwa_manifest()
    groups: dict[str, list[int]] = {"code": [0, 0, 0], "icons": [0, 0, 0], "fonts": [0, 0, 0], "role": [0, 0, 0]}
    lazy = set(manifest.lazy)
    for url in [*manifest.files, *manifest.lazy, "/sw.js"]:
        if url == "/":
            continue
        data = (PWA_DIR / url.lstrip("/")).read_bytes()
        group = (
            "role"
            if url in lazy
            else "fonts"
            if url.startswith("/fonts/")
            else "icons"
            if url.startswith("/icons/")
            else "code"
        )
        g = groups[group]
        g[0] += 1
        g[1] += len(data)
        g[2] += len(gzip.compress(data, 9))
    return {k: (v[0], v[1], v[2]) for k, v in groups.items()}


STATIC_IMPORT = re.compile(r"""^\s*(?:import|export)\s+(?:[^'";]*?\sfrom\s+)?['"]([^'"]+)['"]""", re.M)


def start_graph() -> tuple[int, int, int]:
    """(files, raw, gzipped) of what a phone parses to start: the page, its CSS, the manifest, sw.js
    and every module reachable from app.js and sw.js by static imports. Screens registered with a
    lazy `load` (another role's console) are not in it."""
    seen: set[Path] = set()
    todo = [PWA_DIR / "js/app.js", PWA_DIR / "sw.js"]
    while todo:
        path = todo.pop().resolve()
        if path in seen or not path.exists():
            continue
        seen.add(path)
        for spec in STATIC_IMPORT.findall(path.read_text(encoding="utf-8")):
            if spec.startswith("."):
                todo.append(path.parent / spec)
    files = [*seen, PWA_DIR / "index.html", PWA_DIR / "css/app.css", PWA_DIR / "manifest.webmanifest"]
    data = [f.read_bytes() for f in files]
    return len(files), sum(map(len, data)), sum(len(gzip.compress(d, 9)) for d in data)


class Handler(http.server.SimpleHTTPRequestHandler):
    """Static files as the app serves them: sw.js with its precache header, JS as text/javascript."""

    extensions_map = {
        **http.server.SimpleHTTPRequestHandler.extensions_map,
        ".js": "text/javascript",
        ".webmanifest": "application/manifest+json",
        ".woff2": "font/woff2",
    }

    def log_message(self, *args):  # quiet
        pass

    def do_GET(self):
        if self.path.split("?")[0] == "/sw.js":
            body = service_worker_source().encode()
            self.send_response(200)
            self.send_header("Content-Type", "text/javascript")
            self.send_header("Cache-Control", "no-cache")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)
            return
        super().do_GET()


def serve() -> tuple[http.server.ThreadingHTTPServer, str]:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Handler, directory=str(PWA_DIR)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server, f"http://127.0.0.1:{server.server_address[1]}"


def demo_bundle() -> dict:
    """The offline bundle as the phone stores it: the demo template and every demo station."""
    stations = {}
    for region in load_hierarchy()["regions"]:
        for district in region["districts"]:
            for circle in district["circles"]:
                for st in circle["stations"]:
                    sid = f"st-{st['code']}"
                    stations[sid] = {"id": sid, "district_id": district["code"], **st}
    version = {"id": "tv-sips-1", "template_id": "t-sips", "version": 1, "definition": load_template("sips")}
    return {
        "templates": {version["id"]: version},
        "stations": stations,
        "assignments": {},
        "actions": {},
        "cursor": "bench",
        "etag": None,
        "fetched_at": "2026-11-27T08:00:00Z",
    }


SEED = """async ([bundle, stationId]) => {
    const db = await import('/js/db.js');
    await db.kv.set('token', 'bench-token');
    await db.kv.set('user', {id: 'u-bench', username: 'inspector.bench', display_name: 'Bench', role: 'inspector',
                             region_ids: [], district_ids: []});
    await db.kv.set('bundle', bundle);
    const draft = {id: 'd-bench', station_id: stationId, template_version_id: 'tv-sips-1', template_id: 't-sips',
                   base_revision: 0, status: 'draft', sync: 'local', started_at: new Date().toISOString(),
                   finished_at: null, location: null, answers: {}, updated_at: new Date().toISOString()};
    await db.put('drafts', draft);
}"""


def cold_start(url: str, rounds: int) -> list[float]:
    from playwright.sync_api import sync_playwright

    profile = Path(tempfile.mkdtemp(prefix="muaina-bench-"))
    bundle = demo_bundle()
    station_id = next(iter(bundle["stations"]))
    times: list[float] = []
    try:
        with sync_playwright() as p:

            def launch():
                return p.chromium.launch_persistent_context(
                    str(profile),
                    executable_path=CHROMIUM,
                    args=ARGS,
                    headless=True,
                    viewport={"width": 360, "height": 640},
                    service_workers="allow",
                )

            ctx = launch()
            page = ctx.new_page()
            page.goto(url + "/")
            wait_in_page(page, "navigator.serviceWorker.controller !== null")
            page.evaluate(SEED, [bundle, station_id])
            page.close()
            page = ctx.new_page()  # the app reads the seeded session at start-up
            page.goto(url + "/#/i/d-bench/s/0")
            page.wait_for_selector(".item button[aria-pressed]")
            ctx.close()
            for _ in range(rounds):
                ctx = launch()
                ctx.set_offline(True)
                page = ctx.pages[0] if ctx.pages else ctx.new_page()
                page.goto(url + "/#/i/d-bench/s/0")
                page.wait_for_selector(".item button[aria-pressed]")
                times.append(page.evaluate("performance.now()"))
                assert page.evaluate("navigator.onLine") is False
                ctx.close()
    finally:
        shutil.rmtree(profile, ignore_errors=True)
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()

    print("PWA size (gzip -9); 'role' = reviewer/admin screens, cached on first use, not precached")
    total = sizes()
    for group, (n, raw, gz) in total.items():
        print(f"  {group:6s} {n:3d} files  {raw / 1024:8.1f} KB raw  {gz / 1024:8.1f} KB gzipped")
    code_kb = total["code"][2] / 1024
    shell_kb = (total["code"][2] + total["icons"][2]) / 1024
    print(
        f"  app shell + code (no fonts): {shell_kb:.1f} KB gzipped (code alone {code_kb:.1f} KB); "
        f"target <= {SIZE_TARGET_KB} KB: {'met' if shell_kb <= SIZE_TARGET_KB else 'NOT met'}"
    )
    print(f"  all code incl. reviewer/admin screens: {(shell_kb * 1024 + total['role'][2]) / 1024:.1f} KB gzipped")

    n, raw, gz = start_graph()
    print(
        f"  what a phone parses to start (page, app.css, manifest, sw.js, statically imported modules): "
        f"{n} files, {raw / 1024:.1f} KB raw, {gz / 1024:.1f} KB gzipped"
    )

    if not Path(CHROMIUM).exists():
        print(f"cold offline start: skipped, {CHROMIUM} is not installed")
        return
    server, url = serve()
    try:
        times = cold_start(url, args.rounds)
    finally:
        server.shutdown()
    med = statistics.median(times)
    print(
        f"cold offline start to usable form (new Chromium process, network off, {len(times)} rounds): "
        f"median {med:.0f} ms, min {min(times):.0f} ms, max {max(times):.0f} ms; "
        f"target <= {START_TARGET_MS} ms: {'met' if med <= START_TARGET_MS else 'NOT met'}"
    )


if __name__ == "__main__":
    main()
