"""The built site in a real browser: headless Debian Chromium, driven over the DevTools protocol.

The site is built with ``mkdocs build --strict`` into a temporary folder and served by
``http.server`` on a free loopback port; Chromium runs with every non-loopback fetch sent to a
dead proxy, so a page that needs the network shows up as a console error. Checks: every page of
the navigation renders its title with no console error, no uncaught exception and no failed
request; clicking a navigation link opens that page; the search box finds a clause id; the
results matrix shows its coloured cells. Screenshots of the main pages are saved to
``$OPENENV_SITE_SHOTS`` (default ``reports/site-screenshots/``, git-ignored).
"""

from __future__ import annotations

import base64
import functools
import json
import os
import re
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from websockets.sync.client import ClientConnection, connect

ROOT = Path(__file__).resolve().parents[2]
MKDOCS = Path(sys.executable).parent / "mkdocs"
SHOTS = Path(os.environ.get("OPENENV_SITE_SHOTS", ROOT / "reports" / "site-screenshots"))
CALL_TIMEOUT_S = 30.0
LOAD_TIMEOUT_S = 20.0
SEARCH_TIMEOUT_S = 20.0
SHOT_PAGES = {  # screenshot name -> path on the site
    "home": "",
    "quickstart": "docs/quickstart/",
    "writing-an-environment": "docs/guide/writing-an-environment/",
    "wire-reference": "docs/reference/",
    "spec-websocket": "spec/websocket/",
    "clause-index": "spec/clause-index/",
    "rfcs": "rfcs/",
    "rfc-0010": "rfcs/0010-request-ids/",
    "results-matrix": "docs/results/",
    "benchmark": "docs/benchmark/",
}

BROWSER = shutil.which("chromium") or shutil.which("chromium-browser")
pytestmark = pytest.mark.skipif(not MKDOCS.exists(), reason=f"{MKDOCS} not installed")


class Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        pass


