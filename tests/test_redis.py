"""Two server processes and a dedicated worker sharing a real redis-server.

Everything runs on loopback: redis-server (persistence off), Daphne, Uvicorn and
``manage.py runworkers``, all started here and stopped by PID.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from types import SimpleNamespace

import pytest
from websockets.asyncio.client import connect

from generic_consumers.metrics import read_processes, totals

from .redis_server import DjangoCommand, RedisServer, raise_open_files_limit, read_log
from .servers import ServerProcess
from .storm import close_all, members, open_sockets, wait_for_members

pytestmark = [pytest.mark.redis, pytest.mark.e2e]

REFRESH_INTERVAL = 1  # seconds (the default is 30)
GROUP_EXPIRY = 3  # seconds (channels_redis' default is 86400)


@pytest.fixture(scope="module")
def redis_server():
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def cluster(redis_server, tmp_path_factory):
    raise_open_files_limit()
    counters = tmp_path_factory.mktemp("counters")
    env = {
        "GC_TEST_REDIS_URL": redis_server.url,
        "GC_TEST_REDIS_CONFIG": json.dumps({"group_expiry": GROUP_EXPIRY}),
        "GC_TEST_ROUTING": "tests.redis_routing.channel_routing",
        "GC_TEST_IN_PROCESS_WORKERS": "0",
        "GC_TEST_GENERIC_CONSUMERS": json.dumps(
            {
                "GROUP_REFRESH_INTERVAL": REFRESH_INTERVAL,
                "COUNTERS_INTERVAL": 0.2,
                "COUNTERS_DIR": str(counters),
            }
        ),
    }
    servers = []
    worker = None
    try:
        for kind in ("daphne", "uvicorn"):
            servers.append(ServerProcess(kind, env=env).start())
        # tests.cpid is left to Channels' own runworker (test below).
        worker = DjangoCommand(
            "runworkers", "--exclude-channels", "tests.c*", env=env
        ).start()
        worker.wait_for_output("Running workers")
        yield SimpleNamespace(
            servers=servers,
            worker=worker,
            env=env,
            redis=redis_server,
            counters=counters,
        )
    finally:
        if worker is not None:
            code, output = worker.stop()
            assert code == 0, output
        for server in servers:
            server.stop()


async def recv(ws, timeout: float = 10.0):
    data = await asyncio.wait_for(ws.recv(), timeout)
    try:
        return json.loads(data)
    except ValueError:
        return data


async def recv_until(ws, predicate, timeout: float = 10.0):
    """Read frames until one satisfies ``predicate``; return it."""
    deadline = time.monotonic() + timeout
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise TimeoutError
        frame = await recv(ws, remaining)
        if predicate(frame):
            return frame


def ws(server, path):
    return connect(server.url + path, open_timeout=15, close_timeout=5)


def command(cluster, *args):
    return DjangoCommand(*args, env=cluster.env)


async def published_totals(cluster, until=lambda totals: True, timeout=10.0):
    """The cluster's counters as ``manage.py socket_counters`` adds them up, once
    ``until(totals)`` holds (the processes publish every 0.2 s)."""
    deadline = time.monotonic() + timeout
    while True:
        summed = totals(read_processes(cluster.counters))
        if until(summed) or time.monotonic() > deadline:
            return summed
        await asyncio.sleep(0.1)


async def test_redis_group_broadcast_reaches_both_processes(cluster):
    daphne, uvicorn = cluster.servers
    async with ws(daphne, "/room/blue/") as a, ws(uvicorn, "/room/blue/") as b:
        await a.send(json.dumps({"msg": "hi"}))
        assert await recv(a) == {"msg": "hi"}
        assert await recv(b) == {"msg": "hi"}


async def test_redis_named_channel_handled_by_dedicated_worker(cluster):
    daphne, uvicorn = cluster.servers
    async with ws(daphne, "/pid/") as a, ws(uvicorn, "/pid/") as b:
        await a.send("?")
        await b.send("?")
        # The answer comes from the worker process, to the socket that asked.
        assert await recv(a, 20) == {"worker_pid": cluster.worker.pid}
        assert await recv(b, 20) == {"worker_pid": cluster.worker.pid}
    async with ws(uvicorn, "/stats/") as c:
        await c.send("go")
        assert await recv(c, 20) == {"stats": "ok"}


async def test_redis_channels_runworker_serves_the_channel_scope(cluster):
    # Channels' runworker reads named channels from the layer itself, so this site
    # keeps them there (NAMED_CHANNELS = "layer"; by default they travel through
    # Redis Streams, which only our runworkers and in-process workers read).
    env = {
        **cluster.env,
        "GC_TEST_GENERIC_CONSUMERS": json.dumps(
            {"GROUP_REFRESH_INTERVAL": REFRESH_INTERVAL, "NAMED_CHANNELS": "layer"}
        ),
    }
    server = ServerProcess("uvicorn", env=env).start()
    worker = DjangoCommand("runworker", "tests.cpid", env=env).start()
    try:
        async with ws(server, "/cpid/") as a:
            await a.send("?")
            assert await recv(a, 30) == {"worker_pid": worker.pid}
    finally:
        worker.stop()
        server.stop()


async def test_redis_group_send_from_management_command(cluster):
    daphne, uvicorn = cluster.servers
    async with ws(daphne, "/room/cmd/") as a, ws(uvicorn, "/room/cmd/") as b:
        await asyncio.to_thread(
            command(cluster, "gc_send", "--group", "room-cmd", "from a command").run
        )
        assert await recv(a) == "from a command"
        assert await recv(b) == "from a command"


@pytest.mark.parametrize("sig", [signal.SIGTERM, signal.SIGINT])
async def test_redis_runworkers_exits_cleanly_on_signal(cluster, sig):
    worker = command(cluster, "runworkers", "--only-channels", "tests.stats").start()
    await asyncio.to_thread(worker.wait_for_output, "Running workers")
    assert "tests.stats" in worker.output() and "tests.pid" not in worker.output()
    code, output = await asyncio.to_thread(worker.stop, sig)
    assert code == 0, output
    assert "Workers stopped." in output and "Traceback" not in output


async def test_redis_membership_outlives_group_expiry(cluster):
    daphne, uvicorn = cluster.servers
    async with ws(daphne, "/room/aging/") as a, ws(uvicorn, "/room/aging/") as b:
        await asyncio.sleep(GROUP_EXPIRY * 2 + 1)
        client = cluster.redis.client()
        scores = [
            score
            for _, score in client.zrange(
                "asgi:group:room-aging", 0, -1, withscores=True
            )
        ]
        assert len(scores) == 2 and min(scores) > time.time() - GROUP_EXPIRY
        await a.send(json.dumps({"msg": "still here"}))
        assert await recv(a) == {"msg": "still here"}
        assert await recv(b) == {"msg": "still here"}


async def test_redis_restart_keeps_sockets_and_memberships(cluster):
    daphne, uvicorn = cluster.servers
    async with (
        ws(daphne, "/room/phoenix/") as a,
        ws(uvicorn, "/room/phoenix/") as b,
        ws(uvicorn, "/whoami/") as who,
        ws(daphne, "/pid/") as hop,
    ):
        await who.send("?")
        reply_channel = (await recv(who))["reply_channel"]
        await a.send(json.dumps({"msg": "before"}))
        assert await recv(a) == {"msg": "before"}
        assert await recv(b) == {"msg": "before"}
        before = await published_totals(cluster)

        await asyncio.to_thread(cluster.redis.restart)

        # Sends fail until the layer reconnects, and the refresher must restore both
        # memberships: broadcast until one reaches both sockets.
        def after(frame):
            return isinstance(frame, dict) and frame.get("msg", "").startswith("after")

        deadline = time.monotonic() + 60
        for n in range(1000):
            assert time.monotonic() < deadline, "no broadcast after the restart"
            await a.send(json.dumps({"msg": f"after-{n}"}))
            try:
                await recv_until(a, after, 3)
                await recv_until(b, after, 3)
                break
            except TimeoutError:
                continue
        # The reply-channel listener survived: a direct send reaches the socket.
        await asyncio.to_thread(
            command(cluster, "gc_send", "--channel", reply_channel, "direct").run
        )
        assert await recv_until(who, lambda f: f == "direct", 20) == "direct"
        # The dedicated worker survived too, and still answers.
        await hop.send("?")
        assert await recv(hop, 30) == {"worker_pid": cluster.worker.pid}
        # What an operator scraping the counters saw: all three processes, these
        # sockets open, and the layer failures the restart caused, retried.
        failures = before["counts"]["layer_failures"]
        after = await published_totals(
            cluster, lambda t: t["counts"]["layer_failures"] > failures
        )
        assert after["processes"] == 3 and after["sockets_open"] >= 4, after
        assert after["counts"]["group_sends"] > before["counts"]["group_sends"]
    assert cluster.worker.alive()
    for server in cluster.servers:
        assert server.process.poll() is None, server.stop()
    output = read_log(daphne.log)
    # Once per outage episode (each line shows twice: two handlers); stale pooled
    # connections after the restart can make a short second episode. Never one per
    # socket per second.
    assert output.count("Channel layer unreachable") <= 10, output


async def test_redis_mass_disconnect_leaves_no_membership(cluster):
    uvicorn = cluster.servers[1]
    client = cluster.redis.client()
    sockets = await open_sockets(uvicorn.url + "/room/storm/", 1000)
    try:
        assert await wait_for_members(client, 1000, 60) == 1000
        log_from = len(read_log(uvicorn.log))
    finally:
        await close_all(sockets)
    assert await wait_for_members(client, 0, 60) == 0
    assert members(client) == 0
    new_output = read_log(uvicorn.log)[log_from:]
    for bad in ("Could not remove", "MaxConnectionsError", "unreachable", "Traceback"):
        assert bad not in new_output, new_output


async def test_redis_burst_to_a_named_channel_loses_nothing(cluster):
    # 200 sockets each send 5 frames at once through a mapping stream to a named
    # channel on the dedicated worker, which answers each: every one must come back
    # (unbounded, the burst exhausted redis-py's pool of 100 connections and about
    # half the messages were dropped with MaxConnectionsError).
    uvicorn = cluster.servers[1]
    sockets = await open_sockets(uvicorn.url + "/burst/", 200)
    try:

        async def burst(ws, index):
            for n in range(5):
                await ws.send(json.dumps({"stream": "work", "payload": {"n": n}}))
            answers = [await recv(ws, timeout=30) for _ in range(5)]
            return sorted(answer["payload"]["done"] for answer in answers)

        results = await asyncio.gather(*(burst(ws, i) for i, ws in enumerate(sockets)))
        assert results == [[0, 1, 2, 3, 4]] * 200
    finally:
        await close_all(sockets)
    assert "MaxConnectionsError" not in uvicorn.output()
    assert "MaxConnectionsError" not in cluster.worker.output()
