"""Closing one stream of a multiplexed socket: the frame, the socket staying open,
the stream's tasks, sync and async stream consumers, named channels, the 1.x client."""

import asyncio

import pytest
from channels.testing import WebsocketCommunicator

from generic_consumers import route, route_class
from generic_consumers.asgi import RoutingApplication
from generic_consumers.generic.websockets import (
    AsyncJsonWebsocketConsumer,
    AsyncWebsocketDemultiplexer,
    JsonWebsocketConsumer,
    WebsocketDemultiplexer,
    WebsocketMultiplexer,
)
from generic_consumers.test import ChannelTestCase, WSClient, apply_routes


class Closable(JsonWebsocketConsumer):
    def receive(self, content, multiplexer=None, **kwargs):
        if "bye" in content:
            multiplexer.close(content["bye"])
        else:
            multiplexer.send({"echo": content})


class AsyncClosable(AsyncJsonWebsocketConsumer):
    async def receive(self, content, multiplexer=None, **kwargs):
        if "bye" in content:
            await multiplexer.aclose(content["bye"])
        else:
            await multiplexer.asend({"echo": content})


class Ticking(AsyncJsonWebsocketConsumer):
    """Ticks in a task from its first frame on; {"bye": ...} closes its stream."""

    async def receive(self, content, multiplexer=None, **kwargs):
        if "bye" in content:
            await multiplexer.aclose()
            return

        async def tick():
            await multiplexer.asend({"tick": True})

        self.start_task("ticker", self.sleep_loop(tick, 0.01))


def demux_of(base, **consumers):
    return type("Demux", (base,), {"consumers": consumers})


async def connected(consumer):
    c = WebsocketCommunicator(RoutingApplication([route_class(consumer)]), "/")
    ok, _ = await c.connect(timeout=1)
    assert ok
    return c


@pytest.mark.parametrize(
    "demux",
    [
        demux_of(WebsocketDemultiplexer, a=Closable, b=Closable),
        demux_of(AsyncWebsocketDemultiplexer, a=AsyncClosable, b=AsyncClosable),
        demux_of(WebsocketDemultiplexer, a=AsyncClosable, b=Closable),
    ],
)
async def test_a_stream_closes_alone_and_the_socket_stays_open(demux):
    c = await connected(demux)
    await c.send_json_to({"stream": "a", "payload": {"bye": True}})
    assert await c.receive_json_from(1) == {"stream": "a", "close": True}
    await c.send_json_to({"stream": "b", "payload": {"n": 1}})
    assert await c.receive_json_from(1) == {
        "stream": "b",
        "payload": {"echo": {"n": 1}},
    }
    # The closed stream stays routable: the client may start it again.
    await c.send_json_to({"stream": "a", "payload": {"n": 2}})
    assert await c.receive_json_from(1) == {
        "stream": "a",
        "payload": {"echo": {"n": 2}},
    }
    await c.send_json_to({"stream": "b", "payload": {"bye": 4001}})
    assert await c.receive_json_from(1) == {"stream": "b", "close": 4001}
    await c.disconnect()


async def test_a_bad_stream_close_code_is_a_stream_error_not_a_socket_close(gc_log):
    c = await connected(demux_of(WebsocketDemultiplexer, a=Closable))
    await c.send_json_to({"stream": "a", "payload": {"bye": 1006}})
    await c.send_json_to({"stream": "a", "payload": {"n": 1}})
    assert await c.receive_json_from(1) == {
        "stream": "a",
        "payload": {"echo": {"n": 1}},
    }
    assert "Invalid WebSocket close code 1006" in gc_log.text
    await c.disconnect()


async def test_closing_a_stream_cancels_its_tasks_and_no_other_streams():
    c = await connected(demux_of(AsyncWebsocketDemultiplexer, a=Ticking, b=Ticking))
    await c.send_json_to({"stream": "a", "payload": {}})
    await c.send_json_to({"stream": "b", "payload": {}})
    seen = set()
    while seen != {"a", "b"}:
        seen.add((await c.receive_json_from(1))["stream"])
    await c.send_json_to({"stream": "a", "payload": {"bye": True}})
    while (frame := await c.receive_json_from(1)) != {"stream": "a", "close": True}:
        assert frame["payload"] == {"tick": True}
    # From here on only b ticks (a's ticker was cancelled with its stream).
    for _ in range(5):
        assert await c.receive_json_from(1) == {
            "stream": "b",
            "payload": {"tick": True},
        }
    await c.disconnect()


async def test_a_named_channel_consumer_closes_a_mapped_stream():
    def stats(message):
        message.reply_channel.send(WebsocketMultiplexer.encode_close("stats", 4000))

    class Demux(WebsocketDemultiplexer):
        mapping = {"stats": "test.stats"}

    app = RoutingApplication([route_class(Demux), route("test.stats", stats)])
    app.start_workers()
    try:
        c = WebsocketCommunicator(app, "/")
        assert (await c.connect(timeout=1))[0]
        await c.send_json_to({"stream": "stats", "payload": {}})
        assert await c.receive_json_from(2) == {"stream": "stats", "close": 4000}
        await c.disconnect()
    finally:
        await app.stop_workers()


def test_encode_close_refuses_bad_codes():
    with pytest.raises(ValueError, match="Invalid WebSocket close code 1001"):
        WebsocketMultiplexer.encode_close("s", 1001)
    assert WebsocketMultiplexer.encode_close("s") == {
        "text": '{"stream":"s","close":true}'
    }


class TestTheOneXClientSeesTheStreamClose(ChannelTestCase):
    def test_close_frame_in_the_reply_channel(self):
        with apply_routes([route_class(demux_of(WebsocketDemultiplexer, a=Closable))]):
            client = WSClient()
            client.send_and_consume("websocket.connect", path="/")
            client.send_and_consume(
                "websocket.receive", text={"stream": "a", "payload": {"bye": True}}
            )
            assert client.receive() == {"stream": "a", "close": True}


async def test_stream_task_started_then_closed_from_a_sync_stream_consumer():
    # Sync stream consumer: close() from its thread cancels the task it started.
    ended = asyncio.Event()

    class SyncTicking(JsonWebsocketConsumer):
        def receive(self, content, multiplexer=None, **kwargs):
            if "bye" in content:
                multiplexer.close()
                return

            async def wait():
                try:
                    await asyncio.Event().wait()
                finally:
                    ended.set()

            self.start_task("wait", wait)
            multiplexer.send({"started": True})

    c = await connected(demux_of(WebsocketDemultiplexer, a=SyncTicking))
    await c.send_json_to({"stream": "a", "payload": {}})
    assert await c.receive_json_from(1) == {"stream": "a", "payload": {"started": True}}
    await c.send_json_to({"stream": "a", "payload": {"bye": True}})
    assert await c.receive_json_from(1) == {"stream": "a", "close": True}
    await asyncio.wait_for(ended.wait(), 2)
    await c.disconnect()
