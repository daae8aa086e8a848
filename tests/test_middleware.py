"""Frame middleware: protocol tests through RoutingApplication and the communicator."""

import asyncio
import json

import pytest
from channels.testing import WebsocketCommunicator
from django.test import override_settings

from generic_consumers import Group, route, route_class
from generic_consumers.asgi import RoutingApplication
from generic_consumers.generic.websockets import (
    AsyncJsonWebsocketConsumer,
    WebsocketConsumer,
    WebsocketDemultiplexer,
)
from generic_consumers.middleware.stack import SocketStacks

from . import middlewares
from .conftest import members, settle
from .middlewares import EVENTS, Echo

REC = "tests.middlewares.Recorder"


@pytest.fixture(autouse=True)
def fresh_events():
    EVENTS.clear()
    yield
    EVENTS.clear()


def stack(*entries, **more):
    return override_settings(
        GENERIC_CONSUMERS={
            "ROUTING": "tests.middlewares.channel_routing",
            "MIDDLEWARE": list(entries),
            **more,
        }
    )


def app(*routes):
    return RoutingApplication(list(routes) or "tests.middlewares.channel_routing")


async def connected(application, path="/echo/", **kwargs):
    communicator = WebsocketCommunicator(application, path, **kwargs)
    ok, _ = await communicator.connect(timeout=1)
    assert ok
    return communicator


async def closed(communicator, timeout=1):
    """The close the server sent (its code), and that the socket is done."""
    output = await communicator.receive_output(timeout)
    assert output["type"] == "websocket.close", output
    return output.get("code")


# -- what a middleware sees ---------------------------------------------------------


async def test_sees_every_event_both_ways_in_order():
    with stack(REC):
        c = await connected(app())
        await c.send_to(text_data="a")
        assert await c.receive_from(1) == "a"
        await c.send_to(bytes_data=b"\x01")
        assert await c.receive_output(1) == {"type": "websocket.send", "bytes": b"\x01"}
        await c.send_to(text_data="close")
        assert await closed(c) == 4000
        await c.disconnect(code=4000)
        await settle()
    assert EVENTS == [
        ("mw", "websocket.connect", None),
        ("mw", "websocket.accept", None),
        ("mw", "websocket.receive", "a"),
        ("mw", "websocket.send", "a"),
        ("mw", "websocket.receive", b"\x01"),
        ("mw", "websocket.send", b"\x01"),
        ("mw", "websocket.receive", "close"),
        ("mw", "websocket.close", 4000),
        ("mw", "websocket.disconnect", 4000),
    ]


async def test_the_stack_is_an_onion_outermost_first_in_last_out():
    with stack((REC, {"tag": "outer"}), (REC, {"tag": "inner"})):
        c = await connected(app())
        await c.send_to(text_data="x")
        assert await c.receive_from(1) == "x"
        await c.disconnect()
    frames = [(tag, kind) for tag, kind, what in EVENTS if what == "x"]
    assert frames == [
        ("outer", "websocket.receive"),
        ("inner", "websocket.receive"),
        ("inner", "websocket.send"),
        ("outer", "websocket.send"),
    ]


async def test_a_middleware_changes_events_both_ways():
    with stack("tests.middlewares.shout"):
        c = await connected(app())
        await c.send_to(text_data="hi")
        assert await c.receive_from(1) == "<HI>"
        await c.disconnect()


async def test_a_middleware_drops_a_frame_and_answers_one_itself():
    # The answer goes through the middlewares outside it only.
    with stack((REC, {"tag": "outer"}), "tests.middlewares.ping", (REC, {"tag": "in"})):
        c = await connected(app())
        for text in ["a", "secret", "ping", "b"]:
            await c.send_to(text_data=text)
        assert [await c.receive_from(1) for _ in range(3)] == ["a", "pong", "b"]
        assert await c.receive_nothing(0.05)
        await c.disconnect()
    inner = [(kind, what) for tag, kind, what in EVENTS if tag == "in"]
    assert ("websocket.receive", "secret") not in inner
    assert ("websocket.send", "pong") not in inner
    assert ("outer", "websocket.send", "pong") in EVENTS


async def test_a_sync_middleware_passes_events_on_in_order():
    with stack("tests.middlewares.sync_counter"):
        c = await connected(app())
        for text in "abc":
            await c.send_to(text_data=text)
        assert [await c.receive_from(1) for _ in range(3)] == ["1:a", "2:b", "3:c"]
        other = await connected(app())  # per-socket state
        await other.send_to(text_data="z")
        assert await other.receive_from(1) == "1:z"
        await c.disconnect()
        await other.disconnect()


async def test_a_middleware_rejects_a_handshake_the_consumer_never_sees():
    connects = []

    def connect(message, **kwargs):
        connects.append(message.content["path"])
        message.reply_channel.send({"accept": True})

    application = app(route("websocket.connect", connect))
    with stack("tests.middlewares.gatekeeper"):
        c = WebsocketCommunicator(application, "/")
        ok, _ = await c.connect(timeout=1)
        assert not ok
        c = await connected(application, "/?key=open")
        await c.disconnect()
    assert connects == ["/"]  # only the one let in (the query string is apart)


