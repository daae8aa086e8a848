"""The sample site's socket features in headless Chromium: presence that survives a
crashed server, the live clock (tracked tasks, keepalive pings), frame middleware,
closing one stream of the dashboard, and a native Channels 4 route.

The site runs as in test_sample_site.py (Daphne, in-memory layer, in-process workers),
with the two intervals of the demo shortened through its environment variables so that
pings and presence refreshes happen within a browser wait: nothing else changes.
"""

import os
import signal

import pytest

from tests.test_browser import chromium, wait_for  # noqa: F401 (fixture)
from tests.test_sample_site import (  # noqa: F401 (fixtures)
    SampleSite,
    browse,
    open_page,
)

pytestmark = pytest.mark.browser

SHORT = "0.5"  # seconds: keepalive pings, presence refreshes


@pytest.fixture(scope="module")
def site(chromium, tmp_path_factory):  # noqa: F811 (the shared fixture)
    sample = SampleSite(
        tmp_path_factory.mktemp("sample_site_live") / "db.sqlite3",
        SAMPLE_SITE_KEEPALIVE=SHORT,
        SAMPLE_SITE_PRESENCE_REFRESH=SHORT,
    )
    sample.manage("migrate", "--noinput")
    sample.manage("seed_demo")
    sample.start()
    yield sample
    sample.stop()


def crash(site):
    """SIGKILL the server (ours, by PID): no disconnect consumer runs."""
    process = site.server.process
    os.kill(process.pid, signal.SIGKILL)
    process.wait(10)
    site.stop()


def test_sample_site_presence_of_a_crashed_server_expires(browse, site):  # noqa: F811
    alice_context = browse("alice")
    open_page(alice_context, "/dashboard/")
    demo = open_page(browse("demo"), "/dashboard/")
    wait_for(demo, "demo.online.includes('alice') && demo.online.includes('demo')")

    crash(site)  # alice's and demo's rows stay behind in the database
    wait_for(demo, "demo.status === 'disconnected, retrying'")
    alice_context.close()  # alice is gone for good: she must drop out of the list
    site.start()  # no seed_demo this time: nothing clears the table for us

    wait_for(demo, "demo.status === 'reconnected'")
    wait_for(demo, "demo.online.length === 1 && demo.online[0] === 'demo'")
    assert demo.locator("#presence li").all_text_contents() == ["demo"]
    answers = demo.evaluate("demo.statsAnswers")
    demo.click("#stats-refresh")
    wait_for(demo, f"demo.statsAnswers > {answers}")
    # Counted from the table: only demo's new socket has a row that counts.
    assert demo.evaluate("demo.stats.online") == 1


def test_sample_site_index_links_the_live_demos(browse):  # noqa: F811
    page = browse().new_page()
    page.goto("/")
    for path in ("/clock/", "/native/"):
        assert page.locator(f"main a[href='{path}']").count() == 1
    page.click("text=sample_site/demo/clock.py")
    assert "class ClockConsumer(AsyncJsonWebsocketConsumer)" in page.text_content(
        "pre.source"
    )


def test_sample_site_clock_task_is_replaced_by_id_and_stopped(browse):  # noqa: F811
    page = open_page(browse(), "/clock/")
    wait_for(page, "demo.started.length === 1 && demo.ticks.length >= 2")
    first = page.evaluate("demo.started[0]")
    assert first["interval"] == 1.0

    page.fill("#clock-interval", "0.2")
    page.click("#clock-form button")
    wait_for(page, "demo.started.length === 2")
    second = page.evaluate("demo.started[1].started")
    seen = page.evaluate("demo.ticks.length")
    # Eight ticks of 0.2 s: longer than the old ticker's 1 s, had it survived.
    wait_for(page, f"demo.ticks.length >= {seen} + 8")
    # The new ticker took the old one's id: once it answered, no tick of the old
    # run arrives any more (both would tick if start_task did not replace).
    later = page.evaluate(f"demo.ticks.slice({seen})")
    assert {tick["run"] for tick in later} == {second}
    assert {tick["interval"] for tick in later} == {0.2}
    assert [tick["tick"] for tick in later] == list(
        range(later[0]["tick"], later[0]["tick"] + len(later))
    )

    page.click("#clock-stop")
    wait_for(page, "demo.stopped === 1")
    assert page.text_content("#running") == "stopped"
    ticks, pings = page.evaluate("[demo.ticks.length, demo.pings]")
    # The pings keep coming while the clock is stopped (the socket is idle but
    # kept alive); two of them take longer than several ticks would.
    wait_for(page, f"demo.pings >= {pings} + 2")
    assert page.evaluate("demo.ticks.length") == ticks


def test_sample_site_clock_keepalive_pings_reach_only_ping_listeners(browse):  # noqa: F811
    page = open_page(browse(), "/clock/")
    wait_for(page, "demo.pings >= 2")
    assert page.evaluate("demo.pingFrames") == 0  # listen() never saw one
    assert page.evaluate("demo.lastPing").endswith("+00:00")
    assert page.text_content("#pings").startswith(str(page.evaluate("demo.pings")))


