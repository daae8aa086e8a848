"""Protocol tests: RoutingApplication driven through WebsocketCommunicator."""

import asyncio
import logging

import pytest
from channels.layers import get_channel_layer
from channels.testing import ApplicationCommunicator, WebsocketCommunicator
from django.test import override_settings

from generic_consumers import Channel, Group, route
from generic_consumers.asgi import RoutingApplication, get_application
from generic_consumers.exceptions import (
    ConsumeLater,
    DenyConnection,
    WebsocketCloseException,
)
from generic_consumers.runtime.registry import sockets as local_sockets

from .conftest import members, settle


def accept(message, **kwargs):
    message.reply_channel.send({"accept": True})


def app_for(*routes):
    return RoutingApplication(list(routes))


async def connected(app, path="/", **kwargs):
    communicator = WebsocketCommunicator(app, path, **kwargs)
    ok, _ = await communicator.connect(timeout=1)
    assert ok
    return communicator


@pytest.fixture(params=["sync", "async"])
def flavour(request):
    """Run a consumer body as a def or an async def function consumer."""

    def make(body):
        if request.param == "sync":

            def consumer(message, **kwargs):
                return body(message, **kwargs)

        else:

            async def consumer(message, **kwargs):
                return body(message, **kwargs)

        return consumer

    return make


# -- message formats ----------


async def test_connect_receive_disconnect_message_formats(flavour):
    seen = []
    done = asyncio.Event()

    def record(message, **kwargs):
        seen.append((message.channel.name, dict(message.content), kwargs))
        if message.channel.name == "websocket.connect":
            message.reply_channel.send({"accept": True})
        if message.channel.name == "websocket.disconnect":
            done.set()

    consumer = flavour(record)
    app = app_for(
        route(
            ["websocket.connect", "websocket.receive", "websocket.disconnect"],
            consumer,
            path=r"^/room/(?P<room>\w+)/$",
        )
    )
    c = await connected(
        app,
        "/room/lobby/?a=1",
        headers=[(b"origin", b"http://testserver")],
        subprotocols=["chat"],
    )
    await c.send_to(text_data="hello")
    await c.send_to(bytes_data=b"\x00\x01")
    await settle()
    await c.disconnect(code=4001)
    await asyncio.wait_for(done.wait(), 1)
    (ch0, connect, kw0), (ch1, text, kw1), (ch2, data, _), (ch3, disc, _) = seen
    assert (ch0, ch1, ch2, ch3) == (
        "websocket.connect",
        "websocket.receive",
        "websocket.receive",
        "websocket.disconnect",
    )
    assert kw0 == kw1 == {"room": "lobby"}
    reply = connect["reply_channel"]
    assert "!" in reply
    assert connect["path"] == "/room/lobby/"
    assert connect["query_string"] == b"a=1"
    assert connect["headers"] == [[b"origin", b"http://testserver"]]
    assert connect["subprotocols"] == ["chat"]
    assert connect["order"] == 0 and {"client", "server"} <= set(connect)
    assert text == {
        "reply_channel": reply,
        "path": "/room/lobby/",
        "order": 1,
        "text": "hello",
    }
    assert data == {
        "reply_channel": reply,
        "path": "/room/lobby/",
        "order": 2,
        "bytes": b"\x00\x01",
    }
    assert disc == {
        "reply_channel": reply,
        "path": "/room/lobby/",
        "order": 3,
        "code": 4001,
    }


async def test_echo_text_and_bytes(flavour):
    def echo(message, **kwargs):
        if "text" in message:
            message.reply_channel.send({"text": message["text"].upper()})
        else:
            message.reply_channel.send({"bytes": message["bytes"][::-1]})

    app = app_for(
        route("websocket.connect", accept), route("websocket.receive", flavour(echo))
    )
    c = await connected(app)
    await c.send_to(text_data="abc")
    assert await c.receive_from(1) == "ABC"
    await c.send_to(bytes_data=b"xyz")
    assert await c.receive_output(1) == {"type": "websocket.send", "bytes": b"zyx"}
    await c.disconnect()


async def test_per_socket_messages_are_handled_strictly_in_order():
    import time

    def slow_then_fast(message, **kwargs):
        if message["text"] == "slow":
            time.sleep(0.1)
        message.reply_channel.send({"text": message["text"]})

    app = app_for(
        route("websocket.connect", accept), route("websocket.receive", slow_then_fast)
    )
    c = await connected(app)
    for text in ["slow", "fast", "third"]:
        await c.send_to(text_data=text)
    assert [await c.receive_from(1) for _ in range(3)] == ["slow", "fast", "third"]
    await c.disconnect()


