"""The engine's guarantees that cut across modules: turns, membership timing, refused
handshakes, full channels on flush, workers that start with any scope."""

import asyncio
import logging

import pytest
from channels.layers import get_channel_layer
from channels.testing import HttpCommunicator, WebsocketCommunicator

from generic_consumers import Channel, Group, route
from generic_consumers.asgi import RoutingApplication, get_application
from generic_consumers.exceptions import DenyConnection
from generic_consumers.generic.websockets import (
    AsyncWebsocketConsumer,
    WebsocketConsumer,
)
from generic_consumers.runtime import delivery
from generic_consumers.runtime.counters import counters

from .conftest import eventually, members, settle


def accept(message, **kwargs):
    message.reply_channel.send({"accept": True})


async def connected(app, path="/"):
    communicator = WebsocketCommunicator(app, path)
    ok, _ = await communicator.connect(timeout=1)
    assert ok
    return communicator


# -- sends from tasks a consumer started ----------


async def test_turn_sends_from_a_task_outliving_the_consumer_go_out():
    # asyncio.create_task copies the context, and with it the consumer's turn: once
    # the consumer has returned, the task's sends must go out at once, not vanish.
    release = asyncio.Event()

    async def later(reply):
        await release.wait()
        await reply.asend({"text": "from the task"})

    async def start(message, **kwargs):
        await message.reply_channel.asend({"accept": True})
        asyncio.get_running_loop().create_task(later(message.reply_channel))

    app = RoutingApplication([route("websocket.connect", start)])
    c = await connected(app)
    release.set()
    assert await c.receive_from(1) == "from the task"
    await c.disconnect()


async def test_turn_sends_inside_the_consumer_are_still_buffered():
    async def start(message, **kwargs):
        await message.reply_channel.asend({"accept": True})
        await message.reply_channel.asend({"text": "buffered"})
        await message.reply_channel.asend({"text": "first"}, immediately=True)

    app = RoutingApplication([route("websocket.connect", start)])
    c = await connected(app)
    assert [await c.receive_from(1) for _ in range(2)] == ["first", "buffered"]
    await c.disconnect()


# -- membership changes take effect when called ----------


class SyncJoiner(WebsocketConsumer):
    def connect(self, message, **kwargs):
        Group("joined").add(message.reply_channel)
        Group("joined").send({"text": "welcome"}, immediately=True)
        message.reply_channel.send({"accept": True})


class AsyncJoiner(AsyncWebsocketConsumer):
    async def connect(self, message, **kwargs):
        await Group("joined").aadd(message.reply_channel)
        await Group("joined").asend({"text": "welcome"}, immediately=True)
        await message.reply_channel.asend({"accept": True})


@pytest.mark.parametrize("consumer", [SyncJoiner, AsyncJoiner])
async def test_group_add_then_immediate_send_reaches_the_new_member(consumer):
    app = RoutingApplication([consumer.as_route()])
    c = await connected(app)
    assert await c.receive_from(1) == "welcome"
    await c.disconnect()


def test_group_add_outside_a_consumer_is_immediate():
    Group("now").add("tests.member")
    assert members("now") == ["tests.member"]
    Group("now").discard("tests.member")
    assert not members("now")


async def test_membership_changes_of_one_turn_keep_their_order():
    def flip(message, **kwargs):
        for _ in range(5):
            Group("flip").add(message.reply_channel)
            Group("flip").discard(message.reply_channel)
        Group("flip").add(message.reply_channel)
        message.reply_channel.send({"accept": True})

    app = RoutingApplication([route("websocket.connect", flip)])
    c = await connected(app)
    assert len(members("flip")) == 1
    await c.disconnect()


# -- refused handshakes leave their groups at once ----------


class Refused(WebsocketConsumer):
    groups = ["lobby"]

    def connect(self, message, **kwargs):
        raise DenyConnection


async def test_refused_handshake_discards_memberships_before_disconnect():
    app = RoutingApplication([Refused.as_route()])
    c = WebsocketCommunicator(app, "/")
    ok, _ = await c.connect(timeout=1)
    assert not ok
    await settle()
    # No disconnect has been sent to the application yet.
    assert not members("lobby")
    await c.disconnect()


# -- a buffered send to a full channel ----------