async def test_a_dropped_connect_is_rejected_with_a_warning(gc_log):
    def swallow(handler):
        async def middleware(socket, event):
            if event["type"] != "websocket.connect":
                await handler(socket, event)

        return middleware

    with stack(swallow):
        c = WebsocketCommunicator(app(), "/echo/")
        ok, _ = await c.connect(timeout=1)
    assert not ok
    assert "dropped websocket.connect on '/echo/' without answering" in gc_log.text


async def test_a_disconnect_cannot_be_dropped(gc_log):
    def swallow(handler):
        async def middleware(socket, event):
            if event["type"] != "websocket.disconnect":
                await handler(socket, event)

        return middleware

    with stack(swallow):
        c = await connected(app(), "/room/")
        assert members("mw-room")
        await c.disconnect()
        for _ in range(50):
            if not members("mw-room"):
                break
            await settle(0.02)
    assert members("mw-room") == []
    assert "dropped websocket.disconnect on '/room/'" in gc_log.text


# -- ordering, buffering, groups, the demultiplexer ---------------------------------


async def test_buffered_and_immediate_sends_keep_their_order():
    def receive(message, **kwargs):
        for n in range(3):
            message.reply_channel.send({"text": f"buffered {n}"})
        message.reply_channel.send({"text": "now"}, immediately=True)

    application = app(
        route("websocket.connect", lambda m: m.reply_channel.send({"accept": True})),
        route("websocket.receive", receive),
    )
    with stack(REC, "tests.middlewares.shout"):
        c = await connected(application, "/")
        await c.send_to(text_data="go")
        got = [await c.receive_from(1) for _ in range(4)]
        await c.disconnect()
    assert got == ["<now>", "<buffered 0>", "<buffered 1>", "<buffered 2>"]


async def test_group_sends_reach_every_member_through_the_stack():
    with stack("tests.middlewares.shout"):
        application = app()
        a = await connected(application, "/room/")
        b = await connected(application, "/room/")
        await a.send_to(text_data=json.dumps({"m": "hi"}))
        assert await a.receive_from(1) == '<{"M": "HI"}>'
        assert await b.receive_from(1) == '<{"M": "HI"}>'
        await Group("mw-room").asend({"text": "from outside"})
        assert await a.receive_from(1) == "<from outside>"
        assert await b.receive_from(1) == "<from outside>"
        await a.disconnect()
        await b.disconnect()


class Stream(AsyncJsonWebsocketConsumer):
    async def connect(self, message, multiplexer=None, **kwargs):
        await Group("mw-demux").aadd(message.reply_channel)

    async def receive(self, content, multiplexer=None, **kwargs):
        await multiplexer.send({"echo": content})


class Demux(WebsocketDemultiplexer):
    consumers = {"a": Stream, "b": Stream}


async def test_the_demultiplexer_and_its_groups_through_a_middleware():
    application = app(route_class(Demux))
    with stack(REC, "generic_consumers.middleware.FrameLogMiddleware"):
        c = await connected(application, "/")
        await c.send_to(text_data=json.dumps({"stream": "b", "payload": {"n": 1}}))
        assert json.loads(await c.receive_from(1)) == {
            "stream": "b",
            "payload": {"echo": {"n": 1}},
        }
        frame = Demux.encode("a", {"news": 1})
        await Group("mw-demux").asend(frame)
        assert json.loads(await c.receive_from(1)) == {
            "stream": "a",
            "payload": {"news": 1},
        }
        await c.disconnect()
    accepts = [e for e in EVENTS if e[1] == "websocket.accept"]
    assert len(accepts) == 1  # two streams, one accept


# -- failures stay with their socket ------------------------------------------------


async def test_a_failing_middleware_drops_that_frame_and_the_socket_lives(gc_log):
    with stack("tests.middlewares.fragile"):
        application = app()
        c = await connected(application)
        bystander = await connected(application)
        await c.send_to(text_data="boom")
        await c.send_to(text_data="after")
        assert await c.receive_from(1) == "after"
        await c.send_to(text_data="boom!")  # the consumer's echo raises outbound
        await c.send_to(text_data="again")
        assert await c.receive_from(1) == "again"
        await bystander.send_to(text_data="fine")
        assert await bystander.receive_from(1) == "fine"
        await c.disconnect()
        await bystander.disconnect()
    assert (
        "Middleware tests.middlewares.fragile raised Boom on websocket.receive for "
        "path '/echo/' (consumer tests.middlewares.Echo)" in gc_log.text
    )
    assert "raised Boom on websocket.send" in gc_log.text


async def test_a_failing_middleware_at_connect_rejects_that_socket_only(gc_log):
    with stack("tests.middlewares.fragile"):
        application = app()
        c = WebsocketCommunicator(application, "/echo/?boom")
        ok, _ = await c.connect(timeout=1)
        assert not ok
        other = await connected(application)
        await other.send_to(text_data="x")
        assert await other.receive_from(1) == "x"
        await other.disconnect()
    assert "raised Boom on websocket.connect" in gc_log.text


