"""What reaches a socket's reply channel on channels_redis is never lost to another
socket closing.

channels_redis lets the receivers of one process take turns popping the process's
shared key; cancelling the one whose pop is under way drops what it popped, for every
socket of the process (django/channels#1683). Sockets close all the time, so each
socket here reads from a mailbox instead, fed by one reader per process that is never
cancelled while a socket lives. These tests use a real redis-server.
"""

from __future__ import annotations

import asyncio
import time

import pytest
from channels.testing import WebsocketCommunicator
from channels_redis.core import RedisChannelLayer

from generic_consumers import route_class
from generic_consumers.asgi import RoutingApplication
from generic_consumers.generic.websockets import JsonWebsocketConsumer
from generic_consumers.runtime import mailbox
from generic_consumers.runtime.registry import sockets

from .redis_server import RedisServer

pytestmark = pytest.mark.redis

ROUNDS = 30


@pytest.fixture(scope="module")
def redis_url():
    server = RedisServer().start()
    yield server.url
    server.stop()


@pytest.fixture
def redis_layer(redis_url, settings):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [redis_url]},
        }
    }
    return redis_url


async def broadcast(layer: RedisChannelLayer, text: str) -> None:
    message = {"type": "generic_consumers.message", "content": {"text": text}}
    await layer.group_send("replies-room", message)


def popping(task: asyncio.Task | None) -> bool:
    """Whether ``task`` waits inside channels_redis' blocking pop."""
    frame = task.get_coro() if task is not None else None
    while frame is not None:
        code = getattr(frame, "cr_code", None)
        if code is not None and code.co_name == "_brpop_with_clean":
            return True
        frame = getattr(frame, "cr_await", None)
    return False


class Room(JsonWebsocketConsumer):
    groups = ["replies-room"]


async def test_a_socket_closing_loses_nothing_for_the_others(redis_layer):
    app = RoutingApplication([route_class(Room, path=r"^/room/$")])
    stayer = WebsocketCommunicator(app, "/room/")
    assert (await stayer.connect(timeout=10))[0]
    # Another process's view of the layer: it sends, it does not receive.
    elsewhere = RedisChannelLayer(hosts=[redis_layer])
    try:
        for n in range(ROUNDS):
            leaver = WebsocketCommunicator(app, "/room/")
            assert (await leaver.connect(timeout=10))[0]
            # The first message lets the readers take turns (on channels_redis the
            # leaver's reader pops next); the second is under way when it closes.
            await broadcast(elsewhere, f"{n}a")
            await asyncio.sleep(0.05)
            await broadcast(elsewhere, f"{n}b")
            await leaver.disconnect()
        got = [await stayer.receive_from(timeout=10) for _ in range(2 * ROUNDS)]
        assert got == [f"{n}{part}" for n in range(ROUNDS) for part in "ab"]
    finally:
        await stayer.disconnect()
        await elsewhere.flush()


async def test_a_reader_cancelled_mid_pop_loses_nothing_for_the_others(redis_layer):
    # The worst moment, made certain: Redis has handed the leaver's reader a message
    # for the stayer (a blocking client sends it without yielding to this loop), and
    # the leaver's reader is cancelled before it could read the answer.
    import redis

    from generic_consumers.layers import channel_layers

    app = RoutingApplication([route_class(Room, path=r"^/room/$")])
    stayer = WebsocketCommunicator(app, "/room/")
    assert (await stayer.connect(timeout=10))[0]
    (first,) = sockets.of_loop(asyncio.get_running_loop())
    leaver = WebsocketCommunicator(app, "/room/")
    assert (await leaver.connect(timeout=10))[0]
    (second,) = set(sockets.of_loop(asyncio.get_running_loop())) - {first}
    raw = channel_layers["default"].raw
    elsewhere = RedisChannelLayer(hosts=[redis_layer])
    client = redis.Redis.from_url(redis_layer)
    try:
        # One message first, so the readers have taken turns.
        await broadcast(elsewhere, "warm")
        assert await stayer.receive_from(timeout=10) == "warm"
        assert await leaver.receive_from(timeout=10) == "warm"
        await asyncio.sleep(0.1)
        # channels_redis: the socket whose reader is popping leaves; with one reader
        # per process no socket's is, and either may leave.
        if popping(first._listener):
            first, second, stayer, leaver = second, first, leaver, stayer
        message = {
            "type": "generic_consumers.message",
            "content": {"text": "for the stayer"},
            "__asgi_channel__": first.reply_channel,
        }
        key = raw.prefix + raw.non_local_name(first.reply_channel)
        client.zadd(key, {raw.serialize(message): time.time()})
        second._listener.cancel()
        assert await stayer.receive_from(timeout=5) == "for the stayer"
    finally:
        client.close()
        await leaver.disconnect()
        await stayer.disconnect()
        await elsewhere.flush()


async def test_one_reader_per_process_and_it_stops_when_the_sockets_are_gone(
    redis_layer,
):
    app = RoutingApplication([route_class(Room, path=r"^/room/$")])
    socket = WebsocketCommunicator(app, "/room/")
    assert (await socket.connect(timeout=10))[0]
    another = WebsocketCommunicator(app, "/room/")
    assert (await another.connect(timeout=10))[0]
    assert len(mailbox.readers()) == 1
    await socket.disconnect()
    await another.disconnect()
    assert len(sockets) == 0
    # The reader ends by itself once its pop times out with no socket left.
    for _ in range(100):  # up to 5 s; IDLE_POP is 2 s
        if not mailbox.readers():
            break
        await asyncio.sleep(0.05)
    assert mailbox.readers() == []


async def test_a_mailbox_holds_what_the_layer_would_and_drops_the_oldest(
    redis_url, gc_log
):
    # A socket that does not read costs its process at most the layer's capacity.
    raw = RedisChannelLayer(hosts=[redis_url], capacity=3)
    channel = await mailbox.new_channel(raw)
    next_message = mailbox.receiver(raw, channel)
    try:
        for n in range(8):
            await raw.send(channel, {"type": "m", "n": n})
        key = raw.prefix + raw.non_local_name(channel)
        connection = raw.connection(raw.consistent_hash(raw.non_local_name(channel)))
        for _ in range(100):  # the reader pops them all (bounded wait)
            if not await connection.zcard(key) and mailbox.readers():
                break
            await asyncio.sleep(0.02)
        await asyncio.sleep(0.05)
        got = [(await next_message())["n"] for _ in range(3)]
        assert got == [5, 6, 7]
        lines = [r.getMessage() for r in gc_log.records if "Dropped" in r.getMessage()]
        assert len(lines) == 1 and channel in lines[0], lines
    finally:
        mailbox.close(raw, channel)
        await mailbox.stop_readers()
        await raw.flush()