# -- the handshake ----------


async def test_unrouted_connect_is_rejected_with_a_warning(gc_log):
    app = app_for(route("websocket.connect", accept, path=r"^/ok/$"))
    c = WebsocketCommunicator(app, "/nope/")
    ok, code = await c.connect(timeout=1)
    assert not ok and code == 1000
    assert "No route matched 'websocket.connect' for path '/nope/'" in gc_log.text


@pytest.mark.parametrize(
    "reply", [{"accept": False}, {"close": True}, {"accept": False, "text": "x"}]
)
async def test_reject_during_handshake(reply):
    app = app_for(route("websocket.connect", lambda m: m.reply_channel.send(reply)))
    c = WebsocketCommunicator(app, "/")
    ok, _ = await c.connect(timeout=1)
    assert not ok
    assert await c.receive_nothing(0.05)


async def test_text_before_accept_accepts_first():
    app = app_for(
        route("websocket.connect", lambda m: m.reply_channel.send({"text": "welcome"}))
    )
    c = await connected(app)
    assert await c.receive_from(1) == "welcome"
    await c.disconnect()


async def test_empty_text_sends_an_empty_frame():
    app = app_for(
        route("websocket.connect", lambda m: m.reply_channel.send({"text": ""}))
    )
    c = await connected(app)
    assert await c.receive_from(1) == ""
    await c.disconnect()


async def test_send_and_close_in_one_message_with_code():
    app = app_for(
        route("websocket.connect", accept),
        route(
            "websocket.receive",
            lambda m: m.reply_channel.send({"text": "bye", "close": 4001}),
        ),
    )
    c = await connected(app)
    await c.send_to(text_data="x")
    assert await c.receive_from(1) == "bye"
    assert await c.receive_output(1) == {"type": "websocket.close", "code": 4001}


async def test_connect_exception_rejects_and_logs_consumer_channel_path(gc_log):
    def broken(message, **kwargs):
        raise RuntimeError("boom")

    app = app_for(route("websocket.connect", broken))
    c = WebsocketCommunicator(app, "/broken/")
    ok, _ = await c.connect(timeout=1)
    assert not ok
    record = next(r for r in gc_log.records if r.levelno == logging.ERROR)
    text = record.getMessage()
    assert "broken" in text and "'websocket.connect'" in text and "/broken/" in text


async def test_connect_exception_still_flushes_buffered_sends():
    def sends_then_raises(message, **kwargs):
        message.reply_channel.send({"accept": True})
        message.reply_channel.send({"text": "before the error"})
        raise RuntimeError("late")

    app = app_for(route("websocket.connect", sends_then_raises))
    c = await connected(app)
    assert await c.receive_from(1) == "before the error"
    await c.disconnect()


async def test_deny_connection_rejects(flavour):
    def deny(message, **kwargs):
        raise DenyConnection

    app = app_for(route("websocket.connect", flavour(deny)))
    ok, _ = await WebsocketCommunicator(app, "/").connect(timeout=1)
    assert not ok


async def test_deny_connection_after_accept_closes():
    def accept_then_deny(message, **kwargs):
        message.reply_channel.send({"accept": True}, immediately=True)
        raise DenyConnection

    app = app_for(route("websocket.connect", accept_then_deny))
    c = await connected(app)
    assert await c.receive_output(1) == {"type": "websocket.close", "code": 1000}


async def test_pending_handshake_accepted_later_from_a_worker():
    def ask_worker(message, **kwargs):
        Channel("tests.approve").send({"reply_channel": message.reply_channel.name})

    def approve(message, **kwargs):
        Channel(message["reply_channel"]).send({"accept": True})

    app = app_for(
        route("websocket.connect", ask_worker), route("tests.approve", approve)
    )
    c = await connected(app)
    await c.disconnect()


@override_settings(GENERIC_CONSUMERS={"ROUTING": [], "CONNECT_TIMEOUT": 0.1})
async def test_pending_handshake_times_out(gc_log):
    app = app_for(route("websocket.connect", lambda m: None))
    ok, _ = await WebsocketCommunicator(app, "/slow/").connect(timeout=1)
    assert not ok
    assert "CONNECT_TIMEOUT" in gc_log.text and "/slow/" in gc_log.text


