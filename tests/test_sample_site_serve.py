"""The sample site served by ``manage.py serve`` (Uvicorn), driven by Chromium.

``make demo`` uses ``runserver`` (Daphne, reloading on code changes); ``serve`` is how
the site runs for real (``sample_site/README.md``). With the in-memory layer it serves
one process, which is enough to see the site work end to end under Uvicorn: pages,
static files, 1.x and native sockets, and a clean stop.
"""

import json
import signal
import time

import pytest

from tests.redis_server import DjangoCommand
from tests.test_browser import WAIT_MS, chromium, wait_for  # noqa: F401 (fixture)
from tests.test_sample_site import SampleSite, open_page
from tests.test_serve import wait_listening

pytestmark = [pytest.mark.browser, pytest.mark.e2e]


def test_sample_site_runs_under_manage_py_serve(chromium, tmp_path):  # noqa: F811
    site = SampleSite(tmp_path / "db.sqlite3", SAMPLE_SITE_KEEPALIVE="0.5")
    site.manage("migrate", "--noinput")
    site.manage("seed_demo")
    serve = DjangoCommand("serve", "--bind", f"127.0.0.1:{site.port}", env=site.env)
    context = chromium.new_context(base_url=site.url)
    context.set_default_timeout(WAIT_MS)
    try:
        serve.start()
        wait_listening(site.port, serve)
        clock = open_page(context, "/clock/")  # a 1.x consumer: task and pings
        wait_for(clock, "demo.ticks.length >= 1 && demo.pings >= 1")
        native = open_page(context, "/native/")  # a native Channels 4 consumer
        native.fill("#native-text", "served by uvicorn")
        native.press("#native-text", "Enter")
        wait_for(native, "demo.notices.some(n => n.text === 'served by uvicorn')")
        # What the operator sees meanwhile: the clock's socket (1.x routing) is open
        # and has been sent frames; the native consumer's socket is Channels 4's own.
        for _ in range(40):  # the server publishes every 5 s
            summed = json.loads(site.manage("socket_counters", "--json"))["totals"]
            if summed["counts"]["frames_sent"] >= 2:
                break
            time.sleep(0.5)
        assert summed["processes"] == 1 and summed["sockets_open"] >= 1, summed
        assert summed["counts"]["frames_sent"] >= 2, summed

        code, output = serve.stop(signal.SIGTERM)
        assert code == 0, output
        assert "Stopped." in output
        # The server closed the sockets as a restart (1012): the pages retry.
        wait_for(clock, "demo.status === 'disconnected, retrying'")
    finally:
        context.close()
        serve.stop()
