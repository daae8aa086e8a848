"""Keepalive pings: sync and async consumers, plain and multiplexed, the setting, the
system check, and the 1.x test client (which has no socket to ping)."""

import asyncio
import datetime
import logging

import pytest
from channels.testing import WebsocketCommunicator
from django.core.checks import run_checks

from generic_consumers import Channel, route_class
from generic_consumers.asgi import RoutingApplication
from generic_consumers.generic.websockets import (
    AsyncJsonWebsocketConsumer,
    AsyncWebsocketDemultiplexer,
    JsonWebsocketConsumer,
    WebsocketConsumer,
    WebsocketDemultiplexer,
)
from generic_consumers.runtime.registry import sockets
from generic_consumers.runtime.replies import SocketState
from generic_consumers.runtime.tasks import KEEPALIVE_ID
from generic_consumers.test import ChannelTestCase, WSClient

FAST = 0.02  # seconds between pings in these tests


def serve(consumer, **filters):
    return RoutingApplication([route_class(consumer, **filters)])


async def connected(app, path="/"):
    communicator = WebsocketCommunicator(app, path)
    ok, _ = await communicator.connect(timeout=1)
    assert ok
    return communicator


def only_socket():
    (name,) = list(sockets)
    return sockets.get(name)


def keepalive_tasks():
    return [
        task
        for task in asyncio.all_tasks()
        if KEEPALIVE_ID in task.get_name() and not task.done()
    ]


class AsyncEcho(AsyncJsonWebsocketConsumer):
    keepalive_interval = FAST

    async def receive(self, content, **kwargs):
        await self.send({"echo": content})


class SyncEcho(JsonWebsocketConsumer):
    keepalive_interval = FAST

    def receive(self, content, **kwargs):
        self.send({"echo": content})


@pytest.mark.parametrize("consumer", [AsyncEcho, SyncEcho])
async def test_json_consumers_ping_with_the_iso_time_until_disconnect(consumer):
    c = await connected(serve(consumer))
    ping = await c.receive_json_from(1)
    assert set(ping) == {"ping"}
    sent = datetime.datetime.fromisoformat(ping["ping"])
    assert sent.tzinfo is not None  # UTC, said so
    assert abs(datetime.datetime.now(datetime.UTC) - sent).total_seconds() < 60
    # Frames and pings share the socket: the echo still arrives, between pings.
    await c.send_json_to({"n": 1})
    while (frame := await c.receive_json_from(1)) != {"echo": {"n": 1}}:
        assert set(frame) == {"ping"}
    assert len(keepalive_tasks()) == 1
    await c.disconnect()
    for _ in range(100):
        if not keepalive_tasks():
            break
        await asyncio.sleep(0.01)
    assert keepalive_tasks() == []  # stopped at disconnect


async def test_plain_consumer_pings_with_its_text_from_the_setting(settings):
    settings.GENERIC_CONSUMERS = {**settings.GENERIC_CONSUMERS}
    settings.GENERIC_CONSUMERS["KEEPALIVE_INTERVAL"] = FAST

    class Heartbeat(WebsocketConsumer):
        keepalive_text = "hb"

    c = await connected(serve(Heartbeat))
    assert await c.receive_from(1) == "hb"
    assert await c.receive_from(1) == "hb"
    await c.disconnect()


async def test_keepalive_frame_can_be_overridden():
    class Counting(AsyncJsonWebsocketConsumer):
        keepalive_interval = FAST
        sent = 0

        def keepalive_frame(self):
            type(self).sent += 1
            return self.encode_json({"beat": type(self).sent})

    c = await connected(serve(Counting))
    assert await c.receive_json_from(1) == {"beat": 1}
    assert await c.receive_json_from(1) == {"beat": 2}
    await c.disconnect()


async def test_zero_interval_overrides_the_setting_and_costs_no_task(settings):
    settings.GENERIC_CONSUMERS = {**settings.GENERIC_CONSUMERS}
    settings.GENERIC_CONSUMERS["KEEPALIVE_INTERVAL"] = FAST

    class Quiet(AsyncEcho):
        keepalive_interval = 0

    c = await connected(serve(Quiet))
    await c.send_json_to({"n": 1})
    assert await c.receive_json_from(1) == {"echo": {"n": 1}}
    assert only_socket().tasks is None
    await c.disconnect()


async def test_no_keepalive_by_default_creates_no_task():
    class Plain(AsyncJsonWebsocketConsumer):
        async def receive(self, content, **kwargs):
            await self.send(content)

    c = await connected(serve(Plain))
    await c.send_json_to({"n": 1})
    assert await c.receive_json_from(1) == {"n": 1}
    assert only_socket().tasks is None
    await c.disconnect()