class DevTools:
    """A minimal Chrome DevTools Protocol client: one page, flattened session, events buffered."""

    def __init__(self, ws: ClientConnection) -> None:
        self.ws = ws
        self.next_id = 0
        self.events: list[dict[str, Any]] = []
        self.session = ""

    def call(self, method: str, params: dict[str, Any] | None = None, *, session: bool = True) -> dict[str, Any]:
        self.next_id += 1
        msg: dict[str, Any] = {"id": self.next_id, "method": method, "params": params or {}}
        if session and self.session:
            msg["sessionId"] = self.session
        self.ws.send(json.dumps(msg))
        deadline = time.monotonic() + CALL_TIMEOUT_S
        while time.monotonic() < deadline:
            reply = json.loads(self.ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if reply.get("id") == self.next_id:
                if "error" in reply:
                    raise AssertionError(f"{method}: {reply['error']}")
                return dict(reply.get("result") or {})
            self.events.append(reply)
        raise AssertionError(f"{method}: no reply within {CALL_TIMEOUT_S}s")

    def wait_event(self, method: str, timeout_s: float) -> dict[str, Any]:
        for i, event in enumerate(self.events):
            if event.get("method") == method:
                return self.events.pop(i)
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            event = json.loads(self.ws.recv(timeout=max(0.01, deadline - time.monotonic())))
            if event.get("method") == method:
                return dict(event)
            self.events.append(event)
        raise AssertionError(f"no {method} within {timeout_s}s")

    def evaluate(self, expression: str) -> Any:
        result = self.call("Runtime.evaluate", {"expression": expression, "returnByValue": True})
        if "exceptionDetails" in result:
            raise AssertionError(f"{expression[:80]}: {result['exceptionDetails']}")
        return result["result"].get("value")

    def drain(self) -> None:
        """Read every event already sent, without waiting for more."""
        while True:
            try:
                self.events.append(json.loads(self.ws.recv(timeout=0.05)))
            except TimeoutError:
                return

    def problems(self) -> list[str]:
        """Console errors, uncaught exceptions and failed loads seen since the last call."""
        self.drain()
        out = []
        for event in self.events:
            method, params = event.get("method"), event.get("params") or {}
            if method == "Runtime.exceptionThrown":
                out.append(f"exception: {params['exceptionDetails'].get('text')}")
            elif method == "Runtime.consoleAPICalled" and params.get("type") in ("error", "assert"):
                out.append("console.error: " + " ".join(str(a.get("value")) for a in params.get("args", [])))
            elif method == "Log.entryAdded" and params["entry"].get("level") == "error":
                out.append(f"log: {params['entry'].get('text')} {params['entry'].get('url', '')}")
            elif method == "Network.loadingFailed" and not params.get("canceled"):
                out.append(f"failed load: {params.get('errorText')}")
        self.events.clear()
        return out

    def open(self, url: str) -> None:
        self.problems()
        self.call("Page.navigate", {"url": url})
        self.wait_event("Page.loadEventFired", LOAD_TIMEOUT_S)

    def screenshot(self, path: Path) -> None:
        data = self.call("Page.captureScreenshot", {"format": "png"})["data"]
        path.write_bytes(base64.b64decode(data))


@pytest.fixture(scope="module")
def site(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    out = tmp_path_factory.mktemp("site")
    env = {**os.environ, "NO_MKDOCS_2_WARNING": "1"}
    build = subprocess.run(
        [str(MKDOCS), "build", "--strict", "-d", str(out)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert build.returncode == 0, build.stdout + build.stderr
    server = ThreadingHTTPServer(("127.0.0.1", 0), functools.partial(Quiet, directory=str(out)))
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def browser(tmp_path_factory: pytest.TempPathFactory) -> Iterator[DevTools]:
    assert BROWSER, "chromium is missing: `make browser` installs it (the Makefile's test target does)"
    profile = tmp_path_factory.mktemp("chromium-profile")
    proc = subprocess.Popen(
        [
            BROWSER,
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-quic",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--proxy-server=127.0.0.1:9",  # loopback is fetched directly; anything else fails
            "--remote-debugging-address=127.0.0.1",
            "--remote-debugging-port=0",
            "--window-size=1280,900",
            f"--user-data-dir={profile}",
            "about:blank",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert proc.stderr is not None
        deadline, ws_url = time.monotonic() + 30, ""
        while time.monotonic() < deadline and not ws_url:
            line = proc.stderr.readline()
            if not line and proc.poll() is not None:
                break
            m = re.search(r"DevTools listening on (ws://\S+)", line)
            ws_url = m.group(1) if m else ""
        assert ws_url, f"chromium did not start (exit {proc.poll()})"
        with connect(ws_url, max_size=None, open_timeout=10) as ws:
            tools = DevTools(ws)
            target = tools.call("Target.createTarget", {"url": "about:blank"}, session=False)["targetId"]
            tools.session = tools.call("Target.attachToTarget", {"targetId": target, "flatten": True}, session=False)[
                "sessionId"
            ]
            for domain in ("Page", "Runtime", "Log", "Network"):
                tools.call(f"{domain}.enable")
            tools.call("Emulation.setDeviceMetricsOverride",
                       {"width": 1280, "height": 900, "deviceScaleFactor": 1, "mobile": False})  # fmt: skip
            yield tools
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=10)
        if proc.stderr is not None:
            proc.stderr.close()


def nav_pages(browser: DevTools, site: str) -> list[str]:
    browser.open(site)
    hrefs = browser.evaluate(
        "[...document.querySelectorAll('nav.md-nav--primary a.md-nav__link[href]')].map(a => a.href)"
    )
    return sorted({h.split("#", 1)[0] for h in hrefs if h.startswith(site)})


def test_every_navigation_page_renders_without_errors(browser: DevTools, site: str) -> None:
    """Every page of the navigation: a title, no console error; screenshots of the main ones."""
    pages = nav_pages(browser, site)
    assert len(pages) >= 35, pages  # home, guides, reference, 13 spec pages, 17 RFC pages, results
    shots = {site + path: name for name, path in SHOT_PAGES.items()}
    assert set(shots) <= set(pages), set(shots) - set(pages)
    SHOTS.mkdir(parents=True, exist_ok=True)
    failures = {}
    for url in pages:
        browser.open(url)
        title = browser.evaluate("document.querySelector('article.md-content__inner h1')?.textContent ?? ''")
        problems = browser.problems()
        if not title.strip() or problems:
            failures[url] = (title, problems)
        if url in shots:
            shot = SHOTS / f"{shots[url]}.png"
            browser.screenshot(shot)
            assert shot.stat().st_size > 10_000, f"{shot} looks blank"
    assert failures == {}


def test_navigation_link_opens_its_page(browser: DevTools, site: str) -> None:
    browser.open(site)
    clicked = browser.evaluate(
        "(() => { const a = [...document.querySelectorAll('nav.md-nav--primary a.md-nav__link')]"
        ".find(a => a.getAttribute('href').endsWith('spec/websocket/'));"
        " if (!a) return false; a.click(); return true; })()"
    )
    assert clicked
    browser.wait_event("Page.loadEventFired", LOAD_TIMEOUT_S)
    assert browser.evaluate("location.pathname") == "/spec/websocket/"
    assert "/ws" in browser.evaluate("document.querySelector('article h1').textContent")
    assert browser.evaluate("!!document.getElementById('oe-ws-005')")
    assert browser.problems() == []


def test_search_finds_a_clause_id(browser: DevTools, site: str) -> None:
    browser.open(site)
    browser.evaluate(
        "(() => { const q = document.querySelector('input.md-search__input'); q.focus();"
        " q.value = 'OE-WS-005'; q.dispatchEvent(new Event('input', {bubbles: true}));"
        " q.dispatchEvent(new KeyboardEvent('keyup', {bubbles: true, key: '5'})); })()"
    )
    deadline, hrefs = time.monotonic() + SEARCH_TIMEOUT_S, []
    while time.monotonic() < deadline:
        hrefs = browser.evaluate(
            "[...document.querySelectorAll('.md-search-result__item a')]"
            ".filter(a => a.textContent.includes('OE-WS-005')).map(a => a.href)"
        )
        if hrefs:
            break
        time.sleep(0.2)
    assert any("spec/websocket/" in h for h in hrefs), hrefs
    SHOTS.mkdir(parents=True, exist_ok=True)
    browser.screenshot(SHOTS / "search-oe-ws-005.png")
    assert browser.problems() == []


def test_results_matrix_cells_are_coloured_links(browser: DevTools, site: str) -> None:
    browser.open(site + "docs/results/")
    cells = browser.evaluate(
        "[...document.querySelectorAll('td a.oe-outcome.oe-pass')].slice(0, 3)"
        ".map(a => [getComputedStyle(a).backgroundColor, a.getAttribute('href')])"
    )
    assert cells and all(colour == "rgb(46, 125, 50)" for colour, _ in cells), cells
    first = cells[0][1]
    browser.open(site + "docs/results/" + first)
    anchor = first.split("#", 1)[1]
    assert browser.evaluate(f"!!document.getElementById({json.dumps(anchor)})")
    assert "Transcript" in browser.evaluate("document.querySelector('article').textContent")
