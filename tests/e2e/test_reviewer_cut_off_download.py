"""A reply the connection drops part way through is said as such, in English and Urdu, in real Chromium.

A server whose database fails mid-export drops the connection after the headers and the first bytes
(tests/test_exports.py::test_an_export_cut_off_by_a_failure_never_ends_as_if_complete); a slow link
runs past the request's time limit. The server took the request in both cases: the reviewer is told the
download (or the reply) was cut off and nothing was saved, never the browser's "Failed to fetch" nor
"the server did not accept this". A small TCP proxy between Chromium and the live server cuts the
replies to the requests a test names.
"""

from __future__ import annotations

import socket
import threading
from typing import Any
from urllib.parse import urlparse

import pytest

from tests.e2e.test_pwa_support import live_pwa_server, watch_errors
from tests.e2e.test_reviewer_support import LAPTOP, inspector_setup, sign_in_reviewer, submit

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]

BODY_BYTES = 64  # of a cut reply's body passed on before the connection is dropped

DOWNLOAD_CUT = {
    "en": "The download was cut off before it finished; nothing was saved. Try again.",
    "ur": "ڈاؤن لوڈ مکمل ہونے سے پہلے ہی منقطع ہو گیا؛ کچھ محفوظ نہیں ہوا۔ دوبارہ کوشش کریں۔",
}
REPLY_CUT = {
    "en": "The connection broke before the server’s reply arrived in full. Try again.",
    "ur": "سرور کا جواب پورا پہنچنے سے پہلے رابطہ ٹوٹ گیا۔ دوبارہ کوشش کریں۔",
}
PDF_BUTTON = {"en": "Report PDF (English)", "ur": "رپورٹ پی ڈی ایف (اردو)"}


class CuttingProxy:
    """Passes every connection through to the server, except the reply to a request whose path starts
    with one of `cutting`: its headers and first BODY_BYTES bytes pass, then the connection is dropped."""

    def __init__(self, target: str):
        parsed = urlparse(target)
        self.target = (parsed.hostname, parsed.port)
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self.cutting: tuple[str, ...] = ()
        self.cut: list[str] = []  # the paths whose replies were cut, in order
        threading.Thread(target=self._accept, daemon=True).start()

    def _accept(self) -> None:
        while True:
            try:
                client, _ = self.sock.accept()
            except OSError:
                return
            threading.Thread(target=self._serve, args=(client,), daemon=True).start()

    def _serve(self, client: socket.socket) -> None:
        upstream = socket.create_connection(self.target)
        # The request whose reply is flowing now (Chromium sends one at a time on a connection).
        state: dict[str, Any] = {"path": None, "head": b"", "body": 0}

        def up() -> None:
            try:
                while data := client.recv(65536):
                    line = data.split(b"\r\n", 1)[0].split(b" ")
                    if len(line) == 3 and line[2].startswith(b"HTTP/"):
                        path = line[1].decode()
                        state.update(path=path if path.startswith(self.cutting) else None)
                        state.update(head=b"", body=0)
                    upstream.sendall(data)
            except OSError:
                pass

        threading.Thread(target=up, daemon=True).start()
        try:
            while data := upstream.recv(65536):
                if state["path"] is None:
                    client.sendall(data)
                    continue
                if b"\r\n\r\n" not in state["head"]:
                    state["head"] += data
                    end = state["head"].find(b"\r\n\r\n")
                    if end < 0:
                        client.sendall(data)
                        continue
                    body = state["head"][end + 4 :]
                    client.sendall(data[: len(data) - len(body)])
                    data = body
                room = BODY_BYTES - state["body"]
                client.sendall(data[:room])
                state["body"] += min(room, len(data))
                if state["body"] >= BODY_BYTES:
                    self.cut.append(state["path"])
                    break
        except OSError:
            pass
        finally:
            for s in (client, upstream):
                try:
                    s.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                s.close()

    def close(self) -> None:
        self.sock.close()


@pytest.fixture(scope="module")
def pwa_server(pg_admin_url, demo_template_db, tmp_path_factory):
    yield from live_pwa_server(pg_admin_url, demo_template_db, tmp_path_factory.mktemp("reviewer-cut-off"))