async def test_group_message_during_connect_is_held_then_delivered():
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow_connect(message, **kwargs):
        await Group("held").aadd(
            message.reply_channel,
        )
        started.set()
        await release.wait()
        await message.reply_channel.asend({"accept": True})
        await message.reply_channel.asend({"text": "own"})

    app = app_for(route("websocket.connect", slow_connect))
    c = WebsocketCommunicator(app, "/")
    connecting = asyncio.ensure_future(c.connect(timeout=1))
    await asyncio.wait_for(started.wait(), 1)
    # The socket is already in the group (a group add takes effect at once); the
    # broadcast arrives while its connect consumer still runs.
    await Group("held").asend({"text": "broadcast"})
    await settle()
    release.set()
    ok, _ = await connecting
    assert ok
    assert await c.receive_from(1) == "own"
    assert await c.receive_from(1) == "broadcast"
    await c.disconnect()


async def test_group_message_during_rejected_connect_is_dropped():
    started = asyncio.Event()
    release = asyncio.Event()

    async def slow_reject(message, **kwargs):
        started.set()
        await release.wait()
        raise DenyConnection

    app = app_for(route("websocket.connect", slow_reject))
    c = WebsocketCommunicator(app, "/")
    connecting = asyncio.ensure_future(c.connect(timeout=1))
    await asyncio.wait_for(started.wait(), 1)
    reply = next(iter(local_sockets))
    await Channel(reply).asend({"text": "from elsewhere"})
    release.set()
    ok, _ = await connecting
    assert not ok
    assert await c.receive_nothing(0.05)


# -- receive-time behaviour ----------


async def test_receive_exception_keeps_socket_open_and_logs(gc_log, flavour):
    def maybe_fail(message, **kwargs):
        if message["text"] == "fail":
            raise ValueError("bad frame")
        message.reply_channel.send({"text": "ok"})

    app = app_for(
        route("websocket.connect", accept),
        route("websocket.receive", flavour(maybe_fail)),
    )
    c = await connected(app, "/p/")
    await c.send_to(text_data="fail")
    await c.send_to(text_data="fine")
    assert await c.receive_from(1) == "ok"
    assert "raised ValueError while handling 'websocket.receive' (path '/p/')" in (
        gc_log.text
    )
    await c.disconnect()


async def test_non_dict_send_is_logged_and_socket_survives(gc_log):
    def bad_send(message, **kwargs):
        if message["text"] == "bad":
            message.reply_channel.send("not a dict")
        message.reply_channel.send({"text": "still here"})

    app = app_for(
        route("websocket.connect", accept), route("websocket.receive", bad_send)
    )
    c = await connected(app)
    await c.send_to(text_data="bad")
    await c.send_to(text_data="good")
    assert await c.receive_from(1) == "still here"
    assert "TypeError" in gc_log.text
    await c.disconnect()


async def test_unknown_reply_keys_are_ignored_with_a_warning(gc_log):
    app = app_for(
        route("websocket.connect", accept),
        route("websocket.receive", lambda m: m.reply_channel.send({"txt": "typo"})),
    )
    c = await connected(app)
    await c.send_to(text_data="x")
    assert await c.receive_nothing(0.1)
    assert "may only have the keys" in gc_log.text
    await c.disconnect()


async def test_invalid_close_code_closes_with_1000_and_warns(gc_log):
    app = app_for(
        route("websocket.connect", accept),
        route("websocket.receive", lambda m: m.reply_channel.send({"close": 1234})),
    )
    c = await connected(app)
    await c.send_to(text_data="x")
    assert await c.receive_output(1) == {"type": "websocket.close", "code": 1000}
    assert "1234" in gc_log.text


async def test_websocket_close_exception_closes_with_code():
    def close_it(message, **kwargs):
        raise WebsocketCloseException(4003)

    app = app_for(
        route("websocket.connect", accept), route("websocket.receive", close_it)
    )
    c = await connected(app)
    await c.send_to(text_data="x")
    assert await c.receive_output(1) == {"type": "websocket.close", "code": 4003}


def test_websocket_close_exception_validates_code():
    with pytest.raises(ValueError, match="close code 99"):
        WebsocketCloseException(99)


async def test_immediately_overtakes_buffered_sends():
    def sends(message, **kwargs):
        message.reply_channel.send({"text": "buffered"})
        message.reply_channel.send({"text": "immediate"}, immediately=True)

    app = app_for(route("websocket.connect", accept), route("websocket.receive", sends))
    c = await connected(app)
    await c.send_to(text_data="x")
    assert [await c.receive_from(1) for _ in range(2)] == ["immediate", "buffered"]
    await c.disconnect()