async def test_a_close_still_happens_when_a_middleware_raises_on_it(gc_log):
    with stack("tests.middlewares.fragile"):
        c = await connected(app())
        await c.send_to(text_data="close")
        assert await closed(c) == 4000
        await c.disconnect(code=4000)
    assert "raised Boom on websocket.close" in gc_log.text


async def test_a_failing_sync_middleware_drops_that_frame_only(gc_log):
    def picky(handler):
        def middleware(socket, event):
            if event.get("text") == "boom":
                raise ValueError("no booms")
            handler(socket, event)

        return middleware

    with stack(picky):
        c = await connected(app())
        for text in ["a", "boom", "b"]:
            await c.send_to(text_data=text)
        assert [await c.receive_from(1) for _ in range(2)] == ["a", "b"]
        await c.disconnect()
    assert "raised ValueError on websocket.receive for path '/echo/'" in gc_log.text


async def test_a_sync_middleware_calling_its_handler_late_is_an_error(gc_log):
    late = []

    def keeps_handler(handler):
        def middleware(socket, event):
            late.append(lambda: handler(socket, event))
            handler(socket, event)

        return middleware

    with stack(keeps_handler):
        c = await connected(app())
        with pytest.raises(RuntimeError, match="after it returned"):
            late[0]()
        await c.disconnect()


async def test_a_stack_that_cannot_load_rejects_its_sockets(gc_log):
    with stack("tests.middlewares.nowhere"):
        c = WebsocketCommunicator(app(), "/echo/")
        ok, _ = await c.connect(timeout=1)
    assert not ok
    assert "cannot be built; its sockets are rejected" in gc_log.text


# -- per route ----------------------------------------------------------------------


async def test_a_route_opts_out_with_as_route_attrs():
    with stack(REC):
        c = await connected(app(), "/plain/")
        await c.send_to(text_data="x")
        assert await c.receive_from(1) == "x"
        await c.disconnect()
    assert EVENTS == []


async def test_a_route_opts_in_or_replaces_the_stack():
    class Shouted(Echo):
        middleware = ["tests.middlewares.shout"]

    async def connect(message, **kwargs):
        await message.reply_channel.asend({"accept": True})

    connect.middleware = [(middlewares.Recorder, {"tag": "fn"})]  # type: ignore[attr-defined]
    application = app(
        route_class(Shouted, path=r"^/shout/$"),
        route("websocket.connect", connect, path=r"^/fn/$"),
        route_class(Echo, path=r"^/echo/$"),
    )
    with stack():  # nothing in settings: only the routes that ask get one
        c = await connected(application, "/shout/")
        await c.send_to(text_data="a")
        assert await c.receive_from(1) == "<A>"
        await c.disconnect()
        c = await connected(application, "/fn/")
        await c.disconnect()
        c = await connected(application, "/echo/")
        await c.send_to(text_data="a")
        assert await c.receive_from(1) == "a"
        await c.disconnect()
    with stack(REC):  # a route's list replaces the settings' stack
        c = await connected(application, "/shout/")
        await c.send_to(text_data="b")
        assert await c.receive_from(1) == "<B>"
        await c.disconnect()
    assert {tag for tag, _, _ in EVENTS} == {"fn"}


async def test_no_middleware_means_no_wire_at_all():
    # The socket then gets the server's own receive and send.
    with stack():
        application = app(route_class(Echo))
        stacks = SocketStacks()
        assert stacks.wire(application, application.router, None, None) is None
        opted_out = app(Echo.as_route(attrs={"middleware": False}))
        assert stacks.wire(opted_out, opted_out.router, None, None) is None
        own_stack = app(Echo.as_route(attrs={"middleware": [REC]}))
        assert stacks.wire(own_stack, own_stack.router, None, None) is not None
    with stack(REC):
        assert stacks.wire(application, application.router, None, None) is not None


# -- next to Channels 4 ASGI middleware ---------------------------------------------


@pytest.mark.django_db(transaction=True)
async def test_channels_auth_middleware_still_wraps_the_whole_application():
    from channels.auth import AuthMiddlewareStack

    seen = []

    def user_reader(handler):
        async def middleware(socket, event):
            if event["type"] == "websocket.connect":
                seen.append(str(socket.scope["user"]))
            await handler(socket, event)

        return middleware

    application = AuthMiddlewareStack(app(route_class(Echo)))
    with stack(user_reader):
        c = await connected(application, "/")
        await c.send_to(text_data="x")
        assert await c.receive_from(1) == "x"
        await c.disconnect()
    assert seen == ["AnonymousUser"]


class Plain(WebsocketConsumer):
    pass


async def test_sockets_close_cleanly_when_the_client_leaves_mid_stack():
    # The client goes away while frames are queued: nothing raises, nothing hangs.
    with stack(REC, "tests.middlewares.shout"):
        application = app(route_class(Plain))
        c = await connected(application, "/")
        for n in range(5):
            await c.send_to(text_data=str(n))
        await c.disconnect()
        await asyncio.sleep(0.05)
    assert EVENTS[-1][1] == "websocket.disconnect"
