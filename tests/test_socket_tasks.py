"""Background tasks bound to a socket: start, replace, stop, cancel at close, errors,
sends straight to the socket, sync consumers, streams, and the 1.x test client."""

import asyncio
import threading

import pytest
from channels.testing import WebsocketCommunicator

from generic_consumers import route_class
from generic_consumers.asgi import RoutingApplication
from generic_consumers.exceptions import DenyConnection
from generic_consumers.generic.websockets import (
    AsyncJsonWebsocketConsumer,
    AsyncWebsocketDemultiplexer,
    JsonWebsocketConsumer,
    WebsocketDemultiplexer,
)
from generic_consumers.runtime.registry import sockets
from generic_consumers.test import ChannelTestCase, WSClient, apply_routes


def serve(consumer, **filters):
    return RoutingApplication([route_class(consumer, **filters)])


async def connected(app, path="/"):
    communicator = WebsocketCommunicator(app, path)
    ok, _ = await communicator.connect(timeout=1)
    assert ok
    return communicator


async def eventually(predicate, what):
    for _ in range(200):
        if predicate():
            return
        await asyncio.sleep(0.01)
    raise AssertionError(f"never happened: {what}")


class Ticker(AsyncJsonWebsocketConsumer):
    """Ticks on the socket from connect on; frames stop, restart or replace it."""

    cancelled: list = []

    async def connect(self, message, **kwargs):
        await message.reply_channel.asend({"accept": True})
        self.start_task("ticker", self.sleep_loop(self.tick, 0.01))

    async def tick(self):
        try:
            await self.send({"tick": self.kwargs.get("label", "connect")})
        except asyncio.CancelledError:  # pragma: no cover - cancelled mid-send
            raise

    async def receive(self, content, **kwargs):
        if content == "stop":
            self.stop_task("ticker")
            await self.send({"stopped": True})
        elif content == "replace":
            self.start_task("ticker", self.tock)

    async def tock(self):
        try:
            await self.send({"tock": 1})
            await asyncio.Event().wait()  # until cancelled
        finally:
            type(self).cancelled.append("tock")


async def test_task_started_in_connect_sends_straight_to_the_socket():
    c = await connected(serve(Ticker))
    assert await c.receive_json_from(1) == {"tick": "connect"}
    assert await c.receive_json_from(1) == {"tick": "connect"}
    await c.disconnect()


async def test_a_later_message_stops_the_task_by_its_id():
    c = await connected(serve(Ticker))
    assert await c.receive_json_from(1) == {"tick": "connect"}
    await c.send_json_to("stop")
    while (frame := await c.receive_json_from(1)) != {"stopped": True}:
        assert frame == {"tick": "connect"}
    socket = sockets.get(next(iter(sockets)))
    await eventually(lambda: len(socket.tasks) == 0, "the ticker ended")
    assert await c.receive_nothing(0.05)  # no tick after the stop was handled
    await c.disconnect()


async def test_starting_under_a_running_id_cancels_and_replaces_it():
    Ticker.cancelled = []
    c = await connected(serve(Ticker))
    assert await c.receive_json_from(1) == {"tick": "connect"}
    await c.send_json_to("replace")
    while (frame := await c.receive_json_from(1)) != {"tock": 1}:
        assert frame == {"tick": "connect"}
    assert await c.receive_nothing(0.05)  # the ticker is gone
    socket = sockets.get(next(iter(sockets)))
    assert len(socket.tasks) == 1
    await c.disconnect()
    await eventually(lambda: Ticker.cancelled == ["tock"], "tock cancelled at close")


async def test_every_task_is_cancelled_when_the_socket_closes():
    ended = []

    class Many(AsyncJsonWebsocketConsumer):
        async def receive(self, content, **kwargs):
            for n in range(3):
                self.start_task(f"t{n}", self.wait_forever(n))
            await self.send({"started": 3})

        async def wait_forever(self, n):
            try:
                await asyncio.Event().wait()
            except asyncio.CancelledError:
                ended.append(n)
                raise

    c = await connected(serve(Many))
    await c.send_json_to({})
    assert await c.receive_json_from(1) == {"started": 3}
    await c.disconnect()
    await eventually(lambda: sorted(ended) == [0, 1, 2], "all three cancelled")


async def test_task_error_is_logged_with_consumer_path_and_id_socket_stays_open(
    gc_log,
):
    class Failing(AsyncJsonWebsocketConsumer):
        async def receive(self, content, **kwargs):
            if content == "fail":
                self.start_task("doomed", self.fail)
            else:
                await self.send({"echo": content})

        async def fail(self):
            raise ZeroDivisionError("boom")

    c = await connected(serve(Failing, path=r"^/failing/$"), "/failing/")
    await c.send_json_to("fail")
    await eventually(lambda: "boom" in gc_log.text, "the error logged")
    record = next(r for r in gc_log.records if "Background task" in r.getMessage())
    text = record.getMessage()
    assert "'doomed'" in text and "Failing" in text and "'/failing/'" in text
    assert record.exc_info[0] is ZeroDivisionError
    await c.send_json_to({"n": 1})
    assert await c.receive_json_from(1) == {"echo": {"n": 1}}
    await c.disconnect()


