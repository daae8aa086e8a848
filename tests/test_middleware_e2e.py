"""End to end: a middleware stack from settings on real Daphne and Uvicorn servers."""

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from .servers import ServerProcess

pytestmark = pytest.mark.e2e

MIDDLEWARE = [
    # A token every 100 s: the fifth frame of a socket is one too many.
    ["generic_consumers.middleware.RateLimitMiddleware", {"rate": 0.01, "burst": 4}],
    ["generic_consumers.middleware.FrameLogMiddleware", {"limit": 40}],
    "tests.middlewares.shout",
]


@pytest.fixture(scope="module", params=["daphne", "uvicorn"])
def server(request):
    process = ServerProcess(
        request.param,
        env={
            "GC_TEST_ROUTING": "tests.middlewares.channel_routing",
            "GC_TEST_GENERIC_CONSUMERS": json.dumps({"MIDDLEWARE": MIDDLEWARE}),
        },
    ).start()
    yield process
    output = process.stop()
    assert "Traceback" not in output, output


async def recv(ws):
    return await asyncio.wait_for(ws.recv(), 5)


async def test_e2e_frames_pass_through_the_stack_both_ways(server):
    async with connect(server.url + "/echo/", open_timeout=5) as ws:
        await ws.send("hi")
        assert await recv(ws) == "<HI>"
        await ws.send(b"\x00\x01")
        assert await recv(ws) == b"\x00\x01"
    output = server.output()
    assert "<- /echo/ websocket.receive text, 2 characters: 'hi'" in output
    assert "-> /echo/ websocket.send text, 4 characters: '<HI>'" in output


async def test_e2e_group_messages_reach_every_member_through_the_stack(server):
    async with (
        connect(server.url + "/room/", open_timeout=5) as a,
        connect(server.url + "/room/", open_timeout=5) as b,
    ):
        await a.send(json.dumps({"m": "x"}))
        assert await recv(a) == '<{"M": "X"}>'
        assert await recv(b) == '<{"M": "X"}>'


async def test_e2e_rate_limit_closes_the_flooding_socket_only(server):
    async with (
        connect(server.url + "/echo/", open_timeout=5) as flood,
        connect(server.url + "/echo/", open_timeout=5) as calm,
    ):
        for n in range(6):
            await flood.send(f"f{n}")
        assert [await recv(flood) for _ in range(4)] == [f"<F{n}>" for n in range(4)]
        with pytest.raises(ConnectionClosed) as info:
            await recv(flood)
        # Daphne (autobahn) sends no protocol codes: 1008 goes out as 4008 there.
        expected = 4008 if server.kind == "daphne" else 1008
        assert info.value.rcvd is not None and info.value.rcvd.code == expected
        await calm.send("still here")
        assert await recv(calm) == "<STILL HERE>"
    # One line (Daphne's own handler prints a second, timestamped copy of each).
    lines = server.output().splitlines()
    assert [line for line in lines if line.startswith("Closing socket")] == [
        "Closing socket on '/echo/' with 1008: its client sent more than 0.01 frames "
        "per second (burst 4)."
    ]


async def test_e2e_a_route_that_opts_out_sees_no_middleware(server):
    async with connect(server.url + "/plain/", open_timeout=5) as ws:
        for n in range(8):  # more than the rate limit's burst
            await ws.send(f"p{n}")
        assert [await recv(ws) for _ in range(8)] == [f"p{n}" for n in range(8)]
    output = server.output()
    assert "<- /plain/" not in output and "-> /plain/" not in output