async def test_flush_drops_only_sends_to_a_full_channel_and_names_it(
    gc_log, monkeypatch, settings
):
    monkeypatch.setattr(delivery, "FLUSH_RETRY_SECONDS", 0.05)
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"capacity": 1},
        }
    }
    layer = get_channel_layer()

    def fill(message, **kwargs):
        message.reply_channel.send({"accept": True})
        for n in range(3):
            Channel("tests.full").send({"n": n})
        Channel("tests.other").send({"n": "other"})
        message.reply_channel.send({"text": "after"})

    app = RoutingApplication([route("websocket.connect", fill)])
    dropped = counters.snapshot()["counts"]["channel_full_dropped"]
    c = await connected(app)
    assert await c.receive_from(1) == "after"
    assert counters.snapshot()["counts"]["channel_full_dropped"] == dropped + 2
    assert (await layer.receive("tests.other"))["content"] == {"n": "other"}
    assert (await layer.receive("tests.full"))["content"] == {"n": 0}
    errors = [r.getMessage() for r in gc_log.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1
    assert "Dropped 2 buffered message(s) for channel 'tests.full'" in errors[0]
    await c.disconnect()


async def test_immediate_send_to_a_full_channel_raises_channel_full(monkeypatch):
    from generic_consumers.exceptions import ChannelFull

    monkeypatch.setattr(delivery, "FLUSH_RETRY_SECONDS", 0.05)
    layer = get_channel_layer()
    layer.capacity = 1
    await Channel("tests.full2").asend({"n": 1})
    with pytest.raises(ChannelFull, match="tests.full2"):
        await Channel("tests.full2").asend({"n": 2})


# -- workers start with the server, whatever the first event is ----------


async def test_get_application_starts_workers_on_the_first_http_request():
    seen = asyncio.Event()

    def work(message, **kwargs):
        seen.set()

    application = get_application(
        [route("tests.job", work), route("websocket.connect", accept)]
    )
    http = HttpCommunicator(application, "GET", "/nowhere/")
    response = await http.get_response(timeout=5)
    await http.wait(timeout=5)  # Django closes the request body as it finishes
    assert response["status"] == 404
    await Channel("tests.job").asend({"job": 1})
    await asyncio.wait_for(seen.wait(), 1)


# -- logging ----------


async def test_unrouted_disconnect_is_logged_once_per_path_at_info(gc_log):
    app = RoutingApplication([route("websocket.connect", accept)])
    for _ in range(3):
        c = await connected(app, "/quiet/")
        await c.disconnect()
    records = [r for r in gc_log.records if "websocket.disconnect" in r.getMessage()]
    assert len(records) == 1
    assert records[0].levelno == logging.INFO


# -- group fan-out on the in-memory layer ----------


def join_lobby(message, **kwargs):
    Group("lobby").add(message.reply_channel)
    message.reply_channel.send({"accept": True})


async def test_local_group_send_skips_the_layer_and_still_reaches_other_members():
    layer = get_channel_layer()
    app = RoutingApplication([route("websocket.connect", join_lobby)])
    a, b = await connected(app), await connected(app)
    await Group("lobby").aadd("tests.audit")  # a named channel, not a socket
    assert list(layer.groups["lobby"]) == ["tests.audit"]  # sockets are not in it
    await Group("lobby").asend({"text": "hi"})
    assert [await a.receive_from(1), await b.receive_from(1)] == ["hi", "hi"]
    assert (await layer.receive("tests.audit"))["content"] == {"text": "hi"}
    for c in (a, b):
        await c.disconnect()


async def test_local_group_send_is_not_held_up_by_a_slow_client():
    # One client's server-side send blocks (a full TCP buffer); the others still get
    # the group message, and the slow one gets it once it reads again.
    app = RoutingApplication([route("websocket.connect", join_lobby)])
    unblock = asyncio.Event()

    async def open_socket(slow):
        inbound: asyncio.Queue = asyncio.Queue()
        outbound: asyncio.Queue = asyncio.Queue()

        async def send(event):
            if slow and event["type"] == "websocket.send":
                await unblock.wait()
            await outbound.put(event)

        scope = {"type": "websocket", "path": "/", "headers": [], "subprotocols": []}
        task = asyncio.ensure_future(app(scope, inbound.get, send))
        await inbound.put({"type": "websocket.connect"})
        assert (await asyncio.wait_for(outbound.get(), 1))["type"] == "websocket.accept"
        return task, inbound, outbound

    slow = await open_socket(slow=True)
    fast = await open_socket(slow=False)
    await Group("lobby").asend({"text": "news"})
    assert (await asyncio.wait_for(fast[2].get(), 1))["text"] == "news"
    assert slow[2].empty()
    unblock.set()
    assert (await asyncio.wait_for(slow[2].get(), 1))["text"] == "news"
    for task, inbound, _ in (slow, fast):
        await inbound.put({"type": "websocket.disconnect", "code": 1000})
        await asyncio.wait_for(task, 1)


# -- a connect consumer that never decides (the pre-1.0 idiom) ----------


def pre_1_0_connect(message, **kwargs):
    Group("liveblog").add(message.reply_channel)  # and no accept: 0.17 style


async def test_undecided_connect_warns_at_once_naming_consumer_path_and_fix(gc_log):
    app = RoutingApplication([route("websocket.connect", pre_1_0_connect)])
    c = WebsocketCommunicator(app, "/liveblog/")
    connecting = asyncio.ensure_future(c.connect(timeout=1))
    await settle(0.2)  # well before CONNECT_TIMEOUT (4 s)
    [warning] = [r for r in gc_log.records if r.levelno == logging.WARNING]
    text = warning.getMessage()
    assert "pre_1_0_connect" in text and "'/liveblog/'" in text
    assert "{'accept': True}" in text and "ACCEPT_UNDECIDED" in text
    assert not connecting.done()  # still undecided: a group message could accept it
    connecting.cancel()


async def test_connect_that_asked_a_worker_does_not_warn(gc_log):
    def ask_worker(message, **kwargs):
        Channel("tests.approve").send({"reply_channel": message.reply_channel.name})

    def approve(message, **kwargs):
        Channel(message["reply_channel"]).send({"accept": True})

    app = RoutingApplication(
        [route("websocket.connect", ask_worker), route("tests.approve", approve)]
    )
    c = await connected(app)
    assert "without accepting" not in gc_log.text
    await c.disconnect()


async def test_accept_undecided_accepts_pre_1_0_sockets(settings):
    settings.GENERIC_CONSUMERS = {"ROUTING": [], "ACCEPT_UNDECIDED": True}
    app = RoutingApplication([route("websocket.connect", pre_1_0_connect)])
    c = await connected(app)
    await Group("liveblog").asend({"text": "post"})
    assert await c.receive_from(1) == "post"
    await c.disconnect()


async def test_accept_undecided_leaves_explicit_rejections_alone(settings):
    settings.GENERIC_CONSUMERS = {"ROUTING": [], "ACCEPT_UNDECIDED": True}

    def refuse(message, **kwargs):
        message.reply_channel.send({"accept": False})

    app = RoutingApplication([route("websocket.connect", refuse)])
    ok, _ = await WebsocketCommunicator(app, "/").connect(timeout=1)
    assert not ok


# -- hostile frames: clear refusals, bounded logs ----------


async def test_deeply_nested_json_is_a_one_line_refusal(gc_log):
    from generic_consumers.generic.websockets import JsonWebsocketConsumer

    app = RoutingApplication([JsonWebsocketConsumer.as_route()])
    c = await connected(app)
    await c.send_to(text_data="[" * 100_000 + "]" * 100_000)
    await c.send_to(text_data="{}")  # the socket is still open and served

    def warnings():
        return [r for r in gc_log.records if r.levelno >= logging.WARNING]

    await eventually(warnings)
    await settle()  # and nothing more comes
    [record] = warnings()
    assert "nested too deeply" in record.getMessage() and record.exc_info is None
    await c.disconnect()


async def test_refused_frames_log_a_bounded_amount_and_say_what_was_held_back(
    gc_log, monkeypatch
):
    from types import SimpleNamespace

    from generic_consumers.generic.websockets import WebsocketDemultiplexer
    from generic_consumers.runtime import logs

    # The throttle's clock is the test's: windows do not depend on how fast a busy
    # machine decodes 900 KB frames.
    clock = [1000.0]
    monkeypatch.setattr(logs, "time", SimpleNamespace(monotonic=lambda: clock[0]))
    throttle = logs.Throttle(burst=5, window=10.0)
    monkeypatch.setattr(logs, "frame_warnings", throttle)
    monkeypatch.setattr("generic_consumers.generic.frames.frame_warnings", throttle)

    class Demux(WebsocketDemultiplexer):
        consumers: dict = {}

    def refused() -> list[str]:
        lines = [r.getMessage() for r in gc_log.records if r.levelno >= logging.WARNING]
        return [line for line in lines if "refused a frame" in line]

    def seen() -> int:  # frames the throttle has been asked about
        return sum(int(entry[1] + entry[2]) for entry in throttle._seen.values())

    app = RoutingApplication([Demux.as_route()])
    c = await connected(app)
    huge = "s" * 900_000
    for _ in range(20):
        await c.send_json_to({"stream": huge, "payload": {}})
    await eventually(lambda: seen() == 20)
    clock[0] += 11  # a new window
    await c.send_json_to({"stream": huge, "payload": {}})
    await eventually(lambda: len(refused()) == 6)
    await settle()
    lines = [r.getMessage() for r in gc_log.records if r.levelno >= logging.WARNING]
    assert sum(len(line) for line in lines) < 5_000
    assert len(refused()) == 6
    assert any("15 similar line(s)" in line for line in lines)
    await c.disconnect()


async def test_refusals_held_back_are_counted_when_the_socket_closes(gc_log):
    # Every refusal shows in the log: a socket that closes within the window still
    # gets the line saying how many were held back.
    from generic_consumers.generic.websockets import WebsocketDemultiplexer

    class Demux(WebsocketDemultiplexer):
        consumers: dict = {}

    app = RoutingApplication([Demux.as_route()])
    c = await connected(app)
    for _ in range(8):
        await c.send_to(text_data="not json")
    await settle(0.1)
    await c.disconnect()
    await settle()
    lines = [r.getMessage() for r in gc_log.records if r.levelno >= logging.WARNING]
    assert sum("refused a frame" in line for line in lines) == 5
    assert sum("3 similar line(s)" in line for line in lines) == 1, lines
