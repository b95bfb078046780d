"""The HTML digest as a reader's browser shows it: Debian's headless Chromium, driven over the
DevTools protocol (a websocket on 127.0.0.1; no driver, no browser download).

Chromium loads only the local file: background networking, sync and component updates are
off, and the test fails on any request that is not file: or data:. Screenshots are kept
outside the repository, in $KRATOM_WATCH_SCREENSHOTS or else <temp>/kratom-watch-screenshots
(digest-1200.png on a desktop, digest-375.png as a phone sees it; the archive and
the evidence page likewise, from tests/test_evidence.py), for a person to look at.
"""

from __future__ import annotations

import base64
import itertools
import json
import os
import shutil
import subprocess
import tempfile
import time
from datetime import date
from pathlib import Path

import pytest
from websockets.sync.client import connect

from flows.digest import PaperUpdate, build_digest
from flows.render import render_digest
from tests.factories import SINCE, UNTIL, hostile_paper, paper

pytestmark = pytest.mark.slow

OUTPUT = Path(
    os.environ.get("KRATOM_WATCH_SCREENSHOTS")
    or Path(tempfile.gettempdir()) / "kratom-watch-screenshots"
)
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


@pytest.fixture(scope="module")
def chromium(tmp_path_factory):
    if CHROMIUM is None:
        reason = (
            "Debian's chromium is not installed (.ci/run installs it: apt-get install chromium)"
        )
        if os.environ.get("CI"):
            pytest.fail(reason)
        pytest.skip(reason)
    profile = tmp_path_factory.mktemp("chromium-profile")
    process = subprocess.Popen(
        [
            CHROMIUM,
            "--headless",
            "--no-sandbox",  # CI runs as root
            "--disable-gpu",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-default-apps",
            "--disable-extensions",
            "--no-first-run",
            "--no-default-browser-check",
            "--metrics-recording-only",
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        yield Browser(_websocket_url(profile, process))
    finally:
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def _websocket_url(profile: Path, process: subprocess.Popen) -> str:
    """Chromium writes its chosen port and browser target path to DevToolsActivePort."""
    port_file = profile / "DevToolsActivePort"
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"chromium exited with status {process.returncode}")
        if port_file.exists():
            lines = port_file.read_text().split()
            if len(lines) == 2:
                return f"ws://127.0.0.1:{lines[0]}{lines[1]}"
        time.sleep(0.05)
    raise RuntimeError("chromium did not open its DevTools port within 30 s")


class Browser:
    """Just enough of the DevTools protocol: one page, its events, evaluate, screenshot."""

    def __init__(self, url: str) -> None:
        self.url = url

    def open(self, page: Path, width: int) -> Visit:
        return Visit(self.url, page, width)


class Visit:
    def __init__(self, url: str, page: Path, width: int) -> None:
        self.ws = connect(url, max_size=None, open_timeout=10)
        self.ids = itertools.count(1)
        self.events: list[dict] = []
        target = self.call("Target.createTarget", url="about:blank")["targetId"]
        self.session = self.call("Target.attachToTarget", targetId=target, flatten=True)[
            "sessionId"
        ]
        for domain in ("Page", "Runtime", "Log", "Network"):
            self.call(f"{domain}.enable", session=True)
        self.call(
            "Emulation.setDeviceMetricsOverride",
            session=True,
            width=width,
            height=800,
            deviceScaleFactor=1,
            mobile=width < 600,
        )
        self.call("Page.navigate", session=True, url=page.as_uri())
        self.wait_for("Page.loadEventFired")
        # The load event could still be about:blank's; wait until the page itself is complete.
        deadline = time.monotonic() + 20
        while self.evaluate("location.href + ' ' + document.readyState") != (
            f"{page.as_uri()} complete"
        ):
            if time.monotonic() > deadline:
                raise RuntimeError(f"{page} did not finish loading")
            time.sleep(0.05)

    def call(self, method: str, session: bool = False, timeout: float = 20, **params) -> dict:
        message = {"id": next(self.ids), "method": method, "params": params}
        if session:
            message["sessionId"] = self.session
        self.ws.send(json.dumps(message))
        deadline = time.monotonic() + timeout
        while True:
            reply = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            if reply.get("id") == message["id"]:
                if "error" in reply:
                    raise RuntimeError(f"{method}: {reply['error']}")
                return reply["result"]
            self._event(reply)

    def wait_for(self, method: str, timeout: float = 20) -> dict:
        deadline = time.monotonic() + timeout
        while True:
            event = json.loads(self.ws.recv(timeout=max(0.1, deadline - time.monotonic())))
            self._event(event)
            if event.get("method") == method:
                return event

    def _event(self, event: dict) -> None:
        if "method" not in event:
            return
        self.events.append(event)
        if event["method"] == "Page.javascriptDialogOpening":
            # A dialog would block the page; close it, the test fails on the event anyway.
            self.ws.send(
                json.dumps(
                    {
                        "id": next(self.ids),
                        "sessionId": self.session,
                        "method": "Page.handleJavaScriptDialog",
                        "params": {"accept": False},
                    }
                )
            )

    def evaluate(self, expression: str):
        result = self.call(
            "Runtime.evaluate", session=True, expression=expression, returnByValue=True
        )
        if "exceptionDetails" in result:
            raise RuntimeError(f"evaluate failed: {result['exceptionDetails']}")
        return result["result"].get("value")

    def screenshot(self, path: Path) -> None:
        data = self.call(
            "Page.captureScreenshot", session=True, format="png", captureBeyondViewport=True
        )["data"]
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(base64.b64decode(data))

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions, dialogs and requests that left the file."""
        found = []
        for event in self.events:
            method, params = event["method"], event.get("params", {})
            if method == "Runtime.consoleAPICalled" and params["type"] in ("error", "assert"):
                found.append(f"console.{params['type']}: {params['args']}")
            elif method == "Runtime.exceptionThrown":
                found.append(f"exception: {params['exceptionDetails'].get('text')}")
            elif method == "Log.entryAdded" and params["entry"]["level"] == "error":
                found.append(f"log: {params['entry'].get('text')}")
            elif method == "Page.javascriptDialogOpening":
                found.append(f"dialog: {params.get('message')}")
            elif method == "Network.requestWillBeSent":
                url = params["request"]["url"]
                if not url.startswith(("file:", "data:")):
                    found.append(f"request: {url}")
        return found

    def close(self) -> None:
        self.ws.close()


@pytest.fixture(scope="module")
def report(tmp_path_factory) -> tuple[Path, list]:
    papers = [
        paper("41001", "systematic_review", title="A systematic review of <i>kratom</i> and mood"),
        paper("41002", "rct", authors=["Ahn K", "Bo L", "Cruz M", "Diaz N"]),
        paper(
            "41003",
            "cross_sectional",
            doi="10.1016/j.drugalcdep.2026.112233(very)-long-suffix-for-narrow-screens",
            abstract=[],
        ),
        hostile_paper(),
        paper("41005", "animal", relevant=False, evidence=["respiratory depression in rats"]),
        paper("41006", "case_report", relevant=False),
    ]
    updates = [
        PaperUpdate(paper("39000", "narrative_review"), "retracted", "Retraction in: Addiction"),
        PaperUpdate(paper("39001"), "relabelled", "narrative review → systematic review"),
    ]
    folder = tmp_path_factory.mktemp("reports")
    paths = render_digest(build_digest(papers, SINCE, UNTIL, updates), folder)
    return paths[0], papers


def test_digest_renders_in_chromium_with_every_link_and_no_errors(chromium, report):
    html_path, papers = report
    visit = chromium.open(html_path, width=1200)
    try:
        hrefs = visit.evaluate("[...document.querySelectorAll('a[href]')].map(a => a.href)")
        text = visit.evaluate("document.body.innerText")
        facts = visit.evaluate(
            "({scripts: document.scripts.length, images: document.images.length,"
            " styles: document.querySelectorAll('style, link').length,"
            " column: document.querySelector('body > div').getBoundingClientRect().width,"
            " firstSection: document.querySelector('h2').textContent,"
            " italic: document.querySelector('.title i') !== null})"
        )
        visit.screenshot(OUTPUT / "digest-1200.png")
        problems = visit.problems()
    finally:
        visit.close()

    assert problems == []
    for p in papers:
        assert f"https://pubmed.ncbi.nlm.nih.gov/{p.pmid}/" in hrefs
    # PubMed, doi.org, and the archive's pages beside the digest.
    beside = {(html_path.parent / name).as_uri() for name in ("evidence.html", "index.html")}
    outside = [h for h in hrefs if not h.startswith(("https://pubmed.", "https://doi.org/10."))]
    assert set(outside) == beside
    assert "<script>alert(1)</script>" in text  # shown, not run
    assert facts == {
        "scripts": 0,
        "images": 1,  # the chart beside it
        "styles": 0,  # everything inlined
        "column": 640,
        "firstSection": "Updates to papers from earlier digests (2)",
        "italic": True,
    }


def test_digest_fits_a_phone_screen(chromium, report):
    html_path, _ = report
    visit = chromium.open(html_path, width=375)
    try:
        widths = visit.evaluate(
            "({page: document.documentElement.scrollWidth, view: window.innerWidth})"
        )
        visit.screenshot(OUTPUT / "digest-375.png")
        problems = visit.problems()
    finally:
        visit.close()

    assert problems == []
    assert widths == {"page": 375, "view": 375}  # no sideways scrolling


def test_quiet_week_in_chromium(chromium, tmp_path):
    html_path = render_digest(build_digest([], date(2026, 11, 9), date(2026, 11, 15)), tmp_path)[0]
    visit = chromium.open(html_path, width=800)
    try:
        text = visit.evaluate("document.body.innerText")
        problems = visit.problems()
    finally:
        visit.close()
    assert problems == []
    assert "No new papers this week:" in text


def test_archive_index_shows_the_chart(chromium, report):
    html_path, _ = report
    visit = chromium.open(html_path.parent / "index.html", width=800)
    try:
        chart = visit.evaluate(
            "(() => { const img = document.querySelector('img');"
            " return {loaded: img.complete, width: img.naturalWidth}; })()"
        )
        links = visit.evaluate("[...document.querySelectorAll('a')].map(a => a.textContent)")
        visit.screenshot(OUTPUT / "index.png")
        problems = visit.problems()
    finally:
        visit.close()
    assert problems == []
    assert chart == {"loaded": True, "width": 800}
    assert links == ["Atom feed", "The evidence so far", "2026-11-02 to 2026-11-08"] + [
        "HTML",
        "text",
        "Markdown",
        "CSV",
        "RIS",
        "chart",
    ]


def test_the_checks_see_errors_scripts_and_requests(chromium, tmp_path):
    """A page that does everything the digest must not: the checks above would notice."""
    page = tmp_path / "bad.html"
    page.write_text(
        "<!DOCTYPE html><title>bad</title>"
        "<script>console.error('broken'); alert('ran'); undefinedFunction();</script>"
        '<img src="http://127.0.0.1:9/pixel.png">'  # loopback only: refused, never leaves
    )
    visit = chromium.open(page, width=800)
    try:
        visit.evaluate("1")  # let the pending events arrive
        problems = visit.problems()
    finally:
        visit.close()
    assert any(p.startswith("console.error") for p in problems)
    assert "dialog: ran" in problems
    assert any(p.startswith("exception:") for p in problems)
    assert "request: http://127.0.0.1:9/pixel.png" in problems
