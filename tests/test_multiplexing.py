"""Protocol tests for WebsocketMultiplexer and WebsocketDemultiplexer."""

import datetime
import decimal
import json
import logging
import uuid

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator

from generic_consumers import Group, route, route_class
from generic_consumers.asgi import RoutingApplication
from generic_consumers.exceptions import DenyConnection, SendNotAvailableOnDemultiplexer
from generic_consumers.generic.base import BaseConsumer
from generic_consumers.generic.websockets import (
    JsonWebsocketConsumer,
    WebsocketConsumer,
    WebsocketDemultiplexer,
    WebsocketMultiplexer,
)
from generic_consumers.layers import channel_layers
from generic_consumers.runtime import delivery as _envelope
from generic_consumers.runtime.registry import sockets

from .conftest import settle


async def open_socket(routing, path="/demux/"):
    communicator = WebsocketCommunicator(RoutingApplication(routing), path)
    connected, _ = await communicator.connect(timeout=1)
    assert connected
    return communicator


async def send_frame(communicator, stream, payload):
    await communicator.send_json_to({"stream": stream, "payload": payload})


@pytest.fixture
def sent(monkeypatch):
    """Every message that leaves a consumer: delivered to a socket of this process,
    sent through the layer to a channel, or sent to a group."""
    from generic_consumers.runtime.socket import WebsocketSocket

    records = []
    real_send, real_group_send = _envelope.send, _envelope.group_send
    real_deliver = WebsocketSocket.deliver

    async def spy_deliver(socket, content, origin):
        records.append(("send", socket.reply_channel, content))
        await real_deliver(socket, content, origin)

    async def spy_send(layer, name, content, origin):
        if name not in sockets:  # those are seen by spy_deliver
            records.append(("send", name, content))
        await real_send(layer, name, content, origin)

    async def spy_group_send(layer, group, content):
        records.append(("group", group, content))
        await real_group_send(layer, group, content)

    monkeypatch.setattr(WebsocketSocket, "deliver", spy_deliver)
    monkeypatch.setattr(_envelope, "send", spy_send)
    monkeypatch.setattr(_envelope, "group_send", spy_group_send)
    return records


# -- consumers used below -------------------------------------------------------------

calls: list = []


@pytest.fixture(autouse=True)
def clear_calls():
    calls.clear()
    yield
    calls.clear()


class EchoStream(JsonWebsocketConsumer):
    def connect(self, message, **kwargs):
        calls.append(("echo.connect", dict(kwargs), message["path"]))
        super().connect(message, **kwargs)

    def receive(self, content, multiplexer=None, **kwargs):
        calls.append(("echo.receive", content, kwargs))
        multiplexer.send({"echo": content})

    def disconnect(self, message, multiplexer=None, **kwargs):
        calls.append(("echo.disconnect", multiplexer.stream, message["code"]))


class OtherStream(JsonWebsocketConsumer):
    groups = ["other-stream"]

    def connect(self, message, multiplexer=None, **kwargs):
        calls.append(("other.connect", multiplexer.stream))
        super().connect(message, multiplexer=multiplexer, **kwargs)

    def receive(self, content, multiplexer=None, **kwargs):
        multiplexer.send({"other": content})

    def disconnect(self, message, multiplexer=None, **kwargs):
        calls.append(("other.disconnect", multiplexer.stream))


class Demux(WebsocketDemultiplexer):
    consumers = {"echo": EchoStream, "other": OtherStream}


def demux_routing(demux=Demux, **extra):
    return [route_class(demux, path=r"^/demux/(?P<room>[a-z]*)/?$"), *extra.values()]


# -- WebsocketMultiplexer -------------------------------------------------------------


def test_multiplexer_encode_builds_a_stream_frame():
    content = WebsocketMultiplexer.encode("stats", {"n": 1})
    assert list(content) == ["text"]
    assert json.loads(content["text"]) == {"stream": "stats", "payload": {"n": 1}}


