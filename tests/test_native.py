"""Native Channels 4 consumers beside the 1.x routing in ``get_application()``."""

import json

import pytest
from channels.generic.websocket import AsyncWebsocketConsumer
from channels.testing import WebsocketCommunicator
from django.urls import path, re_path

from generic_consumers import Group, route, route_class
from generic_consumers.asgi import get_application
from generic_consumers.generic.websockets import JsonWebsocketConsumer

from .redis_server import RedisServer

# Native consumers close stale DB connections around every event (Channels' own
# hygiene), which touches the database.
pytestmark = pytest.mark.django_db(transaction=True)


class LegacyRoom(JsonWebsocketConsumer):
    """A 1.x consumer in the group "shared"; echoes frames to the group."""

    def connection_groups(self, **kwargs):
        return ["shared"]

    def receive(self, content, **kwargs):
        self.group_send("shared", {"from": "legacy", **content})


def legacy_catch_all(message, **kwargs):
    message.reply_channel.send({"accept": True})
    message.reply_channel.send({"text": json.dumps({"served_by": "legacy"})})


class NativeRoom(AsyncWebsocketConsumer):
    """A native consumer in the same group; says what the middleware gave it."""

    async def connect(self):
        await self.channel_layer.group_add("shared", self.channel_name)
        await self.accept()
        await self.send(
            json.dumps(
                {
                    "served_by": "native",
                    "session": "session" in self.scope,
                    "user": str(self.scope.get("user")),
                }
            )
        )

    async def disconnect(self, code):
        await self.channel_layer.group_discard("shared", self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        content = {"text": json.dumps({"from": "native", "said": text_data})}
        if text_data == "raw":
            # The layer's own API, with the envelope 1.x sockets understand.
            await self.channel_layer.group_send(
                "shared", {"type": "generic_consumers.message", "content": content}
            )
        else:
            await Group("shared").asend(content)

    async def generic_consumers_message(self, event):
        """What a 1.x ``Group("shared").send({...})`` arrives as."""
        if "text" in event["content"]:
            await self.send(event["content"]["text"])


ROUTING = [
    route_class(LegacyRoom, path=r"^/room/$"),
    route("websocket.connect", legacy_catch_all, path=r"^/legacy/"),
]


def application(**kwargs):
    return get_application(ROUTING, **kwargs)


async def opened(app, path, **kwargs):
    communicator = WebsocketCommunicator(app, path, **kwargs)
    ok, _ = await communicator.connect(timeout=2)
    assert ok, path
    return communicator


async def test_native_before_wins_over_the_legacy_routing():
    app = application(native_before=[path("legacy/graphql/", NativeRoom.as_asgi())])
    native = await opened(app, "/legacy/graphql/")
    legacy = await opened(app, "/legacy/other/")
    assert json.loads(await native.receive_from(2))["served_by"] == "native"
    assert json.loads(await legacy.receive_from(2)) == {"served_by": "legacy"}
    await native.disconnect()
    await legacy.disconnect()


async def test_native_after_serves_only_what_the_legacy_routing_does_not():
    app = application(native_after=[re_path(r"", NativeRoom.as_asgi())])
    legacy = await opened(app, "/legacy/x/")
    native = await opened(app, "/graphql/")
    assert json.loads(await legacy.receive_from(2)) == {"served_by": "legacy"}
    assert json.loads(await native.receive_from(2))["served_by"] == "native"
    await native.disconnect()
    await legacy.disconnect()


async def test_native_unrouted_everywhere_is_rejected_by_the_legacy_side():
    app = application(native_after=[path("graphql/", NativeRoom.as_asgi())])
    communicator = WebsocketCommunicator(app, "/nowhere/")
    ok, _ = await communicator.connect(timeout=2)
    assert not ok


async def test_native_routes_get_sessions_and_the_origin_check():
    app = application(native_before=[path("graphql/", NativeRoom.as_asgi())])
    native = await opened(app, "/graphql/")
    hello = json.loads(await native.receive_from(2))
    assert hello == {"served_by": "native", "session": True, "user": "AnonymousUser"}
    await native.disconnect()
    # One origin check for both kinds of socket.
    for where in ("/graphql/", "/room/"):
        bad = WebsocketCommunicator(
            app, where, headers=[(b"origin", b"http://evil.example")]
        )
        ok, _ = await bad.connect(timeout=2)
        assert not ok, where


async def groups_shared_by_both(raw: bool):
    app = application(native_before=[path("graphql/", NativeRoom.as_asgi())])
    native = await opened(app, "/graphql/")
    await native.receive_from(2)  # hello
    legacy = await opened(app, "/room/")
    # 1.x Group.send (through the consumer's group_send) reaches the native consumer.
    await legacy.send_json_to({"n": 1})
    assert await legacy.receive_json_from(2) == {"from": "legacy", "n": 1}
    assert json.loads(await native.receive_from(2)) == {"from": "legacy", "n": 1}
    # Native code reaches the 1.x socket.
    await native.send_to("raw" if raw else "hello")
    said = "raw" if raw else "hello"
    assert await legacy.receive_json_from(2) == {"from": "native", "said": said}
    assert json.loads(await native.receive_from(2)) == {"from": "native", "said": said}
    await native.disconnect()
    await legacy.disconnect()


async def test_native_groups_shared_with_legacy_sockets_in_memory():
    await groups_shared_by_both(raw=False)


@pytest.fixture(scope="module")
def redis_url():
    server = RedisServer().start()
    yield server.url
    server.stop()


@pytest.mark.redis
@pytest.mark.parametrize("raw", [False, True], ids=["Group.asend", "group_send"])
async def test_native_groups_shared_with_legacy_sockets_on_redis(
    redis_url, settings, raw
):
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [redis_url]},
        }
    }
    await groups_shared_by_both(raw=raw)
