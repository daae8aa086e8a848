"""The JS WebSocketBridge in headless Chromium against Daphne (tests/browser_project).

Needs Debian's ``chromium`` on PATH (``apt-get install chromium``); skipped without it,
failed without it when ``REQUIRE_BROWSER=1``. Playwright drives that binary; its own
browser downloads are never used.
"""

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.browser

ROOT = Path(__file__).resolve().parent.parent
WAIT_MS = 10_000  # any single browser-side wait
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class DaphneServer:
    """Daphne serving tests/browser_project in a subprocess, restartable on its port."""

    def __init__(self, log_dir: Path) -> None:
        self.port = free_port()
        self.log_dir = log_dir
        self.process: subprocess.Popen | None = None
        self.starts = 0

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self) -> None:
        self.starts += 1
        env = {
            **os.environ,
            "DJANGO_SETTINGS_MODULE": "tests.browser_project.settings",
            "PYTHONPATH": str(ROOT),
        }
        log = open(self.log_dir / f"daphne-{self.starts}.log", "wb")  # noqa: SIM115
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "daphne",
                "-b",
                "127.0.0.1",
                "-p",
                str(self.port),
                "tests.browser_project.asgi:application",
            ],
            cwd=ROOT,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        log.close()
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                pytest.fail(f"Daphne exited early:\n{self.log()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.5):
                    return
            except OSError:
                time.sleep(0.1)
        self.kill()
        pytest.fail(f"Daphne did not listen on port {self.port} in 20 s:\n{self.log()}")

    def kill(self) -> None:
        """Stop the process we started, by its PID, without a graceful shutdown."""
        process, self.process = self.process, None
        if process is None or process.poll() is not None:
            return
        os.kill(process.pid, signal.SIGKILL)
        process.wait(timeout=10)

    def log(self) -> str:
        path = self.log_dir / f"daphne-{self.starts}.log"
        return path.read_text(errors="replace") if path.exists() else ""


@pytest.fixture(scope="module")
def chromium():
    executable = shutil.which("chromium")
    if executable is None:
        message = (
            "Chromium is not installed; install it with 'apt-get install chromium' "
            "to run the browser tests."
        )
        if os.environ.get("REQUIRE_BROWSER") == "1":
            pytest.fail(message + " (REQUIRE_BROWSER=1 forbids skipping)")
        pytest.skip(message)
    from playwright.sync_api import sync_playwright

    playwright = sync_playwright().start()
    try:
        browser = playwright.chromium.launch(
            executable_path=executable, args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield browser
        finally:
            browser.close()
    finally:
        playwright.stop()


@pytest.fixture
def server(tmp_path):
    daphne = DaphneServer(tmp_path)
    daphne.start()
    yield daphne
    daphne.kill()


@pytest.fixture
def context(chromium):
    context = chromium.new_context()
    context.set_default_timeout(WAIT_MS)
    yield context
    context.close()


def wait_for(page, expression: str) -> None:
    page.wait_for_function(expression, timeout=WAIT_MS)


def test_browser_bridge_multiplexes_three_streams_over_one_socket(server, context):
    page = context.new_page()
    page.goto(server.url + "/")
    wait_for(page, "bridge.socket && bridge.socket.readyState === 1")
    assert page.evaluate("bridge.socket.url") == f"ws://127.0.0.1:{server.port}/ws/"

    page.evaluate(
        """() => {
        bridge.stream("echo").send({n: 1});
        bridge.stream("stats").send({count: 41});
    }"""
    )
    wait_for(page, "received.echo.length === 2 && received.stats.length === 1")

    # A second page (the bridge loaded as an ES module) broadcasts to the group.
    other = context.new_page()
    other.goto(server.url + "/module/")
    wait_for(other, "window.opened === true")
    assert other.evaluate("bridge.socket.url") == f"ws://127.0.0.1:{server.port}/ws/"
    other.evaluate('bridge.stream("announce").send({text: "hello"})')
    wait_for(page, "received.news.length === 1")

    received = page.evaluate("received")
    assert received == {
        "echo": [{"echo": {"early": True}}, {"echo": {"n": 1}}],
        "stats": [{"count": 42, "path": "/ws/"}],
        "news": [["news", {"text": "hello"}]],
        "other": [],
    }
    assert page.evaluate("events") == ["open"]


def test_browser_bridge_reconnects_and_delivers_queued_sends(server, context):
    page = context.new_page()
    page.goto(server.url + "/")
    wait_for(page, "received.echo.length === 1")
    page.evaluate("window.firstSocket = bridge.socket")

    server.kill()
    wait_for(page, 'events.includes("close, retrying")')
    page.evaluate(
        """() => {
        bridge.stream("echo").send({queued: 1});
        bridge.stream("stats").send({count: 1});
        bridge.stream("echo").send({queued: 2});
    }"""
    )
    assert page.evaluate("bridge.queued") == 3

    server.start()
    wait_for(page, 'events.includes("reconnect")')
    wait_for(page, "received.echo.length === 3 && received.stats.length === 1")
    received = page.evaluate("received")
    assert received["echo"] == [
        {"echo": {"early": True}},
        {"echo": {"queued": 1}},
        {"echo": {"queued": 2}},
    ]
    assert received["stats"] == [{"count": 2, "path": "/ws/"}]
    assert page.evaluate("bridge.queued") == 0
    assert page.evaluate("bridge.socket === firstSocket")  # one object, as in 1.x
    events = page.evaluate("events")
    assert events[0] == "open"
    assert "open again" in events
    assert events[-1] == "reconnect"

    # Listeners and streams survive the reconnection; the new socket is live.
    page.evaluate('bridge.stream("echo").send({after: true})')
    wait_for(page, "received.echo.length === 4")


def test_browser_bridge_close_stops_reconnecting(server, context):
    page = context.new_page()
    page.goto(server.url + "/")
    wait_for(page, "bridge.socket.readyState === 1")
    page.evaluate("bridge.close()")
    wait_for(page, 'events.includes("close")')
    page.wait_for_timeout(1500)  # longer than the page's largest backoff
    assert page.evaluate("events") == ["open", "close"]
    assert page.evaluate("bridge.socket.readyState") == 3


def test_browser_1x_socket_listeners_survive_a_reconnection(server, context):
    # The 1.x README's idiom: send on bridge.socket's "open". After the server drops
    # the connection, the listener must fire again (the 1.1.8 bridge did: 2 of 2).
    page = context.new_page()
    page.goto(server.url + "/legacy/")
    wait_for(page, "echoes.length === 1")
    page.evaluate("window.firstSocket = bridge.socket")
    server.kill()
    wait_for(page, 'socketEvents.includes("onclose")')
    server.start()
    wait_for(page, "echoes.length === 2")
    assert page.evaluate("echoes") == [{"echo": {"joined": True}}] * 2
    assert page.evaluate("bridge.socket === firstSocket")
    assert page.evaluate("socketEvents.filter(e => e === 'message').length") == 2
    # close() without keepClosed reconnects (1.x); with keepClosed it stays closed.
    page.evaluate("bridge.socket.close(1000, '', {delay: 50})")
    wait_for(page, "echoes.length === 3")
    page.evaluate("bridge.socket.close(1000, '', {keepClosed: true})")
    wait_for(page, "bridge.socket.readyState === 3")
    page.wait_for_timeout(1500)  # longer than a reconnection would take
    assert page.evaluate("echoes.length") == 3


def test_browser_bridge_keeps_keepalive_pings_from_listeners(server, context):
    page = context.new_page()
    page.goto(server.url + "/keepalive/")
    wait_for(page, "seen.pings.length >= 3")  # the server pings every 50 ms
    page.evaluate('bridge.stream("echo").send({n: 1})')
    wait_for(page, "seen.echo.length === 1")
    wait_for(page, "seen.pings.length >= 5")  # pings go on after the echo
    seen = page.evaluate("seen")
    assert seen["echo"] == [{"echo": {"n": 1}}]
    assert seen["other"] == []  # listen() never saw a ping
    assert seen["socketMessages"] == ['{"stream":"echo","payload":{"echo":{"n":1}}}']
    for ping in seen["pings"]:
        assert page.evaluate("(p) => !isNaN(Date.parse(p))", ping), ping

    # ignorePings: false hands them to the listeners like any frame (1.x behaviour).
    page.evaluate(
        """() => {
        window.raw = [];
        const plain = new channels.WebSocketBridge({ignorePings: false});
        plain.listen((message) => raw.push(message));
        plain.connect("/ws/ping/");
    }"""
    )
    wait_for(page, "raw.length >= 2")
    assert all(set(m) == {"ping"} for m in page.evaluate("raw"))


def test_browser_es_module_stream_onclose_leaves_the_socket_open(server, context):
    page = context.new_page()
    page.goto(server.url + "/streams/")
    wait_for(page, "window.bridge && bridge.socket && bridge.socket.readyState === 1")
    assert page.evaluate("sameClass")  # default, named export and global: one class

    page.evaluate('bridge.stream("closable").send({bye: true})')
    wait_for(page, "seen.closes.length === 1")
    page.evaluate('bridge.stream("closable").send({bye: 4001})')
    wait_for(page, "seen.closes.length === 2")
    # The other stream, and the closed one again, still work on the same socket.
    page.evaluate('bridge.stream("echo").send({n: 1})')
    page.evaluate('bridge.stream("closable").send({n: 2})')
    wait_for(page, "seen.echo.length === 1 && seen.closable.length === 1")
    seen = page.evaluate("seen")
    assert seen["closes"] == [
        {"stream": "closable", "code": 1000, "self": True},
        {"stream": "closable", "code": 4001, "self": True},
    ]
    assert seen["closable"] == [
        {"echo": {"n": 2}}
    ]  # the close frames were not payloads
    assert seen["echo"] == [{"echo": {"n": 1}}]
    assert seen["events"] == ["open"]
    assert page.evaluate("bridge.socket.readyState") == 1


def test_browser_staticfiles_serve_the_module_and_its_type_declarations(
    server, context
):
    page = context.new_page()
    page.goto(server.url + "/streams/")
    base = "/static/generic_consumers/js/"
    for name, expected in [
        ("websocketbridge.mjs", "export"),
        ("websocketbridge.d.ts", "export declare class WebSocketBridge"),
        ("websocketbridge.d.mts", "export default WebSocketBridge"),
        ("package.json", '"types": "./websocketbridge.d.ts"'),
    ]:
        status, body = page.evaluate(
            "async (url) => { const r = await fetch(url);"
            " return [r.status, await r.text()]; }",
            base + name,
        )
        assert status == 200, name
        assert expected in body, name
