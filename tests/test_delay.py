"""The 1.x delay channel ``asgi.delay``: in memory, in the database, and across a
worker restart."""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import sqlite3
import time

import pytest

from generic_consumers import Channel, route
from generic_consumers.asgi import RoutingApplication
from generic_consumers.delay.worker import parse_request

from .redis_server import DjangoCommand, RedisServer


@pytest.fixture
def memory_only(monkeypatch):
    """As without ``generic_consumers.delay`` installed. (Overriding INSTALLED_APPS
    would run every app's ready() again, bindings declared by other tests included.)"""
    from generic_consumers.delay import worker

    monkeypatch.setattr(worker, "in_database", lambda: False)


@pytest.fixture(autouse=True)
def delay_channel_on(settings):
    settings.GENERIC_CONSUMERS = {**settings.GENERIC_CONSUMERS, "DELAY_CHANNEL": True}


class Recorder:
    def __init__(self):
        self.seen: asyncio.Queue = asyncio.Queue()

    async def __call__(self, message, **kwargs):
        await self.seen.put((time.monotonic(), dict(message.content)))


async def started(recorder):
    app = RoutingApplication([route("tests.delayed", recorder)])
    app.start_workers()
    return app


def test_parse_request_refuses_what_1x_would_have_choked_on():
    assert parse_request({"channel": "a.b", "delay": 10, "content": {}}) == (
        "a.b",
        10,
        {},
    )
    bad = [
        [],
        {"delay": 1, "content": {}},
        {"channel": "bad name!", "delay": 1, "content": {}},
        {"channel": "a" * 120, "delay": 1, "content": {}},
        {"channel": "a", "delay": -1, "content": {}},
        {"channel": "a", "delay": True, "content": {}},
        {"channel": "a", "delay": "10", "content": {}},
        {"channel": "a", "delay": 1, "content": "text"},
    ]
    for request in bad:
        assert isinstance(parse_request(request), str), request


async def test_delay_in_memory_sends_after_at_least_the_delay(memory_only):
    recorder = Recorder()
    app = await started(recorder)
    sent = time.monotonic()
    await Channel("asgi.delay").asend(
        {"channel": "tests.delayed", "delay": 150, "content": {"n": 1}}
    )
    arrived, content = await asyncio.wait_for(recorder.seen.get(), 2)
    assert content == {"n": 1}
    assert arrived - sent >= 0.15
    await app.stop_workers()


async def test_delay_refuses_bad_requests_with_a_line_each_and_goes_on(
    gc_log, memory_only
):
    recorder = Recorder()
    app = await started(recorder)
    for bad in ({"delay": 5}, {"channel": "tests.delayed", "delay": "soon"}):
        await Channel("asgi.delay").asend(bad)
    await Channel("asgi.delay").asend(
        {"channel": "tests.delayed", "delay": 0, "content": {"n": "good"}}
    )
    _, content = await asyncio.wait_for(recorder.seen.get(), 2)
    assert content == {"n": "good"}
    refusals = [
        r for r in gc_log.records if "Refused a message on 'asgi.delay'" in r.msg
    ]
    assert len(refusals) == 2 and all(r.levelno == logging.WARNING for r in refusals)
    await app.stop_workers()


@pytest.mark.django_db(transaction=True)
async def test_delay_in_the_database_is_sent_once_by_one_of_two_workers():
    from generic_consumers.delay.models import DelayedMessage

    recorder = Recorder()
    first = await started(recorder)
    second = await started(recorder)  # a second worker process, as far as rows go
    await Channel("asgi.delay").asend(
        {"channel": "tests.delayed", "delay": 1500, "content": {"n": 2}}
    )
    for _ in range(100):  # waiting in the database (its insert may wait for a lock)
        if await DelayedMessage.objects.acount() == 1:
            break
        await asyncio.sleep(0.01)
    assert recorder.seen.empty()
    assert await DelayedMessage.objects.acount() == 1
    _, content = await asyncio.wait_for(recorder.seen.get(), 5)
    assert content == {"n": 2}
    await asyncio.sleep(1)  # both pollers had several rounds
    assert recorder.seen.empty()
    assert await DelayedMessage.objects.acount() == 0
    for app in (first, second):
        await app.stop_workers()


@pytest.mark.django_db(transaction=True)
async def test_delay_content_that_is_not_json_is_refused(gc_log):
    recorder = Recorder()
    app = await started(recorder)
    await Channel("asgi.delay").asend(
        {"channel": "tests.delayed", "delay": 0, "content": {"raw": b"\x00"}}
    )
    await asyncio.sleep(0.3)
    assert "cannot be stored as JSON" in gc_log.text
    assert recorder.seen.empty()
    await app.stop_workers()


# -- across a worker restart, on Redis ----------


@pytest.mark.redis
@pytest.mark.e2e
def test_delay_survives_a_worker_restart_and_is_sent_once(tmp_path):
    redis = RedisServer().start()
    env = {
        "GC_TEST_REDIS_URL": redis.url,
        "GC_TEST_DB": str(tmp_path / "db.sqlite3"),
        "GC_TEST_IN_PROCESS_WORKERS": "0",
        "GC_TEST_GENERIC_CONSUMERS": json.dumps({"DELAY_CHANNEL": True}),
    }
    worker = None
    try:
        DjangoCommand("migrate", "--noinput", "-v", "0", env=env).run()
        worker = DjangoCommand("runworkers", "--only-channels", "asgi.*", env=env)
        worker.start().wait_for_output("Running workers")
        request = {"channel": "tests.delayed", "delay": 6000, "content": {"n": 3}}
        DjangoCommand(
            "gc_send", "--channel", "asgi.delay", "--json", json.dumps(request), env=env
        ).run()
        code, output = worker.stop()  # SIGTERM well before the message is due
        assert code == 0, output
        assert _pending(tmp_path / "db.sqlite3") == 1  # it waits in the database
        worker = DjangoCommand("runworkers", "--only-channels", "asgi.*", env=env)
        worker.start().wait_for_output("Running workers")
        client = redis.client()
        # A named channel's messages wait in a Redis stream (runtime.queue).
        deadline = time.monotonic() + 15
        while time.monotonic() < deadline and not _queued(client, "tests.delayed"):
            time.sleep(0.2)
        assert _queued(client, "tests.delayed") == 1
        time.sleep(1.5)  # a second send would have happened by now
        assert _queued(client, "tests.delayed") == 1
    finally:
        if worker is not None:
            worker.stop()
        redis.stop()


def _pending(path) -> int:
    with contextlib.closing(sqlite3.connect(path)) as db:
        table = "generic_consumers_delay_delayedmessage"
        return db.execute(f"SELECT COUNT(*) FROM {table}").fetchone()[0]


def _queued(client, channel: str) -> int:
    return client.xlen(f"asgi:stream:{channel}")