@pytest.fixture(scope="module")
def inspection(pwa_server):
    """A submitted inspection in the Lahore regional officer's queue (so the queue's reply has a body
    longer than what the proxy passes)."""
    token, stations, version = inspector_setup(pwa_server)
    return submit(pwa_server, token, stations[3], version, seed=31)


@pytest.fixture
def desk(pwa_server, browser):
    """(page, proxy, downloads, page errors): the regional officer signed in through the proxy."""
    proxy = CuttingProxy(pwa_server.url)
    context = browser.new_context(viewport=LAPTOP, accept_downloads=True)
    page = context.new_page()
    errors = watch_errors(page)
    downloads: list[Any] = []
    page.on("download", lambda d: downloads.append(d))
    sign_in_reviewer(page, proxy.url)
    yield page, proxy, downloads, errors
    context.close()
    proxy.close()


def in_urdu(page) -> None:
    page.evaluate("import('/js/i18n.js').then((m) => m.setLang('ur'))")
    page.reload()
    page.wait_for_selector("html[lang=ur]")


def export_form(page, base: str):
    page.goto(base + "/#/review/dashboard")
    form = page.locator(".rv-export")
    form.locator("summary").click()
    return form


def test_a_cut_off_export_says_the_download_broke_and_saves_nothing_in_english_and_urdu(desk, inspection):
    page, proxy, downloads, errors = desk
    proxy.cutting = ("/api/v1/exports/",)
    said = {}
    for lang in ("en", "ur"):
        if lang == "ur":
            in_urdu(page)
        form = export_form(page, proxy.url)
        form.locator(".rv-exp-csv").click()
        alert = form.locator("[role=alert] .callout-fail")
        alert.wait_for()
        said[lang] = alert.inner_text().strip()
    assert [p.split("?")[0] for p in proxy.cut] == ["/api/v1/exports/inspections.csv"] * 2
    assert said == DOWNLOAD_CUT
    assert downloads == []  # no half a file
    # Tried again on a connection that holds, the whole file comes, and the message goes.
    proxy.cutting = ()
    with page.expect_download() as got:
        form.locator(".rv-exp-csv").click()
    assert got.value.suggested_filename.endswith(".csv")
    assert form.locator("[role=alert] .callout-fail").count() == 0
    assert errors == []


def test_a_cut_off_pdf_report_says_the_download_broke_in_english_and_urdu(desk, inspection):
    page, proxy, downloads, errors = desk
    proxy.cutting = (f"/api/v1/inspections/{inspection['id']}/report.pdf",)
    said = {}
    for lang in ("en", "ur"):
        if lang == "ur":
            in_urdu(page)
        page.goto(proxy.url + f"/#/review/i/{inspection['id']}")
        page.get_by_role("button", name=PDF_BUTTON[lang]).click()
        toast = page.locator(".toast-error").last
        toast.wait_for()
        said[lang] = toast.inner_text().strip()
    assert len(proxy.cut) == 2
    assert said == DOWNLOAD_CUT
    assert downloads == []
    assert errors == []


def test_a_reply_cut_off_mid_json_is_no_refusal_in_english_or_urdu(desk, inspection):
    page, proxy, downloads, errors = desk
    proxy.cutting = ("/api/v1/review/queue",)
    said = {}
    for lang in ("en", "ur"):
        if lang == "ur":
            page.evaluate("import('/js/i18n.js').then((m) => m.setLang('ur'))")
        page.reload()
        alert = page.locator("#main [role=alert].callout-fail")
        alert.wait_for()
        said[lang] = alert.inner_text().strip()
    assert said == REPLY_CUT
    # Failed as no network fails (status 0, worth retrying): what the outbox sends again later by.
    failure = page.evaluate(
        "import('/js/api.js').then((m) => m.api.reviewer.queue({}).then(() => null,"
        " (e) => ({ api: e instanceof m.ApiError, status: e.status, transient: e.transient, cutOff: e.cutOff })))"
    )
    assert failure == {"api": True, "status": 0, "transient": True, "cutOff": "reply"}
    assert proxy.cut and all(p.startswith("/api/v1/review/queue") for p in proxy.cut)
    # The queue as it is, once the connection holds.
    proxy.cutting = ()
    page.reload()
    page.locator(f".rv-queue [data-id='{inspection['id']}']").wait_for()
    assert errors == []
