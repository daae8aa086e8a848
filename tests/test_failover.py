"""A Redis primary that fails over under Sentinel, with sockets open and busy.

On loopback: a primary, a replica and three sentinels (quorum 2), a Uvicorn process
and a dedicated ``runworkers`` process whose layer is channels_redis with Sentinel
hosts. Twenty sockets share a group that gets a broadcast every 0.2 s, and a socket
asks a named-channel worker for answers; then the primary is SIGKILLed. Every
process is started here and stopped by PID.
"""

from __future__ import annotations

import asyncio
import json
import signal
import time
from types import SimpleNamespace

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from .redis_server import DjangoCommand, RedisSentinel, RedisServer, read_log
from .servers import ServerProcess

pytestmark = [pytest.mark.redis, pytest.mark.e2e]

MASTER = "gcmaster"
SOCKETS = 20
PERIOD = 0.2  # seconds between broadcasts
DOWN_AFTER_MS = 1000  # Sentinel's default is 30 s
REFRESH_INTERVAL = 1.0  # GROUP_REFRESH_INTERVAL (the default is 30 s)
GROUP_KEY = "asgi:group:room-ha"
# A listener retries at most BACKOFF_MAX (5 s) apart: after the promotion, each socket
# hears the group again within one such interval. Generous on a loaded machine.
RESUME_BOUND = 5.0 + 10.0


def redis_info(port: int, section: str) -> dict:
    import redis

    client = redis.Redis(host="127.0.0.1", port=port, socket_timeout=1)
    try:
        return client.info(section)
    finally:
        client.close()


