"""The generic consumers, sync and async twins, through RoutingApplication."""

import datetime
import decimal

import pytest
from channels.testing import WebsocketCommunicator

from generic_consumers import Group, route_class
from generic_consumers.asgi import RoutingApplication
from generic_consumers.generic.base import AsyncBaseConsumer, BaseConsumer
from generic_consumers.generic.websockets import (
    AsyncJsonWebsocketConsumer,
    AsyncWebsocketConsumer,
    JsonWebsocketConsumer,
    WebsocketConsumer,
)

from .conftest import members, settle


def serve(consumer, **filters):
    return RoutingApplication([route_class(consumer, **filters)])


async def open_socket(app, path="/"):
    communicator = WebsocketCommunicator(app, path)
    ok, _ = await communicator.connect(timeout=1)
    assert ok
    return communicator


# The hooks that are ``async def`` in the async twins.
ASYNC_HOOKS = {"connect", "receive", "disconnect", "handle_invalid_frame", "handle"}


@pytest.fixture(params=["sync", "async"])
def twin(request):
    """The sync class or its async twin, and a helper to call maybe-async methods."""
    sync = request.param == "sync"

    class Twin:
        Ws = WebsocketConsumer if sync else AsyncWebsocketConsumer
        Json = JsonWebsocketConsumer if sync else AsyncJsonWebsocketConsumer
        Base = BaseConsumer if sync else AsyncBaseConsumer

        @staticmethod
        def define(name, base, **methods):
            """A subclass whose methods are def (sync) or async def (async)."""
            body = {}
            for attr, func in methods.items():
                if sync or attr not in ASYNC_HOOKS:
                    body[attr] = func
                else:

                    def wrap(func=func):
                        async def method(self, *args, **kwargs):
                            result = func(self, *args, **kwargs)
                            if hasattr(result, "__await__"):
                                await result
                            return None

                        return method

                    body[attr] = wrap()
            return type(name, (base,), body)

    return Twin


async def test_base_consumer_dispatches_by_method_mapping(twin):
    calls = []
    Consumer = twin.define(
        "Consumer",
        twin.Base,
        method_mapping={"tests.base": "handle"},
        handle=lambda self, message, **kw: calls.append(
            (type(self).__name__, message["v"], kw, self.kwargs)
        ),
    )
    app = RoutingApplication(
        [Consumer.as_route(key=r"^(?P<k>\w+)$"), route_class(twin.Ws)]
    )
    c = await open_socket(app)
    from generic_consumers import Channel

    await Channel("tests.base").asend({"v": 1, "key": "abc"})
    await settle()
    assert calls == [("Consumer", 1, {"k": "abc"}, {"k": "abc"})]
    assert Consumer.channel_names() == {"tests.base"}
    await c.disconnect()
    await app.stop_workers()


def test_base_consumer_is_instantiated_per_message_and_returns_instance():
    class Consumer(BaseConsumer):
        method_mapping = {"x": "handle"}

        def handle(self, message, **kwargs):
            self.handled = (message["v"], kwargs)

    from generic_consumers.message import Message

    instance = Consumer(Message({"v": 2}, "x", None), a="b")
    assert instance.handled == (2, {"a": "b"})
    assert instance.kwargs == {"a": "b"}


async def test_async_base_consumer_awaits_to_the_instance():
    class Consumer(AsyncBaseConsumer):
        method_mapping = {"x": "handle"}

        async def handle(self, message, **kwargs):
            self.handled = message["v"]

    from generic_consumers.message import Message

    instance = await Consumer(Message({"v": 3}, "x", None))
    assert instance.handled == 3 and Consumer.is_async is True


