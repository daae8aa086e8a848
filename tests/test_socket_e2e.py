"""End-to-end: keepalive pings and socket tasks on real Daphne and Uvicorn processes."""

import asyncio
import datetime
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from .servers import ServerProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=["daphne", "uvicorn"])
def server(request):
    process = ServerProcess(
        request.param, env={"GC_TEST_ROUTING": "tests.socket_routing.channel_routing"}
    ).start()
    yield process
    output = process.stop()
    assert "Traceback" not in output, output


async def recv_json(ws):
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


class IdleProxy:
    """A TCP proxy in front of the server that drops a connection which carried no
    data either way for ``idle`` seconds, as many proxies and load balancers do."""

    def __init__(self, port: int, idle: float) -> None:
        self.target = port
        self.idle = idle
        self.handlers: set[asyncio.Task] = set()

    async def __aenter__(self) -> str:
        self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0)
        return f"ws://127.0.0.1:{self.server.sockets[0].getsockname()[1]}"

    async def __aexit__(self, *exc) -> None:
        self.server.close()
        for task in self.handlers:
            task.cancel()
        await asyncio.gather(*self.handlers, return_exceptions=True)
        await self.server.wait_closed()

    async def _handle(self, reader, writer) -> None:
        self.handlers.add(asyncio.current_task())
        loop = asyncio.get_running_loop()
        up_reader, up_writer = await asyncio.open_connection("127.0.0.1", self.target)
        last = [loop.time()]

        async def pipe(source, sink) -> None:
            while data := await source.read(65536):
                last[0] = loop.time()
                sink.write(data)
                await sink.drain()

        pipes = [
            asyncio.ensure_future(pipe(reader, up_writer)),
            asyncio.ensure_future(pipe(up_reader, writer)),
        ]
        try:
            while not any(p.done() for p in pipes):
                if loop.time() - last[0] > self.idle:
                    break  # idle for too long: drop both sides, without a close frame
                await asyncio.sleep(self.idle / 10)
        finally:
            for task in pipes:
                task.cancel()
            for stream in (writer, up_writer):
                stream.transport.abort()


async def test_e2e_idle_socket_is_pinged_and_still_answers(server):
    async with connect(server.url + "/ping/", open_timeout=5) as ws:
        # Idle: the server speaks first, with pings carrying its UTC time.
        for _ in range(2):
            ping = await recv_json(ws)
            assert set(ping) == {"ping"}
            assert datetime.datetime.fromisoformat(ping["ping"]).tzinfo is not None
        await ws.send(json.dumps({"n": 1}))
        while (frame := await recv_json(ws)) != {"echo": {"n": 1}}:
            assert set(frame) == {"ping"}


async def task_count(server) -> int:
    async with connect(server.url + "/tasks/", open_timeout=5) as probe:
        await probe.send("{}")
        return (await recv_json(probe))["tasks"]


async def wait_for_task_count(server, expected: int) -> None:
    for _ in range(100):  # the server may still be handling a disconnect
        if await task_count(server) == expected:
            return
        await asyncio.sleep(0.05)
    raise AssertionError(f"the server never had {expected} socket task(s)")


async def test_e2e_socket_task_runs_until_stopped_or_the_client_leaves(server):
    async with connect(server.url + "/ticker/", open_timeout=5) as ws:
        assert await recv_json(ws) == {"tick": True}
        assert await recv_json(ws) == {"tick": True}
        await ws.send("{}")  # a later message stops the task by its id
        while (frame := await recv_json(ws)) != {"stopped": True}:
            assert frame == {"tick": True}
    await wait_for_task_count(server, 0)
    async with connect(server.url + "/ticker/", open_timeout=5) as ws:
        assert await recv_json(ws) == {"tick": True}
        await wait_for_task_count(server, 1)
    # The client left without a word: the server cancelled the task.
    await wait_for_task_count(server, 0)


async def test_e2e_keepalive_keeps_a_socket_alive_through_an_idle_timeout(server):
    # The client's own protocol pings are off: only the server's keepalive speaks.
    async with IdleProxy(server.port, idle=0.5) as url:
        async with connect(url + "/ping/", open_timeout=5, ping_interval=None) as ws:
            deadline = asyncio.get_running_loop().time() + 1.5  # 3 idle timeouts
            while asyncio.get_running_loop().time() < deadline:
                assert set(await recv_json(ws)) == {"ping"}
            await ws.send(json.dumps({"n": 1}))
            while (frame := await recv_json(ws)) != {"echo": {"n": 1}}:
                assert set(frame) == {"ping"}

        # Without keepalive the same proxy drops the idle socket.
        async with connect(url + "/tasks/", open_timeout=5, ping_interval=None) as ws:
            with pytest.raises(ConnectionClosed):
                await asyncio.wait_for(ws.recv(), 5)