def test_multiplexer_encode_json_uses_djangos_encoder():
    when = datetime.datetime(2024, 5, 1, 12, 30, tzinfo=datetime.UTC)
    key = uuid.UUID(int=7)
    text = WebsocketMultiplexer.encode_json(
        {"when": when, "price": decimal.Decimal("1.50"), "key": key}
    )
    assert json.loads(text) == {
        "when": "2024-05-01T12:30:00Z",
        "price": "1.50",
        "key": str(key),
    }


def test_demultiplexer_encode_delegates_to_multiplexer_class():
    class Upper(WebsocketMultiplexer):
        @classmethod
        def encode(cls, stream, payload):
            return {"text": f"{stream.upper()}:{payload['v']}"}

    class Custom(WebsocketDemultiplexer):
        multiplexer_class = Upper

    assert Custom.encode("s", {"v": 1}) == {"text": "S:1"}
    assert WebsocketDemultiplexer.encode("s", {"v": 1}) == WebsocketMultiplexer.encode(
        "s", {"v": 1}
    )


async def test_multiplexer_send_frames_replies_for_its_stream():
    communicator = await open_socket(demux_routing())
    await send_frame(communicator, "echo", {"hello": "world"})
    assert await communicator.receive_json_from(timeout=1) == {
        "stream": "echo",
        "payload": {"echo": {"hello": "world"}},
    }
    await communicator.disconnect()


@pytest.mark.parametrize(("close", "code"), [(4001, 4001), (True, 1000)])
async def test_multiplexer_group_send_passes_close_code_through(close, code):
    communicator = await open_socket(demux_routing())
    # group_send is sync API; run it from a thread as a view or a task would.
    await sync_to_async(WebsocketMultiplexer.group_send)(
        "other-stream", "news", {"n": 1}, close=close
    )
    assert await communicator.receive_json_from(timeout=1) == {
        "stream": "news",
        "payload": {"n": 1},
    }
    output = await communicator.receive_output(timeout=1)
    assert output == {"type": "websocket.close", "code": code}


def test_multiplexer_group_send_refuses_bad_close_code():
    with pytest.raises(ValueError, match="close code"):
        WebsocketMultiplexer.group_send("g", "s", {}, close=1234)


# -- consumers (1.0/1.1) -------------------------------------------------------------


async def test_demultiplexer_connect_reaches_every_stream_with_multiplexer_and_kwargs(
    sent,
):
    communicator = await open_socket(demux_routing(), "/demux/lobby/")
    connects = [c for c in calls if c[0].endswith("connect")]
    assert ("other.connect", "other") in connects
    echo = next(c for c in connects if c[0] == "echo.connect")
    assert echo[1]["room"] == "lobby"
    assert isinstance(echo[1]["multiplexer"], WebsocketMultiplexer)
    assert echo[1]["multiplexer"].stream == "echo"
    assert echo[2] == "/demux/lobby/"
    # Both sub-consumers kept WebsocketConsumer.connect, which accepts: still only
    # the demultiplexer's one accept left the consumer.
    accepts = [r for r in sent if r[0] == "send" and r[2].get("accept")]
    assert len(accepts) == 1
    assert await communicator.receive_nothing(timeout=0.2)
    await communicator.disconnect()


async def test_demultiplexer_receive_goes_to_the_streams_consumer_only():
    communicator = await open_socket(demux_routing(), "/demux/lobby/")
    calls.clear()
    await send_frame(communicator, "echo", {"a": 1})
    assert (await communicator.receive_json_from(timeout=1))["stream"] == "echo"
    ((name, content, kwargs),) = calls
    assert name == "echo.receive"
    assert content == {"a": 1}
    assert kwargs == {"room": "lobby"}
    await send_frame(communicator, "other", {"b": 2})
    assert await communicator.receive_json_from(timeout=1) == {
        "stream": "other",
        "payload": {"other": {"b": 2}},
    }
    await communicator.disconnect()


