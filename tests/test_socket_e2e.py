"""End-to-end: keepalive pings and socket tasks on real Daphne and Uvicorn processes."""

import asyncio
import datetime
import json

import pytest
from websockets.asyncio.client import connect

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
