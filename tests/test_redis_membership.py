"""Group changes a turn makes in a row reach channels_redis together, in order.

A socket joining ten ``connection_groups`` used to cost twenty round trips (ZADD and
EXPIRE per group); they now go in one pipeline. These tests use a real redis-server
and check what Redis holds afterwards.
"""

from __future__ import annotations

import asyncio

import pytest
from channels.testing import WebsocketCommunicator
from channels_redis.core import RedisChannelLayer

from generic_consumers import route_class
from generic_consumers.asgi import RoutingApplication
from generic_consumers.generic.websockets import (
    AsyncJsonWebsocketConsumer,
    JsonWebsocketConsumer,
)
from generic_consumers.runtime.membership import change_many

from .redis_server import RedisServer

pytestmark = pytest.mark.redis

GROUPS = [f"join-{i}" for i in range(10)]


@pytest.fixture(scope="module")
def redis_url():
    server = RedisServer().start()
    yield server.url
    server.stop()


async def members(layer: RedisChannelLayer, group: str) -> set[str]:
    connection = layer.connection(layer.consistent_hash(group))
    return {m.decode() for m in await connection.zrange(layer._group_key(group), 0, -1)}


async def test_change_many_keeps_the_order_of_each_pair(redis_url):
    layer = RedisChannelLayer(hosts=[redis_url], group_expiry=60)
    changes = [(group, "x!a", True) for group in GROUPS]
    changes += [("join-3", "x!a", False)]  # joined, then left
    changes += [("join-4", "x!a", False), ("join-4", "x!a", True)]  # left, back
    changes += [("join-5", "x!b", True)]
    await change_many(layer, changes)

    assert await members(layer, "join-3") == set()
    assert await members(layer, "join-4") == {"x!a"}
    assert await members(layer, "join-5") == {"x!a", "x!b"}
    connection = layer.connection(0)
    ttl = await connection.ttl(layer._group_key("join-0"))
    assert 0 < ttl <= 60  # the expiry group_add sets
    # channels_redis reads what the pipeline wrote: a group send reaches the member.
    channel = await layer.new_channel()
    await change_many(layer, [("join-9", channel, True), ("join-8", channel, True)])
    await layer.group_send("join-8", {"type": "hello"})
    assert await asyncio.wait_for(layer.receive(channel), 5) == {"type": "hello"}
    await layer.flush()


async def test_change_many_refuses_bad_names_before_sending(redis_url):
    layer = RedisChannelLayer(hosts=[redis_url])
    with pytest.raises(TypeError, match="Group name must be a valid"):
        await change_many(layer, [("ok", "x!a", True), ("bad name", "x!a", True)])
    assert await members(layer, "ok") == set()  # nothing of the batch went out
    await layer.flush()


class SyncTen(JsonWebsocketConsumer):
    groups = GROUPS


class AsyncTen(AsyncJsonWebsocketConsumer):
    groups = GROUPS


@pytest.mark.parametrize("consumer", [SyncTen, AsyncTen])
async def test_connection_groups_are_joined_before_the_accept(
    redis_url, settings, consumer
):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [redis_url]},
        }
    }
    app = RoutingApplication([route_class(consumer, path=r"^/ten/$")])
    socket = WebsocketCommunicator(app, "/ten/")
    connected, _ = await socket.connect(timeout=10)
    assert connected
    layer = RedisChannelLayer(hosts=[redis_url])
    holders = [await members(layer, group) for group in GROUPS]
    assert all(len(h) == 1 for h in holders), holders
    assert len(set().union(*holders)) == 1  # the same reply channel everywhere
    await socket.disconnect()
    for _ in range(200):  # leaving happens after the close: wait for it, bounded
        if not any([await members(layer, group) for group in GROUPS]):
            break
        await asyncio.sleep(0.02)
    assert not any([await members(layer, group) for group in GROUPS])
    await layer.flush()


async def test_pubsub_socket_elsewhere_hears_of_its_new_group(redis_url, settings):
    # A consumer in one process adds a socket of another process to a group: the
    # socket's process must be told, or the socket never leaves that group.
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.pubsub.RedisPubSubChannelLayer",
            "CONFIG": {"hosts": [redis_url]},
        }
    }
    from generic_consumers import Group
    from generic_consumers.layers import channel_layers

    raw = channel_layers["default"].raw
    elsewhere = await raw.new_channel()  # a reply channel no socket here owns
    await Group("pubsub-room").aadd(elsewhere)
    notice = await asyncio.wait_for(raw.receive(elsewhere), 5)
    assert notice == {
        "type": "generic_consumers.membership",
        "group": "pubsub-room",
        "joined": True,
    }
    await raw.flush()