async def test_task_sends_during_connect_wait_for_the_handshake_outcome():
    # A task's frame must not accept a socket its connect consumer then refuses.
    class Refusing(AsyncJsonWebsocketConsumer):
        async def connect(self, message, **kwargs):
            self.start_task("early", self.early)
            await asyncio.sleep(0.05)  # the task has sent by now
            raise DenyConnection

        async def early(self):
            await self.send({"too": "early"})

    c = WebsocketCommunicator(serve(Refusing), "/")
    ok, _ = await c.connect(timeout=1)
    assert not ok


async def test_task_sends_during_connect_follow_the_accept():
    class Early(AsyncJsonWebsocketConsumer):
        async def connect(self, message, **kwargs):
            self.start_task("early", self.early)
            await asyncio.sleep(0.05)
            await message.reply_channel.asend({"accept": True})

        async def early(self):
            await self.send({"hello": 1})

    c = await connected(serve(Early))
    assert await c.receive_json_from(1) == {"hello": 1}
    await c.disconnect()


class SyncTicker(JsonWebsocketConsumer):
    """A sync consumer: its jobs are plain functions, run in the socket's thread."""

    threads: list = []

    def receive(self, content, **kwargs):
        if content == "once":
            self.start_task("once", self.once)
        elif content == "loop":
            self.start_task("loop", self.sleep_loop(self.tick, 0.01))
        elif content == "stop":
            self.stop_task("loop")
            self.send({"stopped": True})

    def once(self):
        type(self).threads.append(threading.current_thread().name)
        self.send({"once": True})

    def tick(self):
        self.send({"tick": True})


async def test_sync_consumer_starts_plain_function_tasks_in_its_thread():
    SyncTicker.threads = []
    c = await connected(serve(SyncTicker))
    await c.send_json_to("once")
    assert await c.receive_json_from(1) == {"once": True}
    socket = sockets.get(next(iter(sockets)))
    assert SyncTicker.threads == [socket.thread.name]
    # A task that ended leaves the registry: short tasks do not pile up.
    await eventually(lambda: len(socket.tasks) == 0, "the ended task forgotten")
    await c.send_json_to("loop")
    assert await c.receive_json_from(1) == {"tick": True}
    assert await c.receive_json_from(1) == {"tick": True}
    await c.send_json_to("stop")
    while (frame := await c.receive_json_from(1)) != {"stopped": True}:
        assert frame == {"tick": True}
    await c.disconnect()


class Stream(JsonWebsocketConsumer):
    def receive(self, content, multiplexer=None, **kwargs):
        stream = multiplexer.stream

        async def report():
            # A stream's task replies through the multiplexer like its consumer.
            await asyncio.to_thread(multiplexer.send, {"task": stream})

        self.start_task("job", report)


@pytest.mark.parametrize("base", [WebsocketDemultiplexer, AsyncWebsocketDemultiplexer])
async def test_stream_consumers_task_ids_are_per_stream(base):
    class Demux(base):
        consumers = {"a": Stream, "b": Stream}

    c = await connected(serve(Demux))
    await c.send_json_to({"stream": "a", "payload": {}})
    await c.send_json_to({"stream": "b", "payload": {}})
    frames = [await c.receive_json_from(1), await c.receive_json_from(1)]
    assert sorted(f["stream"] for f in frames) == ["a", "b"]  # "job" twice, both ran
    assert all(f["payload"] == {"task": f["stream"]} for f in frames)
    await c.disconnect()


async def test_task_id_must_be_a_string():
    class Bad(AsyncJsonWebsocketConsumer):
        async def receive(self, content, **kwargs):
            try:
                self.start_task(1, asyncio.sleep(0))
            except TypeError as exc:
                await self.send({"error": str(exc)})

    c = await connected(serve(Bad))
    await c.send_json_to({})
    assert await c.receive_json_from(1) == {"error": "task_id must be a string, not 1."}
    await c.disconnect()


async def test_sleep_loop_refuses_a_bad_period():
    class Bad(AsyncJsonWebsocketConsumer):
        async def receive(self, content, **kwargs):
            with pytest.raises(ValueError, match="positive number of seconds"):
                await self.sleep_loop(self.receive, 0)
            await self.send({"ok": True})

    c = await connected(serve(Bad))
    await c.send_json_to({})
    assert await c.receive_json_from(1) == {"ok": True}
    await c.disconnect()


async def test_a_task_started_in_disconnect_never_runs():
    ran = []

    class Late(AsyncJsonWebsocketConsumer):
        async def disconnect(self, message, **kwargs):
            self.start_task("late", self.late)

        async def late(self):
            ran.append(True)

    c = await connected(serve(Late))
    await c.disconnect()
    await asyncio.sleep(0.05)
    assert ran == []


class TestTheOneXClientSaysWhy(ChannelTestCase):
    def test_start_task_without_a_socket_raises_a_clear_error(self):
        class Starts(JsonWebsocketConsumer):
            def receive(self, content, **kwargs):
                self.start_task("job", self.job)

            async def job(self):  # pragma: no cover - never started
                pass

        with apply_routes([route_class(Starts)]):
            client = WSClient()
            client.send_and_consume("websocket.connect", path="/")
            with pytest.raises(RuntimeError, match="needs a live socket"):
                client.send_and_consume("websocket.receive", text={}, path="/")