def wait_until(predicate, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if predicate():
                return
        except Exception:  # not up yet
            pass
        time.sleep(0.1)
    raise RuntimeError(f"timed out waiting for {what}")


@pytest.fixture
def ha(tmp_path):
    """A primary, a replica, three sentinels; a server and a worker on top of them."""
    import redis

    started: list = []
    try:
        primary = RedisServer().start()
        started.append(primary)
        replica = RedisServer(
            None, "--replicaof", "127.0.0.1", str(primary.port)
        ).start()
        started.append(replica)
        wait_until(
            lambda: (
                redis_info(replica.port, "replication")["master_link_status"] == "up"
            ),
            15,
            "the replica to sync",
        )
        sentinels = []
        for _ in range(3):
            sentinel = RedisSentinel(
                primary.port,
                MASTER,
                tmp_path,
                quorum=2,
                down_after_ms=DOWN_AFTER_MS,
                failover_timeout_ms=10_000,
            ).start()
            started.append(sentinel)
            sentinels.append(sentinel)

        def agreed() -> bool:
            # Each sentinel knows the two others (a failover needs a majority) and
            # the replica (something to promote).
            for sentinel in sentinels:
                client = redis.Redis(host="127.0.0.1", port=sentinel.port)
                try:
                    state = client.sentinel_master(MASTER)
                finally:
                    client.close()
                if state["num-other-sentinels"] < 2 or state["num-slaves"] < 1:
                    return False
            return True

        wait_until(agreed, 20, "the sentinels to find each other and the replica")
        hosts = [
            {
                "sentinels": [["127.0.0.1", s.port] for s in sentinels],
                "master_name": MASTER,
            }
        ]
        env = {
            # The Sentinel hosts replace the URL in tests/settings.py.
            "GC_TEST_REDIS_URL": "redis://sentinel",
            "GC_TEST_REDIS_CONFIG": json.dumps({"hosts": hosts}),
            "GC_TEST_ROUTING": "tests.redis_routing.channel_routing",
            "GC_TEST_IN_PROCESS_WORKERS": "0",
            "GC_TEST_GENERIC_CONSUMERS": json.dumps(
                {
                    "GROUP_REFRESH_INTERVAL": REFRESH_INTERVAL,
                    # Fewer retries than the failover lasts (a production failover
                    # takes longer than the default retries do).
                    "MEMBERSHIP_RETRIES": 1,
                }
            ),
        }
        worker = DjangoCommand("runworkers", "--only-channels", "tests.pid", env=env)
        worker.start()
        started.append(worker)
        server = ServerProcess("uvicorn", env=env).start()
        started.append(server)
        worker.wait_for_output("Running workers")
        yield SimpleNamespace(
            primary=primary,
            replica=replica,
            sentinels=sentinels,
            server=server,
            worker=worker,
        )
    finally:
        for process in reversed(started):
            process.stop()


def master_port(sentinel_port: int) -> int | None:
    import redis

    client = redis.Redis(host="127.0.0.1", port=sentinel_port, socket_timeout=1)
    try:
        address = client.sentinel_get_master_addr_by_name(MASTER)
    finally:
        client.close()
    return int(address[1]) if address else None


class Listener:
    """Reads one socket: which broadcasts arrived, when, and whether it closed."""

    def __init__(self, ws) -> None:
        self.ws = ws
        self.joined_at = time.monotonic()  # its handshake (and its join) is done
        self.seen: dict[int, float] = {}
        self.closed: BaseException | None = None
        self.task = asyncio.ensure_future(self._run())

    async def _run(self) -> None:
        try:
            async for frame in self.ws:
                n = json.loads(frame)["n"]
                self.seen.setdefault(n, time.monotonic())
        except ConnectionClosed as exc:
            self.closed = exc


async def test_sentinel_failover_keeps_sockets_groups_and_workers(ha):
    url = ha.server.url
    sockets = [
        await connect(url + "/room/ha/", open_timeout=15, close_timeout=5)
        for _ in range(SOCKETS)
    ]
    hop = await connect(url + "/pid/", open_timeout=15, close_timeout=5)
    listeners = [Listener(ws) for ws in sockets]
    sent: dict[int, float] = {}  # broadcast number -> when its frame was sent
    speaking = True

    async def speak() -> None:
        n = 0
        while speaking:
            sent[n] = time.monotonic()
            await sockets[0].send(json.dumps({"n": n}))
            n += 1
            await asyncio.sleep(PERIOD)

    def reached_all(n: int) -> bool:
        # Every socket that had joined when the broadcast was sent.
        return all(
            n in listener.seen for listener in listeners if listener.joined_at < sent[n]
        )

    speaker = asyncio.ensure_future(speak())
    try:
        # Steady state first: broadcasts reach every socket.
        deadline = time.monotonic() + 15
        while not any(reached_all(n) for n in list(sent)):
            assert time.monotonic() < deadline, "no broadcast before the failover"
            await asyncio.sleep(0.05)
        await asyncio.sleep(1)
        log_before = read_log(ha.server.log)
        assert "unreachable" not in log_before, log_before

        await asyncio.to_thread(ha.primary.stop, signal.SIGKILL)
        killed_at, killed_wall = time.monotonic(), time.time()
        # Asked during the outage: answered once the worker is back, not dropped.
        await hop.send("?")
        # A socket leaves during the outage, another one joins.
        await sockets.pop().close()
        listeners.pop().task.cancel()
        sockets.append(
            await connect(url + "/room/ha/", open_timeout=15, close_timeout=5)
        )
        listeners.append(Listener(sockets[-1]))

        promoted_at = None
        deadline = killed_at + 30
        while promoted_at is None:
            assert time.monotonic() < deadline, "Sentinel never promoted the replica"
            if await asyncio.to_thread(master_port, ha.sentinels[0].port) == (
                ha.replica.port
            ):
                promoted_at = time.monotonic()
            else:
                await asyncio.sleep(0.1)

        # Broadcasts reach every socket again (bounded wait).
        resumed_at = None
        deadline = promoted_at + RESUME_BOUND
        while resumed_at is None:
            assert time.monotonic() < deadline, (
                f"broadcasts did not reach all {SOCKETS} sockets within "
                f"{RESUME_BOUND} s of the promotion"
            )
            after = [n for n, at in list(sent.items()) if at > promoted_at]
            done = [n for n in after if reached_all(n)]
            if done:
                resumed_at = max(listener.seen[done[0]] for listener in listeners)
            else:
                await asyncio.sleep(0.05)

        # The named-channel worker answers the question asked during the outage,
        # and one asked after the promotion.
        answer = json.loads(await asyncio.wait_for(hop.recv(), 20))
        assert answer == {"worker_pid": ha.worker.pid}
        await hop.send("?")
        answer = json.loads(await asyncio.wait_for(hop.recv(), 20))
        assert answer == {"worker_pid": ha.worker.pid}

        # The refresher re-added every membership on the promoted replica, and the
        # socket that left during the outage is gone from the group.
        import redis

        client = redis.Redis(host="127.0.0.1", port=ha.replica.port)
        try:
            deadline = time.monotonic() + 10 * REFRESH_INTERVAL
            while True:
                scores = client.zrange(GROUP_KEY, 0, -1, withscores=True)
                stale = [member for member, score in scores if score <= killed_wall]
                if (len(scores) == SOCKETS and not stale) or (
                    time.monotonic() > deadline
                ):
                    break
                await asyncio.sleep(0.1)
        finally:
            client.close()
        assert (len(scores), stale) == (SOCKETS, []), ha.server.output()
    finally:
        speaking = False
        await asyncio.gather(speaker, return_exceptions=True)

    # Let the last broadcasts arrive, then count what was lost.
    last = max(sent)
    for _ in range(300):  # up to 15 s
        if reached_all(last):
            break
        await asyncio.sleep(0.05)
    lost_after_kill = [
        n for n, at in sent.items() if at > killed_at and not reached_all(n)
    ]
    open_at_end = [ws for ws in [*sockets, hop] if ws.close_code is None]
    await asyncio.gather(*(ws.close() for ws in [*sockets, hop]))
    await asyncio.gather(*(listener.task for listener in listeners))

    print(
        f"promoted {promoted_at - killed_at:.1f} s after the kill; broadcasts "
        f"reached all {SOCKETS} sockets {resumed_at - promoted_at:.1f} s after "
        f"the promotion; {len(sent)} broadcasts, {len(lost_after_kill)} lost: "
        + ", ".join(f"{sent[n] - killed_at:.1f} s" for n in lost_after_kill)
    )
    assert len(open_at_end) == SOCKETS + 1, "a socket was closed during the failover"
    assert not [listener.closed for listener in listeners if listener.closed]
    # Everything sent after the kill reached every socket that had joined by then,
    # including the one that joined during the outage (its join, which the layer
    # refused, goes to the new primary before the retried broadcasts do).
    assert lost_after_kill == []
    # One line when the outage starts, one when it ends (logged once the layer has
    # answered for a second without a failure); no tracebacks.
    for name, read in (("server", ha.server.output), ("worker", ha.worker.output)):
        for _ in range(100):  # up to 10 s
            if "Channel layer reachable again" in read():
                break
            await asyncio.sleep(0.1)
        output = read()
        lines = output.splitlines()
        started = {line for line in lines if "Channel layer unreachable" in line}
        ended = {line for line in lines if "Channel layer reachable again" in line}
        assert len(started) == 1 and len(ended) == 1, f"{name}:\n{output}"
        assert "Traceback" not in output, f"{name}:\n{output}"