async def test_no_ping_while_the_handshake_waits_for_an_answer(gc_log):
    # A connect that leaves the decision to someone else: a ping in the meantime
    # would accept the socket (a first frame accepts, as in 1.x).
    class Undecided(AsyncJsonWebsocketConsumer):
        keepalive_interval = FAST

        async def connect(self, message, **kwargs):
            pass

    c = WebsocketCommunicator(serve(Undecided), "/")
    connecting = asyncio.ensure_future(c.connect(timeout=2))
    for _ in range(100):
        if list(sockets) and only_socket().tasks is not None:
            break
        await asyncio.sleep(0.01)
    socket = only_socket()
    await asyncio.sleep(FAST * 5)  # several ping intervals pass
    assert socket.state is SocketState.HANDSHAKE
    await Channel(socket.reply_channel).asend({"accept": True})
    ok, _ = await connecting
    assert ok
    assert set(await c.receive_json_from(1)) == {"ping"}
    await c.disconnect()


class Stream(JsonWebsocketConsumer):
    keepalive_interval = FAST  # ignored behind a demultiplexer

    def receive(self, content, multiplexer=None, **kwargs):
        multiplexer.send({"echo": content})


class SyncDemux(WebsocketDemultiplexer):
    keepalive_interval = FAST
    consumers = {"a": Stream, "b": Stream}


class AsyncDemux(AsyncWebsocketDemultiplexer):
    keepalive_interval = FAST
    consumers = {"a": Stream, "b": Stream}


@pytest.mark.parametrize("demux", [SyncDemux, AsyncDemux])
async def test_demultiplexer_pings_once_per_socket_not_per_stream(demux):
    c = await connected(serve(demux))
    await c.send_json_to({"stream": "a", "payload": {"n": 1}})
    pings = 0
    while (frame := await c.receive_json_from(1)) != {
        "stream": "a",
        "payload": {"echo": {"n": 1}},
    }:
        assert set(frame) == {"ping"}  # never framed for a stream
        pings += 1
    assert len(only_socket().tasks) == 1
    assert len(keepalive_tasks()) == 1
    await c.disconnect()


async def test_stream_consumers_do_not_ping_without_the_demultiplexer_asking():
    class Demux(AsyncWebsocketDemultiplexer):
        consumers = {"a": Stream}

    c = await connected(serve(Demux))
    await c.send_json_to({"stream": "a", "payload": {"n": 1}})
    echo = {"stream": "a", "payload": {"echo": {"n": 1}}}
    assert await c.receive_json_from(1) == echo
    assert only_socket().tasks is None
    await c.disconnect()


async def test_bad_keepalive_interval_refuses_the_socket_naming_it(gc_log):
    class Bad(AsyncEcho):
        keepalive_interval = "20"

    c = WebsocketCommunicator(serve(Bad), "/")
    ok, _ = await c.connect(timeout=1)
    assert not ok
    assert "keepalive_interval must be a positive number" in gc_log.text
    assert "'20'" in gc_log.text


@pytest.mark.parametrize("value", [-1, "20", True, [5]])
def test_system_check_refuses_bad_keepalive_intervals(settings, value):
    settings.GENERIC_CONSUMERS = {**settings.GENERIC_CONSUMERS}
    settings.GENERIC_CONSUMERS["KEEPALIVE_INTERVAL"] = value
    errors = [e for e in run_checks() if "KEEPALIVE_INTERVAL" in e.msg]
    assert [e.id for e in errors] == ["generic_consumers.E005"]
    assert repr(value) in errors[0].msg


@pytest.mark.parametrize("value", [None, 0, 20, 2.5])
def test_system_check_accepts_good_keepalive_intervals(settings, value):
    settings.GENERIC_CONSUMERS = {**settings.GENERIC_CONSUMERS}
    settings.GENERIC_CONSUMERS["KEEPALIVE_INTERVAL"] = value
    assert not [e for e in run_checks() if "KEEPALIVE_INTERVAL" in e.msg]


class TestClientHasNoPings(ChannelTestCase):
    """A migrated 1.x suite keeps passing when its consumers turn pings on."""

    def test_connect_and_echo_see_no_ping(self):
        from generic_consumers.test import apply_routes

        with apply_routes([route_class(SyncEcho)]):
            client = WSClient()
            client.send_and_consume("websocket.connect", path="/")  # accepted
            client.send_and_consume("websocket.receive", text={"n": 1}, path="/")
            assert client.receive() == {"echo": {"n": 1}}
            assert client.receive() is None


def test_ping_log_level_is_quiet(caplog):
    # Nothing is logged per ping (one line per ping would flood the logs).
    caplog.set_level(logging.DEBUG, logger="generic_consumers")

    async def run():
        c = await connected(serve(AsyncEcho))
        for _ in range(3):
            assert set(await c.receive_json_from(1)) == {"ping"}
        await c.disconnect()

    asyncio.run(run())
    assert not [r for r in caplog.records if "ping" in r.getMessage().lower()]