def test_get_handler_refuses_underscore_names_and_unmapped_channels():
    from generic_consumers.message import Message

    class Sneaky(BaseConsumer):
        method_mapping = {"x": "_private", "y": "__init__"}

        def _private(self, message, **kwargs):  # pragma: no cover - refused
            raise AssertionError("must not run")

    for channel in ("x", "y"):
        with pytest.raises(ValueError, match="starting with '_'"):
            Sneaky(Message({}, channel, None))
    with pytest.raises(KeyError, match="'z'"):
        Sneaky(Message({}, "z", None))


async def test_websocket_consumer_default_connect_accepts_and_echo(twin):
    Echo = twin.define(
        "Echo",
        twin.Ws,
        receive=lambda self, text=None, bytes=None, **kw: self.send(
            text=f"{text}|{self.path}|{kw['room']}" if text else None,
            bytes=bytes,
        ),
    )
    c = await open_socket(serve(Echo, path=r"^/r/(?P<room>\w+)/$"), "/r/blue/")
    await c.send_to(text_data="hi")
    assert await c.receive_from(1) == "hi|/r/blue/|blue"
    await c.send_to(bytes_data=b"raw")
    assert await c.receive_output(1) == {"type": "websocket.send", "bytes": b"raw"}
    await c.disconnect()


async def test_connection_groups_joined_and_left(twin):
    Grouped = twin.define(
        "Grouped",
        twin.Ws,
        connection_groups=lambda self, **kw: ["all", f"room-{kw['room']}"],
    )
    app = serve(Grouped, path=r"^/(?P<room>\w+)/$")
    a = await open_socket(app, "/a/")
    b = await open_socket(app, "/b/")
    assert len(members("all")) == 2 and len(members("room-a")) == 1
    await Group("room-a").asend({"text": "only a"})
    assert await a.receive_from(1) == "only a"
    assert await b.receive_nothing(0.05)
    await a.disconnect()
    await settle()
    assert len(members("all")) == 1 and not members("room-a")
    await b.disconnect()


async def test_groups_attribute_string_is_one_group(twin):
    Chat = twin.define("Chat", twin.Ws, groups="chat")
    c = await open_socket(serve(Chat))
    assert len(members("chat")) == 1 and not members("c")
    await c.disconnect()


async def test_group_send_classmethod_and_close(twin):
    sync = twin.Ws is WebsocketConsumer

    if sync:

        class Shout(WebsocketConsumer):
            groups = ["shout"]

            def receive(self, text=None, bytes=None, **kwargs):
                if text == "close":
                    self.close(4005)
                else:
                    self.group_send("shout", text=text)

    else:

        class Shout(AsyncWebsocketConsumer):
            groups = ["shout"]

            async def receive(self, text=None, bytes=None, **kwargs):
                if text == "close":
                    await self.close(4005)
                else:
                    await self.group_send("shout", text=text)

    app = serve(Shout)
    a, b = await open_socket(app), await open_socket(app)
    await a.send_to(text_data="all")
    assert await a.receive_from(1) == "all" and await b.receive_from(1) == "all"
    await b.send_to(text_data="close")
    assert await b.receive_output(1) == {"type": "websocket.close", "code": 4005}
    await a.disconnect()


async def test_send_without_text_or_bytes_raises_and_is_logged(twin, gc_log):
    Bad = twin.define(
        "Bad", twin.Ws, receive=lambda self, *a, **kw: self.send(close=True)
    )
    c = await open_socket(serve(Bad))
    await c.send_to(text_data="x")
    assert await c.receive_nothing(0.1)
    assert "ValueError" in gc_log.text
    await c.disconnect()


async def test_slight_ordering_refused(twin, gc_log):
    Slight = twin.define("Slight", twin.Ws, slight_ordering=True)
    ok, _ = await WebsocketCommunicator(serve(Slight), "/").connect(timeout=1)
    assert not ok
    assert "slight_ordering is no longer supported" in gc_log.text


