"""The sample site as deployed: Redis, a Daphne process and ``manage.py runworkers``.

``REDIS_URL`` makes the site use channels_redis and ``SAMPLE_SITE_WORKERS=separate``
turns the server's in-process workers off, so named channels (``demo.thumbnails``,
``demo.stats``) are consumed only by the runworkers process. ``manage.py notify`` runs
as one more process and reaches the pages through Redis. Needs ``redis-server`` and
Debian's ``chromium`` (REQUIRE_REDIS=1 / REQUIRE_BROWSER=1 turn skips into failures).
"""

import os
import subprocess
import sys
import tempfile
import time

import pytest

from tests.redis_server import RedisServer, read_log
from tests.servers import end_process
from tests.test_browser import WAIT_MS, chromium, wait_for  # noqa: F401 (fixture)
from tests.test_sample_site import SITE_DIR, SampleSite, open_page

pytestmark = [pytest.mark.browser, pytest.mark.redis]


class Workers:
    """``manage.py runworkers`` for the sample site, stopped by its PID."""

    def __init__(self, env: dict[str, str]) -> None:
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "manage.py", "runworkers"],
            cwd=SITE_DIR,
            env={**os.environ, **env},
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )

    def output(self) -> str:
        return read_log(self.log)

    def wait_until_running(self, timeout: float = 30.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if "Running workers" in self.output():
                return
            assert self.process.poll() is None, self.output()
            time.sleep(0.1)
        raise AssertionError(f"runworkers never started:\n{self.output()}")

    def stop(self) -> tuple[int | None, str]:
        code = end_process(self.process, grace=20)
        output = self.output()
        self.log.close()
        return code, output


@pytest.fixture(scope="module")
def deployed(chromium, tmp_path_factory):  # noqa: F811 (the shared fixture)
    redis = RedisServer().start()
    sample = SampleSite(
        tmp_path_factory.mktemp("sample_site_workers") / "db.sqlite3",
        REDIS_URL=redis.url,
        SAMPLE_SITE_WORKERS="separate",
    )
    try:
        sample.manage("migrate", "--noinput")
        sample.manage("seed_demo")
        sample.start()
        yield sample
    finally:
        sample.stop()
        redis.stop()


def test_sample_site_with_runworkers_and_the_notify_command(chromium, deployed):  # noqa: F811
    context = chromium.new_context(base_url=deployed.url)
    context.set_default_timeout(WAIT_MS)
    workers = None
    try:
        page = open_page(context, "/notify/")
        # A job asked for before any worker runs waits in Redis for one.
        page.fill("#thumbnail-steps", "1")
        page.click("#thumbnail-form button")
        wait_for(page, "demo.lastJob && demo.jobs[demo.lastJob].state === 'queued'")
        workers = Workers(deployed.env)
        workers.wait_until_running()
        wait_for(page, "demo.jobs[demo.lastJob].state === 'done'")
        done = page.evaluate("demo.jobs[demo.lastJob]")
        assert page.evaluate("demo.states[demo.lastJob]") == [
            "queued",
            "rendering",
            "done",
        ]
        # Answered by the runworkers process, not by the server.
        assert done["worker_pid"] == workers.process.pid
        assert done["worker_pid"] != deployed.server.process.pid

        # A notice from another process: the management command, through Redis.
        deployed.manage("notify", "deployed at last")
        wait_for(
            page,
            "demo.notices.some(n => n.sender === 'manage.py notify'"
            " && n.text === 'deployed at last')",
        )
    finally:
        context.close()
        code, output = workers.stop() if workers else (0, "")
    assert code == 0, output
    assert "demo.thumbnails" in output and "Workers stopped." in output