def flood(page, socket):
    page.select_option("#limits-socket", socket)
    page.click("#flood")


def test_sample_site_rate_limiter_closes_a_flood_the_bulk_route_echoes(browse):  # noqa: F811
    page = open_page(browse(), "/echo/", ready="demo.bulk.status === 'connected'")
    wait_for(page, "demo.status === 'connected'")
    flood(page, "bulk")  # its own stack: no rate limit
    wait_for(page, "demo.bulk.received.length === 60")
    assert [f["echo"]["flood"] for f in page.evaluate("demo.bulk.received")] == list(
        range(1, 61)
    )
    assert page.evaluate("demo.closes") == []

    flood(page, "echo")  # the settings' stack: bursts of 40 at most
    wait_for(page, "demo.closes.length === 1")
    assert page.evaluate("demo.closes") == [{"path": "/ws/echo/", "code": 4008}]
    echoed = page.evaluate("demo.received.map(f => f.echo.flood)")
    # Cut short: the first ~40 (the burst, plus what the rate refilled meanwhile)
    # came back, in order; the rest reached no consumer.
    assert 0 < len(echoed) < 60 and echoed == list(range(1, len(echoed) + 1))
    # The bridge reconnects; the new socket has a fresh allowance.
    wait_for(page, "demo.status === 'reconnected'")
    page.fill("#echo-text", "still here")
    page.press("#echo-text", "Enter")
    wait_for(page, "demo.received.some(f => f.echo.text === 'still here')")
    assert page.evaluate("demo.bulk.status") == "connected"


def test_sample_site_size_guard_closes_a_big_frame_the_bulk_route_echoes(browse):  # noqa: F811
    page = open_page(browse(), "/echo/", ready="demo.bulk.status === 'connected'")
    wait_for(page, "demo.status === 'connected'")
    page.select_option("#limits-socket", "bulk")
    page.click("#big")
    wait_for(page, "demo.bulk.received.length === 1")
    assert page.evaluate("demo.bulk.received[0].echo.big.length") == 32 * 1024

    page.select_option("#limits-socket", "echo")
    page.click("#big")
    wait_for(page, "demo.closes.length === 1")
    assert page.evaluate("demo.closes") == [{"path": "/ws/echo/", "code": 4009}]
    assert page.evaluate("demo.received") == []


def test_sample_site_dashboard_closes_the_lobby_stream_alone(browse):  # noqa: F811
    alice = open_page(browse("alice"), "/dashboard/")
    chat = open_page(browse("demo"), "/chat/lobby/")
    wait_for(alice, "demo.statsAnswers > 0")

    alice.click("#chat-leave")
    wait_for(alice, "demo.streamCloses.length === 1")
    assert alice.evaluate("demo.streamCloses") == [{"stream": "chat", "code": 1000}]
    assert (
        alice.is_visible("#chat-left")
        and alice.text_content("#chat-left-code") == "1000"
    )
    assert alice.evaluate("demo.status") == "connected"  # the socket is still open

    # Said while alice is away: her other streams still hear it (the bound model)...
    chat.fill("#chat-text", "while alice is away")
    chat.press("#chat-text", "Enter")
    wait_for(
        alice,
        "demo.bound.some(b => b.action === 'create'"
        " && b.data.text === 'while alice is away')",
    )
    answers = alice.evaluate("demo.statsAnswers")
    alice.click("#stats-refresh")
    wait_for(alice, f"demo.statsAnswers > {answers}")

    # ...and rejoining brings the chat stream back, with the history.
    alice.click("#chat-join")
    wait_for(alice, "demo.lines.some(l => l.text === 'while alice is away')")
    chat.fill("#chat-text", "welcome back")
    chat.press("#chat-text", "Enter")
    wait_for(alice, "demo.live.includes('welcome back')")
    # Live lines: only what was said after she rejoined; the line said while she was
    # away came with the history, not to the closed stream.
    assert alice.evaluate("demo.live") == ["welcome back"]
    assert alice.evaluate("demo.opened") == 1


def test_sample_site_native_consumer_shares_the_notifications_group(browse):  # noqa: F811
    legacy = open_page(browse(), "/notify/")
    native = open_page(browse("alice"), "/native/")

    native.fill("#native-text", "hello from Channels 4")
    native.press("#native-text", "Enter")
    said = "n.sender === 'alice (native)' && n.text === 'hello from Channels 4'"
    wait_for(legacy, f"demo.notices.some(n => {said})")
    wait_for(native, f"demo.notices.some(n => {said})")
    assert "alice (native): hello from Channels 4" in legacy.text_content("#notices")

    # A notice posted through the 1.x page's view reaches the native socket.
    legacy.fill("#notify-text", "hello from a view")
    legacy.press("#notify-text", "Enter")
    wait_for(
        native,
        "demo.notices.some(n => n.sender === 'a visitor'"
        " && n.text === 'hello from a view')",
    )
    assert native.evaluate("demo.notices.length") == 2
    assert native.evaluate("demo.errors") == []
