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
