"""Each named-channel message is handled once, however many processes read it.

Real processes on a real redis-server: Uvicorn servers running in-process workers
and ``manage.py runworkers`` processes, mixed, all reading the named channel
``tests.work`` that the ``/burst/`` demultiplexer's ``mapping`` feeds. The consumer
answers once per message, so every answer counts one handling. Everything is started
here and stopped by PID.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from collections import Counter

import pytest
from websockets.asyncio.client import connect

from .redis_server import DjangoCommand, RedisSentinel, RedisServer
from .servers import ServerProcess

pytestmark = [pytest.mark.redis, pytest.mark.e2e]

ROUTING = "tests.named_routing.channel_routing"
PUBSUB = "channels_redis.pubsub.RedisPubSubChannelLayer"
SOCKETS = 20
FRAMES = 50  # per socket: 1000 messages in a burst
# Messages late duplicates could still be on their way after the last first answer
# (channels_redis puts back in-flight messages within about a second).
SETTLE = 1.0


def environment(url: str, in_process: bool = True, **extra) -> dict[str, str]:
    config = extra.pop("config", {})
    settings = extra.pop("settings", {})
    return {
        "GC_TEST_REDIS_URL": url,
        # Room for the whole burst: this file counts handlings, not ChannelFull.
        "GC_TEST_REDIS_CONFIG": json.dumps({"capacity": 5000, **config}),
        "GC_TEST_ROUTING": ROUTING,
        "GC_TEST_IN_PROCESS_WORKERS": "1" if in_process else "0",
        "GC_TEST_GENERIC_CONSUMERS": json.dumps(settings),
        **extra,
    }


class Readers:
    """Server processes (in-process workers) and runworkers processes, by PID."""

    def __init__(self) -> None:
        self.servers: list[ServerProcess] = []
        self.workers: list[DjangoCommand] = []

    def start(self, env, servers: int = 0, workers: int = 0, channel="tests.work"):
        new = [
            DjangoCommand("runworkers", "--only-channels", channel, env=env).start()
            for _ in range(workers)
        ]
        self.workers += new
        self.servers += [
            ServerProcess("uvicorn", env=env).start() for _ in range(servers)
        ]
        for worker in new:
            worker.wait_for_output("Running workers", 30)
        return new

    def stop(self) -> None:
        for worker in self.workers:
            if worker.alive():
                worker.stop()
        for server in self.servers:
            server.stop()


@pytest.fixture(scope="module")
def redis_server():
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cluster(redis_server):
    """Readers that grow from the 2-reader test to the 4-reader one."""
    readers = Readers()
    readers.env = environment(redis_server.url)
    try:
        yield readers
    finally:
        readers.stop()


@pytest.fixture
def readers():
    started = Readers()
    try:
        yield started
    finally:
        started.stop()


async def recv(ws, timeout: float = 30.0):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


async def burst(servers: list[ServerProcess]) -> Counter[int]:
    """SOCKETS sockets over ``servers`` send FRAMES frames each at once; how often
    each message was answered."""
    sockets = [
        await connect(servers[i % len(servers)].url + "/burst/", open_timeout=30)
        for i in range(SOCKETS)
    ]
    answers: Counter[int] = Counter()
    try:

        async def one(index, ws):
            numbers = range(index * FRAMES, (index + 1) * FRAMES)
            for n in numbers:
                await ws.send(json.dumps({"stream": "work", "payload": {"n": n}}))
            mine: set[int] = set()
            while len(mine) < FRAMES:
                n = (await recv(ws))["payload"]["done"]
                answers[n] += 1
                mine.add(n)
            # Anything more that arrives now is a second handling.
            while True:
                try:
                    answers[(await recv(ws, SETTLE))["payload"]["done"]] += 1
                except TimeoutError:
                    return

        await asyncio.gather(*(one(i, ws) for i, ws in enumerate(sockets)))
    finally:
        await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)
    return answers


def assert_once(answers: Counter[int]) -> None:
    assert sorted(answers) == list(range(SOCKETS * FRAMES))
    twice = {n: c for n, c in answers.items() if c > 1}
    assert not twice, f"{len(twice)} of {len(answers)} messages handled more than once"


@pytest.mark.parametrize("count", [2, 4])
async def test_each_message_handled_once_by_mixed_readers(cluster, count):
    # Half the readers are Uvicorn processes with in-process workers, half are
    # runworkers processes (the 4-reader run adds one of each to the 2 of the first).
    missing = count // 2 - len(cluster.servers)
    await asyncio.to_thread(cluster.start, cluster.env, missing, missing)
    assert_once(await burst(cluster.servers))
    for worker in cluster.workers:
        assert "Traceback" not in worker.output(), worker.output()


async def test_consume_later_requeues_once_per_try(cluster):
    # Each message asks to be tried again twice; its third try, in whichever
    # process, answers with the count of tries Redis saw.
    async with connect(cluster.servers[0].url + "/later/") as ws:
        for n in range(20):
            await ws.send(json.dumps({"n": n}))
        answers = [await recv(ws) for _ in range(20)]
        with pytest.raises(TimeoutError):
            await recv(ws, SETTLE)
    assert sorted(a["later"] for a in answers) == list(range(20))
    assert {a["tries"] for a in answers} == {3}


async def test_pubsub_layer_each_message_handled_once(redis_server, readers):
    # channels_redis' pub/sub layer gives every message to every subscribed process;
    # named channels leave it for streams, groups and replies stay on it.
    env = environment(
        redis_server.url, config={"prefix": "pubsub"}, GC_TEST_REDIS_BACKEND=PUBSUB
    )
    await asyncio.to_thread(readers.start, env, 1, 1)
    assert_once(await burst(readers.servers))


async def test_sentinel_each_message_handled_once(redis_server, readers, tmp_path):
    sentinel = RedisSentinel(redis_server.port, "gc-master", tmp_path).start()
    try:
        hosts = [
            {"sentinels": [["127.0.0.1", sentinel.port]], "master_name": "gc-master"}
        ]
        env = environment(redis_server.url, config={"hosts": hosts, "prefix": "s"})
        await asyncio.to_thread(readers.start, env, 1, 1)
        assert_once(await burst(readers.servers))
    finally:
        readers.stop()
        sentinel.stop()


# -- a worker SIGKILLed mid-message ---------------------------------------------------


def stream_state(redis_server, prefix: str, channel: str) -> tuple[int, int]:
    """(entries in the channel's stream, entries handed out but unacknowledged)."""
    client = redis_server.client()
    key = f"{prefix}:stream:{channel}"
    pending = client.xpending(key, "generic_consumers")["pending"]
    return client.xlen(key), pending


async def started_by(ws, n: int) -> int:
    while True:
        frame = await recv(ws)
        if frame.get("started") == n:
            return frame["pid"]


async def test_killed_worker_never_redelivers_by_default(redis_server, readers):
    env = environment(redis_server.url, False, config={"prefix": "once"})
    (victim,) = await asyncio.to_thread(readers.start, env, 1, 1, "tests.hold")
    async with connect(readers.servers[0].url + "/hold/") as ws:
        await ws.send(json.dumps({"n": 1, "hold": 60}))
        assert await started_by(ws, 1) == victim.pid
        victim.stop(signal.SIGKILL)
        # At most once: nothing is left in Redis that could run it again...
        assert stream_state(redis_server, "once", "tests.hold") == (0, 0)
        (survivor,) = await asyncio.to_thread(readers.start, env, 0, 1, "tests.hold")
        # ...and the next reader goes straight to the next message.
        await ws.send(json.dumps({"n": 2}))
        assert await recv(ws) == {"started": 2, "pid": survivor.pid}
        assert await recv(ws) == {"done": 2, "pid": survivor.pid}


async def test_killed_worker_redelivers_once_when_asked(redis_server, readers):
    config = {"prefix": "twice"}
    env = environment(redis_server.url, False, config=config)
    workers = environment(
        redis_server.url, False, config=config, settings={"REDELIVER_AFTER": 1}
    )
    await asyncio.to_thread(readers.start, env, 1)
    (first,) = await asyncio.to_thread(readers.start, workers, 0, 1, "tests.hold")
    async with connect(readers.servers[0].url + "/hold/") as ws:
        await ws.send(json.dumps({"n": 1, "hold": 60}))
        assert await started_by(ws, 1) == first.pid
        first.stop(signal.SIGKILL)
        (second,) = await asyncio.to_thread(readers.start, workers, 0, 1, "tests.hold")
        # Redelivered once, after REDELIVER_AFTER...
        assert await started_by(ws, 1) == second.pid
        second.stop(signal.SIGKILL)
        # ...and never a third time: the next reader gives up on it.
        (third,) = await asyncio.to_thread(readers.start, workers, 0, 1, "tests.hold")
        deadline = time.monotonic() + 30
        while stream_state(redis_server, "twice", "tests.hold") != (0, 0):
            assert time.monotonic() < deadline, stream_state(
                redis_server, "twice", "tests.hold"
            )
            await asyncio.sleep(0.1)
        await ws.send(json.dumps({"n": 2}))
        assert await recv(ws) == {"started": 2, "pid": third.pid}
        assert await recv(ws) == {"done": 2, "pid": third.pid}
    assert "Gave up on 1 message(s) on named channel 'tests.hold'" in third.output()