async def test_consume_later_retries_behind_newer_frames(flavour):
    attempts = {"first": 0}

    def later(message, **kwargs):
        text = message["text"]
        if text == "first" and attempts["first"] < 2:
            attempts["first"] += 1
            raise ConsumeLater
        message.reply_channel.send({"text": text})

    app = app_for(
        route("websocket.connect", accept), route("websocket.receive", flavour(later))
    )
    c = await connected(app)
    await c.send_to(text_data="first")
    await c.send_to(text_data="second")
    assert [await c.receive_from(1) for _ in range(2)] == ["second", "first"]
    await c.disconnect()


@override_settings(GENERIC_CONSUMERS={"ROUTING": [], "MESSAGE_RETRIES": 2})
async def test_consume_later_gives_up_after_retries(gc_log):
    calls = []

    def never(message, **kwargs):
        calls.append(1)
        raise ConsumeLater

    app = app_for(route("websocket.connect", accept), route("websocket.receive", never))
    c = await connected(app)
    await c.send_to(text_data="x")
    await settle(0.3)
    assert len(calls) == 3
    assert "raised ConsumeLater 3 times" in gc_log.text
    await c.disconnect()


@override_settings(GENERIC_CONSUMERS={"ROUTING": [], "MAX_FRAME_SIZE": 10})
async def test_oversized_frame_closes_with_1009(gc_log):
    app = app_for(
        route("websocket.connect", accept), route("websocket.receive", lambda m: None)
    )
    c = await connected(app, "/big/")
    await c.send_to(text_data="x" * 11)
    assert await c.receive_output(1) == {"type": "websocket.close", "code": 1009}
    assert "MAX_FRAME_SIZE" in gc_log.text and "/big/" in gc_log.text


async def test_frames_to_unrouted_receive_are_dropped_with_warning(gc_log):
    app = app_for(route("websocket.connect", accept))
    c = await connected(app, "/only-connect/")
    await c.send_to(text_data="x")
    assert await c.receive_nothing(0.05)
    assert "No route matched 'websocket.receive'" in gc_log.text
    await c.disconnect()


# -- groups ----------


async def test_group_broadcast_reaches_every_member_and_not_others():
    def join(message, **kwargs):
        Group("room").add(message.reply_channel)
        message.reply_channel.send({"accept": True})

    def shout(message, **kwargs):
        Group("room").send({"text": message["text"]})

    app = app_for(
        route("websocket.connect", join, path=r"^/in/$"),
        route("websocket.connect", accept, path=r"^/out/$"),
        route("websocket.receive", shout),
    )
    a, b, outsider = [await connected(app, p) for p in ("/in/", "/in/", "/out/")]
    await a.send_to(text_data="hello")
    assert await a.receive_from(1) == "hello"
    assert await b.receive_from(1) == "hello"
    assert await outsider.receive_nothing(0.05)
    for c in (a, b, outsider):
        await c.disconnect()


async def test_memberships_discarded_on_disconnect_even_if_disconnect_raises():

    def join(message, **kwargs):
        Group("cleanup").add(message.reply_channel)
        Group(f"own-{message['path'].strip('/')}").add(message.reply_channel)
        message.reply_channel.send({"accept": True})

    def disconnect(message, **kwargs):
        if message["path"].startswith("/raise"):
            raise RuntimeError("disconnect failed")

    app = app_for(
        route("websocket.connect", join), route("websocket.disconnect", disconnect)
    )
    sockets = [
        await connected(app, f"/{'raise' if i % 2 else 'ok'}{i}/") for i in range(10)
    ]
    assert len(members("cleanup")) == 10
    for c in sockets:
        await c.disconnect()
    await settle()
    assert not members("cleanup")
    assert not any(members(f"own-{s}{i}") for i, s in enumerate(["ok", "raise"] * 5))
    assert not local_sockets


async def test_membership_from_another_process_is_tracked_for_cleanup():
    # A group add made for this socket elsewhere (here: a named-channel worker, which
    # reaches the socket through its reply channel) is remembered and undone.

    def ask(message, **kwargs):
        message.reply_channel.send({"accept": True})
        Channel("tests.join").send({"reply_channel": message.reply_channel.name})

    def join_remote(message, **kwargs):
        Group("remote").add(message["reply_channel"])

    app = app_for(route("websocket.connect", ask), route("tests.join", join_remote))
    c = await connected(app)
    await settle()
    assert len(members("remote")) == 1
    await c.disconnect()
    await settle()
    assert not members("remote")


# -- named channels ----------