async def test_demultiplexer_disconnect_reaches_every_stream():
    communicator = await open_socket(demux_routing())
    calls.clear()
    await communicator.disconnect(code=4321)
    await settle(0.2)
    assert ("echo.disconnect", "echo", 4321) in calls
    assert ("other.disconnect", "other") in calls


async def test_demultiplexer_gives_each_stream_its_own_message():
    seen = []

    class Meddler(WebsocketConsumer):
        def connect(self, message, **kwargs):
            seen.append(("meddler", message, message["headers"]))
            message.content["path"] = "/evil/"
            message["headers"].append([b"x-evil", b"1"])
            message["text"] = "overwritten"

        def receive(self, text=None, bytes=None, multiplexer=None, **kwargs):
            seen.append(("meddler.receive", self.message))
            self.message.content["text"] = "changed"
            multiplexer.send({"ok": True})

    class Witness(JsonWebsocketConsumer):
        def connect(self, message, **kwargs):
            seen.append(("witness", message, dict(message.content)))

    class Checked(WebsocketDemultiplexer):
        consumers = {"a": Meddler, "b": Witness}

        def connect(self, message, **kwargs):
            super().connect(message, **kwargs)
            seen.append(("demux", message, dict(message.content)))

        def receive(self, content, **kwargs):
            super().receive(content, **kwargs)
            seen.append(("demux.receive", self.message, dict(self.message.content)))

    communicator = await open_socket([route_class(Checked, path="^/demux/$")])
    (_, m_msg, _), (_, w_msg, w_content), (_, d_msg, d_content) = seen
    assert len({id(m_msg), id(w_msg), id(d_msg)}) == 3
    assert w_content["path"] == "/demux/"
    assert [b"x-evil", b"1"] not in w_content["headers"]
    assert "text" not in w_content
    assert d_content["path"] == "/demux/"
    assert "text" not in d_content
    assert [b"x-evil", b"1"] not in d_content["headers"]

    seen.clear()
    await send_frame(communicator, "a", {"x": 1})
    assert await communicator.receive_json_from(timeout=1) == {
        "stream": "a",
        "payload": {"ok": True},
    }
    (_, sub_msg), (_, demux_msg, demux_content) = seen
    assert sub_msg is not demux_msg
    assert json.loads(demux_content["text"]) == {"stream": "a", "payload": {"x": 1}}
    await communicator.disconnect()


async def test_demultiplexer_stream_consumer_own_send_raises_and_class_is_untouched():
    errors = []

    class Sender(JsonWebsocketConsumer):
        def receive(self, content, multiplexer=None, **kwargs):
            try:
                self.send({"direct": True})
            except SendNotAvailableOnDemultiplexer as exc:
                errors.append(str(exc))
            multiplexer.send({"via": "multiplexer"})

    class SendDemux(WebsocketDemultiplexer):
        consumers = {"s": Sender}

    original_send = Sender.send
    routing = [
        route_class(SendDemux, path="^/demux/$"),
        route_class(Sender, path="^/plain/$"),
    ]
    communicator = await open_socket(routing)
    await send_frame(communicator, "s", {})
    assert await communicator.receive_json_from(timeout=1) == {
        "stream": "s",
        "payload": {"via": "multiplexer"},
    }
    assert len(errors) == 1 and "'s'" in errors[0]
    assert Sender.send is original_send
    assert "send" not in vars(Sender) or vars(Sender)["send"] is original_send

    # The same class routed on its own still sends normally.
    plain = await open_socket(routing, "/plain/")
    await plain.send_json_to({"n": 1})
    assert await plain.receive_json_from(timeout=1) == {"direct": True}
    assert errors == [errors[0]]
    await plain.disconnect()
    await communicator.disconnect()