async def test_json_consumer_round_trip_with_django_encoder(twin):
    Json = twin.define(
        "Json",
        twin.Json,
        receive=lambda self, content, **kw: self.send(
            {
                "got": content,
                "when": datetime.date(2026, 11, 21),
                "amount": decimal.Decimal("1.50"),
            }
        ),
    )
    c = await open_socket(serve(Json))
    await c.send_json_to({"a": [1, 2]})
    assert await c.receive_json_from(1) == {
        "got": {"a": [1, 2]},
        "when": "2026-11-21",
        "amount": "1.50",
    }
    await c.disconnect()


@pytest.mark.parametrize(
    "frame, reason",
    [({"bytes_data": b"\x00"}, "binary frame"), ({"text_data": "{nope"}, "not valid")],
)
async def test_json_consumer_invalid_frames_logged_socket_stays_open(
    twin, gc_log, frame, reason
):
    Json = twin.define(
        "Json", twin.Json, receive=lambda self, content, **kw: self.send(content)
    )
    c = await open_socket(serve(Json, path=r"^/j/$"), "/j/")
    await c.send_to(**frame)
    await c.send_json_to({"still": "open"})
    assert await c.receive_json_from(1) == {"still": "open"}
    assert f"Json refused a frame on '/j/': {reason}" in gc_log.text
    await c.disconnect()


async def test_json_consumer_invalid_frame_hook_can_close(twin):
    Strict = twin.define(
        "Strict",
        twin.Json,
        handle_invalid_frame=lambda self, reason, **kw: self.close(4000),
    )
    c = await open_socket(serve(Strict))
    await c.send_to(text_data="not json")
    assert await c.receive_output(1) == {"type": "websocket.close", "code": 4000}


async def test_json_group_send_and_custom_codec(twin):
    import json

    from asgiref.sync import sync_to_async

    Custom = twin.define(
        "Custom",
        twin.Json,
        groups=["j"],
        encode_json=classmethod(lambda cls, content: json.dumps(content).upper()),
    )
    c = await open_socket(serve(Custom))
    if twin.Json is JsonWebsocketConsumer:
        # The sync classmethod is for sync code (a view, a task): run it off the loop.
        await sync_to_async(Custom.group_send)("j", {"k": "v"}, close=True)
    else:
        await Custom.group_send("j", {"k": "v"}, close=True)
    assert await c.receive_from(1) == '{"K": "V"}'
    assert await c.receive_output(1) == {"type": "websocket.close", "code": 1000}


def test_close_validates_status():
    from generic_consumers.message import Message

    consumer = object.__new__(WebsocketConsumer)
    consumer.message = Message({"reply_channel": "r!x"}, "websocket.receive", None)
    with pytest.raises(ValueError, match="close code"):
        consumer.close(2000)


async def test_sync_user_code_runs_off_the_loop_and_defaults_on_it(monkeypatch):
    import threading

    from generic_consumers.generic import websockets as ws_module

    loop_thread = threading.current_thread()
    seen = {}

    class Mine(JsonWebsocketConsumer):
        def receive(self, content, **kwargs):
            seen["receive"] = threading.current_thread()
            self.send(content)

    class Overriding(JsonWebsocketConsumer):
        def connect(self, message, **kwargs):
            seen["connect"] = threading.current_thread()
            super().connect(message, **kwargs)

    real_connect = ws_module.WebsocketConsumer.connect

    def spy_connect(self, message, **kwargs):
        seen.setdefault("default connect", threading.current_thread())
        real_connect(self, message, **kwargs)

    monkeypatch.setattr(ws_module.WebsocketConsumer, "connect", spy_connect)
    # The patch changes what counts as "the default": compare against it.
    c = await open_socket(serve(Mine))
    await c.send_json_to({"x": 1})
    assert await c.receive_json_from(1) == {"x": 1}
    await c.disconnect()
    other = await open_socket(serve(Overriding))
    await other.disconnect()
    assert seen["receive"] is not loop_thread
    assert seen["connect"] is not loop_thread
    assert seen["default connect"] is loop_thread
