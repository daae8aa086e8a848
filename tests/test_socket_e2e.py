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