async def test_demultiplexer_own_send_and_group_send_raise():
    results = []

    class Talker(WebsocketDemultiplexer):
        consumers = {"echo": EchoStream}

        def connect(self, message, **kwargs):
            for attempt in (
                lambda: self.send({"x": 1}),
                lambda: self.group_send("g", {"x": 1}),
                lambda: Talker.group_send("g", "s", {"x": 1}),
            ):
                try:
                    attempt()
                except SendNotAvailableOnDemultiplexer as exc:
                    results.append(str(exc))
            super().connect(message, **kwargs)

    communicator = await open_socket([route_class(Talker, path="^/demux/$")])
    assert len(results) == 3
    assert "WebsocketMultiplexer.group_send" in results[1]
    await communicator.disconnect()


async def test_demultiplexer_multiplexer_class_is_overridable():
    class Tagged(WebsocketMultiplexer):
        def send(self, payload):
            super().send({**payload, "tagged": True})

    class TaggedDemux(WebsocketDemultiplexer):
        consumers = {"echo": EchoStream}
        multiplexer_class = Tagged

    communicator = await open_socket([route_class(TaggedDemux, path="^/demux/$")])
    await send_frame(communicator, "echo", {"a": 1})
    assert await communicator.receive_json_from(timeout=1) == {
        "stream": "echo",
        "payload": {"echo": {"a": 1}, "tagged": True},
    }
    await communicator.disconnect()


async def test_demultiplexer_applies_stream_consumer_connection_groups():
    communicator = await open_socket(demux_routing())
    await Group("other-stream").asend(WebsocketMultiplexer.encode("g", {"hi": 1}))
    assert await communicator.receive_json_from(timeout=1) == {
        "stream": "g",
        "payload": {"hi": 1},
    }
    await communicator.disconnect()
    await settle(0.2)
    assert not channel_layers["default"].group_channels("other-stream")


async def test_demultiplexer_applies_its_own_connection_groups():
    class Grouped(WebsocketDemultiplexer):
        consumers = {"echo": EchoStream}

        def connection_groups(self, **kwargs):
            return [f"room-{kwargs['room']}"]

    communicator = await open_socket(demux_routing(Grouped), "/demux/blue/")
    await Group("room-blue").asend(WebsocketMultiplexer.encode("news", {"n": 2}))
    assert await communicator.receive_json_from(timeout=1) == {
        "stream": "news",
        "payload": {"n": 2},
    }
    await communicator.disconnect()


async def test_demultiplexer_isolates_a_failing_stream_consumer(gc_log):
    class Broken(JsonWebsocketConsumer):
        def connect(self, message, **kwargs):
            raise RuntimeError("connect broke")

        def receive(self, content, **kwargs):
            raise RuntimeError("receive broke")

    class Fragile(WebsocketDemultiplexer):
        consumers = {"broken": Broken, "echo": EchoStream}

    communicator = await open_socket([route_class(Fragile, path="^/demux/$")])
    assert any(c[0] == "echo.connect" for c in calls)
    await send_frame(communicator, "broken", {})
    await send_frame(communicator, "echo", {"still": "here"})
    assert await communicator.receive_json_from(timeout=1) == {
        "stream": "echo",
        "payload": {"echo": {"still": "here"}},
    }
    errors = [r for r in gc_log.records if r.levelno == logging.ERROR]
    assert len(errors) == 2
    for record in errors:
        assert "'broken'" in record.getMessage()
        assert "'/demux/'" in record.getMessage()
    await communicator.disconnect()


async def test_demultiplexer_stream_deny_connection_rejects_the_socket():
    class Denier(JsonWebsocketConsumer):
        def connect(self, message, **kwargs):
            raise DenyConnection

    class Strict(WebsocketDemultiplexer):
        consumers = {"echo": EchoStream, "deny": Denier}

    communicator = WebsocketCommunicator(
        RoutingApplication([route_class(Strict, path="^/demux/$")]), "/demux/"
    )
    connected, _ = await communicator.connect(timeout=1)
    assert not connected


# -- mapping (0.17) -------------------------------------------------------------------


