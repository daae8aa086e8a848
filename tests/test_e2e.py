"""End-to-end: the test project served by real Daphne and Uvicorn processes."""

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from .servers import ServerProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=["daphne", "uvicorn"])
def server(request):
    process = ServerProcess(request.param).start()
    yield process
    output = process.stop()
    assert "Traceback" not in output, output


async def recv_json(ws):
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


async def test_e2e_echo(server):
    async with connect(server.url + "/echo/", open_timeout=5) as ws:
        await ws.send(json.dumps({"n": 1}))
        assert await recv_json(ws) == {"echo": {"n": 1}}


async def test_e2e_group_across_two_sockets(server):
    async with (
        connect(server.url + "/room/blue/", open_timeout=5) as a,
        connect(server.url + "/room/blue/", open_timeout=5) as b,
        connect(server.url + "/room/red/", open_timeout=5) as other,
    ):
        await a.send(json.dumps({"msg": "hi all"}))
        assert await recv_json(a) == {"msg": "hi all"}
        assert await recv_json(b) == {"msg": "hi all"}
        with pytest.raises(asyncio.TimeoutError):
            await asyncio.wait_for(other.recv(), 0.3)


async def test_e2e_named_channel_through_in_process_worker(server):
    async with connect(server.url + "/stats/", open_timeout=5) as ws:
        await ws.send("go")
        assert await recv_json(ws) == {"stats": "ok"}


async def test_e2e_client_gone_before_the_reply_is_no_error(server):
    # The reply meets a closed connection (uvicorn raises ClientDisconnected): normal,
    # so no traceback in the server's output (the fixture checks it at the end).
    async with connect(server.url + "/slow/", open_timeout=5) as ws:
        await ws.send(json.dumps({"sleep": 0.3}))
    async with connect(server.url + "/slow/", open_timeout=5) as ws:
        await asyncio.sleep(0.6)  # the first socket's consumer has finished
        await ws.send(json.dumps({"sleep": 0}))
        assert await recv_json(ws) == {"late": True}


async def test_e2e_unrouted_path_rejected(server):
    with pytest.raises(InvalidStatus) as info:
        async with connect(server.url + "/nowhere/", open_timeout=5):
            pass  # pragma: no cover - the handshake fails
    assert info.value.response.status_code == 403


async def test_e2e_clean_disconnect_leaves_no_membership(server):
    async with connect(server.url + "/room/green/", open_timeout=5) as ws:
        await ws.send(json.dumps({"msg": "x"}))
        assert await recv_json(ws) == {"msg": "x"}
    async with connect(server.url + "/members/", open_timeout=5) as probe:
        for _ in range(50):  # the server may still be finishing the disconnect
            await probe.send(json.dumps({"room": "green"}))
            if (await recv_json(probe))["members"] == 0:
                break
            await asyncio.sleep(0.05)
        else:
            pytest.fail("the closed socket is still in its group")
