"""End to end: the runtime's own protocol close codes reach the client on every server.

Daphne (autobahn) lets a server send only 1000 and 3000-4999; it raises for 1009, the
code MAX_FRAME_SIZE closes with, which killed the application instance (the client saw
1011). The close now goes out as 4009 there.
"""

import asyncio
import json

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed

from .servers import ServerProcess

pytestmark = pytest.mark.e2e


@pytest.fixture(scope="module", params=["daphne", "uvicorn"])
def server(request):
    process = ServerProcess(
        request.param,
        env={"GC_TEST_GENERIC_CONSUMERS": json.dumps({"MAX_FRAME_SIZE": 10})},
    ).start()
    yield process
    output = process.stop()
    assert "Traceback" not in output, output


async def test_e2e_an_oversized_frame_closes_with_message_too_big(server):
    async with connect(server.url + "/echo/", open_timeout=5) as ws:
        await ws.send("x" * 50)
        with pytest.raises(ConnectionClosed) as info:
            await asyncio.wait_for(ws.recv(), 5)
    expected = 4009 if server.kind == "daphne" else 1009
    assert info.value.rcvd is not None and info.value.rcvd.code == expected