def stats_consumer(message):
    calls.append(("stats", dict(message.content)))
    message.reply_channel.send(
        WebsocketDemultiplexer.encode("stats", {"count": message["count"] + 1})
    )


class IntvalConsumer(BaseConsumer):
    method_mapping = {"demux.intval": "handle"}

    def handle(self, message, **kwargs):
        message.reply_channel.send(
            WebsocketDemultiplexer.encode("intval", {"double": message["value"] * 2})
        )


class Mapped(WebsocketDemultiplexer):
    mapping = {"stats": "demux.stats", "intval": "demux.intval"}


MAPPED_ROUTING = [
    route_class(Mapped, path="^/demux/$"),
    route("demux.stats", stats_consumer),
    route_class(IntvalConsumer),
]


async def test_demultiplexer_mapping_forwards_payload_with_server_set_fields():
    communicator = await open_socket(MAPPED_ROUTING)
    await send_frame(
        communicator,
        "stats",
        {"count": 1, "reply_channel": "someone.else!abc", "path": "/forged/"},
    )
    assert await communicator.receive_json_from(timeout=1) == {
        "stream": "stats",
        "payload": {"count": 2},
    }
    ((_, content),) = calls
    assert content["count"] == 1
    assert content["path"] == "/demux/"
    assert content["reply_channel"] != "someone.else!abc"
    assert content["reply_channel"] in sockets
    await communicator.disconnect()


async def test_demultiplexer_mapping_reaches_route_class_consumers():
    communicator = await open_socket(MAPPED_ROUTING)
    await send_frame(communicator, "intval", {"value": 21})
    assert await communicator.receive_json_from(timeout=1) == {
        "stream": "intval",
        "payload": {"double": 42},
    }
    await communicator.disconnect()


async def test_demultiplexer_mapping_sends_onto_the_named_channel(sent):
    communicator = await open_socket(MAPPED_ROUTING)
    await send_frame(communicator, "intval", {"value": 1})
    await communicator.receive_json_from(timeout=1)
    targets = [r[1] for r in sent if r[0] == "send"]
    assert "demux.intval" in targets
    await communicator.disconnect()


async def test_demultiplexer_with_consumers_and_mapping_prefers_consumers():
    class Both(WebsocketDemultiplexer):
        consumers = {"echo": EchoStream}
        mapping = {"echo": "demux.stats", "stats": "demux.stats"}

    routing = [
        route_class(Both, path="^/demux/$"),
        route("demux.stats", stats_consumer),
    ]
    communicator = await open_socket(routing)
    await send_frame(communicator, "echo", {"count": 5})
    assert await communicator.receive_json_from(timeout=1) == {
        "stream": "echo",
        "payload": {"echo": {"count": 5}},
    }
    await send_frame(communicator, "stats", {"count": 5})
    assert await communicator.receive_json_from(timeout=1) == {
        "stream": "stats",
        "payload": {"count": 6},
    }
    assert [c[0] for c in calls if c[0] == "stats"] == ["stats"]
    await communicator.disconnect()


async def test_demultiplexer_mapping_does_not_forward_connect_or_disconnect(sent):
    communicator = await open_socket(MAPPED_ROUTING)
    await communicator.disconnect()
    await settle(0.1)
    assert not [r for r in sent if r[1].startswith("demux.")]
    assert calls == []


# -- invalid frames -------------------------------------------------------------------

INVALID = [
    ("not json", "text", "{nope", "not valid JSON"),
    ("binary", "bytes", b"\x00\x01", "binary frame"),
    ("a list", "text", "[1, 2]", "JSON list"),
    ("a string", "text", '"hi"', "JSON str"),
    ("no stream", "text", '{"payload": {}}', "'stream'"),
    ("no payload", "text", '{"stream": "echo"}', "'payload'"),
    ("stream not a string", "text", '{"stream": 3, "payload": {}}', "'stream'"),
    ("unknown stream", "text", '{"stream": "nope", "payload": {}}', "unknown stream"),
    (
        "payload not an object",
        "text",
        '{"stream": "echo", "payload": [1]}',
        "not a JSON object",
    ),
]