async def test_named_channel_consumed_by_in_process_worker(flavour):
    def forward(message, **kwargs):
        Channel("tests.upper").send(
            {"reply_to": message.reply_channel.name, "text": message["text"]}
        )

    def upper(message, **kwargs):
        Channel(message["reply_to"]).send({"text": message["text"].upper()})

    app = app_for(
        route("websocket.connect", accept),
        route("websocket.receive", forward),
        route("tests.upper", flavour(upper)),
    )
    c = await connected(app)
    await c.send_to(text_data="shout")
    assert await c.receive_from(1) == "SHOUT"
    await c.disconnect()
    await app.stop_workers()


@override_settings(GENERIC_CONSUMERS={"ROUTING": [], "IN_PROCESS_WORKERS": False})
async def test_in_process_workers_can_be_switched_off():
    app = app_for(route("websocket.connect", accept), route("tests.off", accept))
    c = await connected(app)
    await Channel("tests.off").asend({"x": 1})
    envelope = await asyncio.wait_for(get_channel_layer().receive("tests.off"), 1)
    assert envelope["content"] == {"x": 1}
    await c.disconnect()


async def test_channel_scope_serves_runworker_messages(gc_log):
    got = asyncio.Queue()

    async def consumer(message, **kwargs):
        await got.put((message.channel.name, dict(message.content)))

    app = app_for(route("tests.worker", consumer))
    worker = ApplicationCommunicator(
        app, {"type": "channel", "channel": "tests.worker"}
    )
    await worker.send_input(
        {"type": "generic_consumers.message", "content": {"type": "user", "v": 1}}
    )
    assert await asyncio.wait_for(got.get(), 1) == (
        "tests.worker",
        {"type": "user", "v": 1},
    )
    await worker.send_input({"type": "something.else"})
    await settle()
    assert "Ignored a message of type 'something.else'" in gc_log.text
    await worker.send_input({"type": "generic_consumers.message", "content": {}})
    await settle()
    await worker.send_input({"type": "generic_consumers.message", "content": {}})
    assert await asyncio.wait_for(got.get(), 1) == ("tests.worker", {})
    worker.future.cancel()


async def test_named_channel_consume_later_is_requeued_then_dropped(gc_log):
    calls = []

    def flaky(message, **kwargs):
        calls.append(getattr(message, "__doomed__", False))
        raise ConsumeLater

    with override_settings(GENERIC_CONSUMERS={"ROUTING": [], "MESSAGE_RETRIES": 2}):
        app = app_for(route("websocket.connect", accept), route("tests.flaky", flaky))
        c = await connected(app)
        await Channel("tests.flaky").asend({"x": 1})
        await settle(0.3)
        await c.disconnect()
        await app.stop_workers()
    assert calls == [False, False, True]
    assert "raised ConsumeLater 3 times" in gc_log.text


async def test_unrouted_named_message_and_errors_are_logged(gc_log):
    def broken(message, **kwargs):
        raise KeyError("oops")

    app = app_for(route("websocket.connect", accept), route("tests.broken", broken))
    c = await connected(app)
    await Channel("tests.broken").asend({})
    await settle()
    assert "raised KeyError while handling 'tests.broken'" in gc_log.text
    await c.disconnect()
    await app.stop_workers()


# -- application ----------


async def test_lifespan_starts_and_stops_workers():
    app = app_for(route("tests.life", accept))
    life = ApplicationCommunicator(app, {"type": "lifespan"})
    await life.send_input({"type": "lifespan.startup"})
    assert await life.receive_output(1) == {"type": "lifespan.startup.complete"}
    assert app._workers
    await life.send_input({"type": "lifespan.shutdown"})
    assert await life.receive_output(1) == {"type": "lifespan.shutdown.complete"}
    assert not app._workers


async def test_unknown_scope_raises_clear_error():
    app = app_for()
    with pytest.raises(ValueError, match="ProtocolTypeRouter"):
        await app({"type": "http"}, None, None)


async def test_default_routing_comes_from_settings():
    app = RoutingApplication()
    assert "tests.stats" in app.router.channels


@override_settings(GENERIC_CONSUMERS={})
def test_missing_routing_is_improperly_configured():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="ROUTING"):
        RoutingApplication().router  # noqa: B018


async def test_get_application_serves_websockets_and_http():
    application = get_application()
    c = await connected(application, "/echo/")
    await c.send_json_to({"a": 1})
    assert await c.receive_json_from(1) == {"echo": {"a": 1}}
    await c.disconnect()


@override_settings(CHANNEL_LAYERS={})
async def test_sockets_work_without_a_channel_layer():
    app = app_for(
        route("websocket.connect", accept),
        route("websocket.receive", lambda m: m.reply_channel.send({"text": m["text"]})),
    )
    c = await connected(app)
    await c.send_to(text_data="local")
    assert await c.receive_from(1) == "local"
    await c.disconnect()