@pytest.mark.parametrize(
    ("kind", "frame", "reason"),
    [case[1:] for case in INVALID],
    ids=[case[0] for case in INVALID],
)
async def test_demultiplexer_invalid_frame_is_logged_and_socket_stays_open(
    kind, frame, reason, gc_log
):
    routing = [route_class(Demux, path="^/demux/$")]
    communicator = await open_socket(routing)
    calls.clear()
    await communicator.send_input({"type": "websocket.receive", kind: frame})
    assert await communicator.receive_nothing(timeout=0.2)
    warnings = [r for r in gc_log.records if r.levelno == logging.WARNING]
    assert len(warnings) == 1
    text = warnings[0].getMessage()
    assert "'/demux/'" in text
    assert reason in text
    assert calls == []
    await send_frame(communicator, "echo", {"after": True})
    assert (await communicator.receive_json_from(timeout=1))["stream"] == "echo"
    await communicator.disconnect()


async def test_demultiplexer_handle_invalid_frame_is_overridable():
    refused = []

    class Picky(WebsocketDemultiplexer):
        consumers = {"echo": EchoStream}

        def handle_invalid_frame(self, reason, **kwargs):
            refused.append((reason, kwargs))
            self.close(4003)

    communicator = await open_socket(demux_routing(Picky), "/demux/red/")
    await send_frame(communicator, "missing", {})
    output = await communicator.receive_output(timeout=1)
    assert output == {"type": "websocket.close", "code": 4003}
    assert refused == [("unknown stream 'missing'", {"room": "red"})]


@pytest.mark.parametrize("kind", ["text", "bytes"])
async def test_demultiplexer_oversized_frame_closes_with_1009(kind, settings):
    settings.GENERIC_CONSUMERS = {
        **settings.GENERIC_CONSUMERS,
        "MAX_FRAME_SIZE": 64,
    }
    communicator = await open_socket([route_class(Demux, path="^/demux/$")])
    calls.clear()
    big = json.dumps({"stream": "echo", "payload": {"x": "é" * 40}})
    frame = big if kind == "text" else big.encode()
    await communicator.send_input({"type": "websocket.receive", kind: frame})
    output = await communicator.receive_output(timeout=1)
    assert output == {"type": "websocket.close", "code": 1009}
    assert calls == []


@pytest.mark.parametrize(
    "stream", ["websocket.receive", "websocket.connect", "demux.stats", "unmapped"]
)
async def test_demultiplexer_unlisted_stream_sends_nothing_anywhere(stream, sent):
    received = []

    def spy(message):
        received.append(message.channel_name)

    class Guarded(WebsocketDemultiplexer):
        mapping = {"intval": "demux.intval"}

    routing = [
        route_class(Guarded, path="^/demux/$"),
        route("websocket.receive", spy, path="^/other/$"),
        route("demux.stats", spy),
        route_class(IntvalConsumer),
    ]
    communicator = await open_socket(routing)
    sent.clear()
    await send_frame(communicator, stream, {"reply_channel": "x", "text": "{}"})
    assert await communicator.receive_nothing(timeout=0.2)
    await settle(0.1)
    assert sent == []
    assert received == []
    layer = channel_layers["default"].raw
    assert all(queue.empty() for queue in layer.channels.values())
    await communicator.disconnect()


async def test_demultiplexer_mapping_target_outside_named_channels_gets_payload_only(
    sent,
):
    # The only way onto a named channel is a mapped stream, with a dict payload.
    communicator = await open_socket(MAPPED_ROUTING)
    sent.clear()
    await send_frame(communicator, "stats", "not a dict")
    assert await communicator.receive_nothing(timeout=0.2)
    assert sent == []
    await communicator.disconnect()


async def test_demultiplexer_function_stream_consumer_accepts_are_swallowed(sent):
    def feed(message, multiplexer=None, **kwargs):
        calls.append((message.channel_name, multiplexer.stream))
        if message.channel_name == "websocket.connect":
            message.reply_channel.send({"accept": True})
        elif message.channel_name == "websocket.receive":
            payload = json.loads(message["text"])
            multiplexer.send({"got": payload})

    class Functions(WebsocketDemultiplexer):
        consumers = {"feed": feed}

    communicator = await open_socket([route_class(Functions, path="^/demux/$")])
    assert [r for r in sent if r[2].get("accept")] == [
        ("send", sent[0][1], {"accept": True})
    ]
    await send_frame(communicator, "feed", {"n": 1})
    assert await communicator.receive_json_from(timeout=1) == {
        "stream": "feed",
        "payload": {"got": {"n": 1}},
    }
    await communicator.disconnect()
    await settle(0.1)
    assert calls == [
        ("websocket.connect", "feed"),
        ("websocket.receive", "feed"),
        ("websocket.disconnect", "feed"),
    ]


async def test_demultiplexer_stream_message_keeps_session_and_user_attributes():
    seen = []

    class WhoAmI(JsonWebsocketConsumer):
        def receive(self, content, multiplexer=None, **kwargs):
            seen.append((self.message.user, getattr(self.message, "http_session", 0)))
            multiplexer.send({})

    class Authed(WebsocketDemultiplexer):
        consumers = {"who": WhoAmI}

        def receive(self, content, **kwargs):
            self.message.user = "alice"  # what channel_session_user would set
            super().receive(content, **kwargs)

    communicator = await open_socket([route_class(Authed, path="^/demux/$")])
    await send_frame(communicator, "who", {})
    await communicator.receive_json_from(timeout=1)
    assert seen == [("alice", 0)]
    await communicator.disconnect()


@pytest.mark.parametrize("how", ["deny", "close"])
async def test_demultiplexer_stream_consumer_can_close_the_socket(how):
    class Closer(JsonWebsocketConsumer):
        def receive(self, content, **kwargs):
            if how == "deny":
                raise DenyConnection
            # An accept riding along is dropped; the close goes through.
            self.message.reply_channel.send({"accept": True, "close": 4009})

    class Closing(WebsocketDemultiplexer):
        consumers = {"c": Closer}

    communicator = await open_socket([route_class(Closing, path="^/demux/$")])
    await send_frame(communicator, "c", {})
    output = await communicator.receive_output(timeout=1)
    code = 1000 if how == "deny" else 4009
    assert output == {"type": "websocket.close", "code": code}


# -- async twin and mixed stream consumers ------------------------------------------

from generic_consumers.generic.websockets import (  # noqa: E402
    AsyncJsonWebsocketConsumer,
    AsyncWebsocketDemultiplexer,
)


class AsyncEchoStream(AsyncJsonWebsocketConsumer):
    async def connect(self, message, multiplexer=None, **kwargs):
        calls.append(("async.connect", multiplexer.stream))
        await super().connect(message, **kwargs)

    async def receive(self, content, multiplexer=None, **kwargs):
        if content.get("fail"):
            raise RuntimeError("stream failure")
        if content.get("own_send"):
            await self.send({"never": True})
        multiplexer.send({"async-echo": content})

    async def disconnect(self, message, multiplexer=None, **kwargs):
        calls.append(("async.disconnect", multiplexer.stream))


def mapped_echo(message, **kwargs):
    payload = {k: v for k, v in message.content.items() if k != "reply_channel"}
    message.reply_channel.send(WebsocketDemultiplexer.encode("mapped", payload))


@pytest.fixture(params=["sync-demux", "async-demux"])
def any_demux(request):
    base = (
        WebsocketDemultiplexer
        if request.param == "sync-demux"
        else AsyncWebsocketDemultiplexer
    )

    class Mixed(base):
        consumers = {"sync": EchoStream, "async": AsyncEchoStream}
        mapping = {"mapped": "tests.mapped_echo"}
        groups = ["mixed"]

    return Mixed


async def test_demux_twins_accept_once_and_reach_sync_and_async_streams(
    any_demux, sent
):
    routing = [
        route_class(any_demux, path=r"^/demux/$"),
        route("tests.mapped_echo", mapped_echo),
    ]
    app = RoutingApplication(routing)
    c = WebsocketCommunicator(app, "/demux/")
    assert (await c.connect(timeout=1))[0]
    accepts = [r for r in sent if r[0] == "send" and r[2].get("accept")]
    assert len(accepts) == 1
    assert ("async.connect", "async") in calls
    assert any(call[0] == "echo.connect" for call in calls)
    await send_frame(c, "async", {"n": 1})
    assert await c.receive_json_from(1) == {
        "stream": "async",
        "payload": {"async-echo": {"n": 1}},
    }
    await send_frame(c, "sync", {"n": 2})
    assert await c.receive_json_from(1) == {
        "stream": "sync",
        "payload": {"echo": {"n": 2}},
    }
    await send_frame(c, "mapped", {"n": 3, "reply_channel": "forged!x"})
    assert await c.receive_json_from(1) == {
        "stream": "mapped",
        "payload": {"n": 3, "path": "/demux/"},
    }
    await Group("mixed").asend({"text": "group"})
    assert await c.receive_from(1) == "group"
    await c.disconnect()
    await settle()
    assert ("async.disconnect", "async") in calls
    await app.stop_workers()


async def test_demux_twins_isolate_failures_and_refuse_own_send(any_demux, gc_log):
    app = RoutingApplication([route_class(any_demux, path=r"^/demux/$")])
    c = WebsocketCommunicator(app, "/demux/")
    assert (await c.connect(timeout=1))[0]
    await send_frame(c, "async", {"fail": True})
    await send_frame(c, "async", {"own_send": True})
    await send_frame(c, "nope", {})
    await send_frame(c, "sync", {"still": "open"})
    assert await c.receive_json_from(1) == {
        "stream": "sync",
        "payload": {"echo": {"still": "open"}},
    }
    assert await c.receive_nothing(0.05)
    text = gc_log.text
    assert "Stream 'async' of Mixed: AsyncEchoStream raised RuntimeError" in text
    assert "raised SendNotAvailableOnDemultiplexer" in text
    assert "unknown stream 'nope'" in text
    await c.disconnect()


async def test_async_demux_own_send_and_group_send_raise():
    class Only(AsyncWebsocketDemultiplexer):
        consumers = {}

    with pytest.raises(SendNotAvailableOnDemultiplexer):
        Only.group_send("g", {"x": 1})
    assert Only.encode("s", {"a": 1}) == WebsocketMultiplexer.encode("s", {"a": 1})


async def test_stream_consumer_with_own_decode_json_still_decodes_the_text(any_demux):
    class Marking(JsonWebsocketConsumer):
        @classmethod
        def decode_json(cls, text):
            return {**json.loads(text), "decoded_by": "Marking"}

        def receive(self, content, multiplexer=None, **kwargs):
            multiplexer.send({"got": content, "text": self.message["text"]})

    class Plain(JsonWebsocketConsumer):
        def receive(self, content, multiplexer=None, **kwargs):
            multiplexer.send({"got": content, "text": self.message["text"]})

    class Both(any_demux):
        consumers = {"marking": Marking, "plain": Plain}

    c = await open_socket([route_class(Both, path=r"^/demux/$")])
    await send_frame(c, "marking", {"a": 1})
    assert (await c.receive_json_from(1))["payload"] == {
        "got": {"a": 1, "decoded_by": "Marking"},
        "text": '{"a":1}',
    }
    await send_frame(c, "plain", {"b": 2})
    assert (await c.receive_json_from(1))["payload"] == {
        "got": {"b": 2},
        "text": '{"b":2}',
    }
    await c.disconnect()
