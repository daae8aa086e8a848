"""The applications under test, each echoing one JSON frame, and how to build them.

Every row of the report is an :class:`AppSpec`. channelsmultiplexer comes from the
``bench`` extra: without it, its row says "n/a".
"""

from __future__ import annotations

import asyncio
import inspect
import json
import os
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")

import django  # noqa: E402

django.setup()

from channels.generic.websocket import (  # noqa: E402
    AsyncJsonWebsocketConsumer as C4AsyncJson,
)
from channels.generic.websocket import JsonWebsocketConsumer as C4SyncJson  # noqa: E402
from channels.layers import get_channel_layer  # noqa: E402
from channels.routing import URLRouter  # noqa: E402
from django.urls import path as url_path  # noqa: E402

from generic_consumers import Group, route, route_class  # noqa: E402
from generic_consumers.asgi import RoutingApplication  # noqa: E402
from generic_consumers.generic.websockets import (  # noqa: E402
    AsyncJsonWebsocketConsumer as GCAsyncJson,
)
from generic_consumers.generic.websockets import (  # noqa: E402
    AsyncWebsocketDemultiplexer as GCAsyncDemux,
)
from generic_consumers.generic.websockets import (  # noqa: E402
    JsonWebsocketConsumer as GCSyncJson,
)
from generic_consumers.generic.websockets import (  # noqa: E402
    WebsocketDemultiplexer as GCDemux,
)

# The payload every application echoes; demultiplexers get it inside a stream frame.
PAYLOAD = {"n": 1, "text": "hello, bench", "items": [1, 2, 3], "ok": True}
PLAIN_FRAME = json.dumps(PAYLOAD, separators=(",", ":"))
DEMUX_FRAME = json.dumps({"stream": "echo", "payload": PAYLOAD}, separators=(",", ":"))
PATH = "/echo/"
BROADCAST_TYPE = "bench.broadcast"

try:
    from channelsmultiplexer import AsyncJsonWebsocketDemultiplexer as MuxDemux
except ImportError:  # pragma: no cover - the bench extra is not installed
    MuxDemux = None


class Unavailable(Exception):
    """The application cannot be built here (its package is not installed)."""


@dataclass(frozen=True)
class AppSpec:
    key: str
    label: str
    family: str  # "floor", "channels4" or "ours"
    build: Callable[[], Any]
    demux: bool = False
    reference: str | None = None  # the matching Channels 4 row

    @property
    def frame(self) -> str:
        return DEMUX_FRAME if self.demux else PLAIN_FRAME

    def check(self, reply: dict[str, Any]) -> None:
        """Raise unless ``reply`` (an ASGI send event) echoes :attr:`frame`."""
        if reply.get("type") != "websocket.send" or reply.get("text") is None:
            raise AssertionError(f"{self.key}: expected a text frame, got {reply!r}")
        if json.loads(reply["text"]) != json.loads(self.frame):
            raise AssertionError(f"{self.key}: wrong echo {reply['text']!r}")


def _need(thing: Any, what: str) -> Any:
    if thing is None:
        raise Unavailable(f"{what} not available")
    return thing


# -- the floor --


async def raw_echo(scope: dict, receive: Any, send: Any) -> None:
    """The least an ASGI app can do: accept, decode and re-encode each JSON frame."""
    while True:
        event = await receive()
        kind = event["type"]
        if kind == "websocket.receive":
            content = json.loads(event["text"])
            await send({"type": "websocket.send", "text": json.dumps(content)})
        elif kind == "websocket.connect":
            await send({"type": "websocket.accept"})
        elif kind == "websocket.disconnect":
            return


# -- Channels 4 --


class C4AsyncEcho(C4AsyncJson):
    async def receive_json(self, content, **kwargs):
        await self.send_json(content)


class C4SyncEcho(C4SyncJson):
    def receive_json(self, content, **kwargs):
        self.send_json(content)


def _c4(consumer: type) -> Any:
    return URLRouter([url_path(PATH.strip("/") + "/", consumer.as_asgi())])


def _c4_mux() -> Any:
    demux = _need(MuxDemux, "channelsmultiplexer")
    # A subclass with its own dict: the package writes into the class attribute.
    cls = type("BenchMux", (demux,), {"applications": {"echo": C4AsyncEcho.as_asgi()}})
    return _c4(cls)


# -- generic_consumers --


class GCSyncEcho(GCSyncJson):
    def receive(self, content, **kwargs):
        self.send(content)


async def gc_async_connect(message, **kwargs):
    await message.reply_channel.asend({"accept": True})


async def gc_async_receive(message, **kwargs):
    content = json.loads(message["text"])
    await message.reply_channel.asend({"text": json.dumps(content)})


async def gc_async_disconnect(message, **kwargs):
    pass


def _gc(routing: list) -> RoutingApplication:
    return RoutingApplication(routing)


def passthrough(handler: Any) -> Any:
    """The least a frame middleware can be: every event passed on unchanged."""

    async def middleware(socket: Any, event: dict[str, Any]) -> None:
        await handler(socket, event)

    return middleware


def _gc_async(middleware: list | None = None, keepalive: float | None = None) -> Any:
    base = GCAsyncJson

    class GCAsyncEcho(base):  # type: ignore[misc,valid-type]
        keepalive_interval = keepalive

        async def receive(self, content, **kwargs):
            await self.send(content)

    if middleware is not None:
        # Its own stack (per route): the settings' MIDDLEWARE stays empty, so every
        # other row runs with no middleware at all.
        return _gc(
            [GCAsyncEcho.as_route(attrs={"middleware": middleware}, path=rf"^{PATH}$")]
        )
    return _gc([route_class(GCAsyncEcho, path=rf"^{PATH}$")])


async def _maybe_await(result: Any) -> None:
    if inspect.isawaitable(result):
        await result


def _gc_demux(*, mapping: bool, is_async: bool) -> Any:
    if is_async:
        base = GCAsyncDemux
        sub_base = GCAsyncJson

        class AsyncStreamEcho(sub_base):  # type: ignore[misc,valid-type]
            async def receive(self, content, **kwargs):
                await _maybe_await(kwargs["multiplexer"].send(content))

        stream: type = AsyncStreamEcho
    else:
        base = GCDemux

        class StreamEcho(GCSyncJson):
            def receive(self, content, **kwargs):
                kwargs["multiplexer"].send(content)

        stream = StreamEcho
    routing: list = []
    if mapping:
        attrs: dict[str, Any] = {"mapping": {"echo": "bench.echo"}}

        def mapped_echo(message, **kwargs):
            payload = {
                k: v
                for k, v in message.content.items()
                if k not in ("reply_channel", "path")
            }
            message.reply_channel.send(base.encode("echo", payload))

        routing.append(route("bench.echo", mapped_echo))
    else:
        attrs = {"consumers": {"echo": stream}}
    demux = type("BenchDemux", (base,), attrs)
    return _gc([route_class(demux, path=rf"^{PATH}$"), *routing])


APPS: list[AppSpec] = [
    AppSpec("raw", "raw ASGI echo (floor)", "floor", lambda: raw_echo),
    AppSpec(
        "c4-async",
        "Channels 4 AsyncJsonWebsocketConsumer",
        "channels4",
        lambda: _c4(C4AsyncEcho),
        reference="c4-async",
    ),
    AppSpec(
        "c4-sync",
        "Channels 4 JsonWebsocketConsumer",
        "channels4",
        lambda: _c4(C4SyncEcho),
        reference="c4-sync",
    ),
    AppSpec(
        "c4-mux",
        "channelsmultiplexer demux → Channels 4 async",
        "channels4",
        _c4_mux,
        demux=True,
        reference="c4-mux",
    ),
    AppSpec(
        "gc-sync",
        "ours JsonWebsocketConsumer (sync)",
        "ours",
        lambda: _gc([route_class(GCSyncEcho, path=rf"^{PATH}$")]),
        reference="c4-sync",
    ),
    AppSpec(
        "gc-async-fn",
        "ours async def route consumers",
        "ours",
        lambda: _gc(
            [
                route("websocket.connect", gc_async_connect, path=rf"^{PATH}$"),
                route("websocket.receive", gc_async_receive, path=rf"^{PATH}$"),
                route("websocket.disconnect", gc_async_disconnect, path=rf"^{PATH}$"),
            ]
        ),
        reference="c4-async",
    ),
    AppSpec(
        "gc-async",
        "ours AsyncJsonWebsocketConsumer",
        "ours",
        _gc_async,
        reference="c4-async",
    ),
    AppSpec(
        "gc-async-mw",
        "ours AsyncJsonWebsocketConsumer + 1 pass-through middleware",
        "ours",
        lambda: _gc_async([passthrough]),
        reference="c4-async",
    ),
    AppSpec(
        "gc-async-ka",
        "ours AsyncJsonWebsocketConsumer + keepalive on",
        "ours",
        # Pings due once an hour: what a socket pays for having keepalive on (its
        # timer), without ping frames mixing into the echo replies being timed.
        lambda: _gc_async(keepalive=3600.0),
        reference="c4-async",
    ),
    AppSpec(
        "gc-demux",
        "ours WebsocketDemultiplexer (consumers)",
        "ours",
        lambda: _gc_demux(mapping=False, is_async=False),
        demux=True,
        reference="c4-mux",
    ),
    AppSpec(
        "gc-demux-map",
        "ours WebsocketDemultiplexer (mapping)",
        "ours",
        lambda: _gc_demux(mapping=True, is_async=False),
        demux=True,
        reference="c4-mux",
    ),
    AppSpec(
        "gc-async-demux",
        "ours AsyncWebsocketDemultiplexer (consumers)",
        "ours",
        lambda: _gc_demux(mapping=False, is_async=True),
        demux=True,
        reference="c4-mux",
    ),
]
APPS_BY_KEY = {spec.key: spec for spec in APPS}


def build(key: str) -> Any:
    """The ASGI application for the row ``key`` (raises :class:`Unavailable`)."""
    return APPS_BY_KEY[key].build()


# -- group fan-out --
# Each fan-out application joins the given groups on connect and forwards every group
# message to its socket as a text frame. ``broadcast`` is how that library's users send
# to a group from outside a consumer.


def raw_fanout(groups: list[str]) -> Any:
    """The floor: join the groups straight on the layer, forward what arrives."""

    async def app(scope: dict, receive: Any, send: Any) -> None:
        layer = get_channel_layer()
        channel = await layer.new_channel()
        event = await receive()
        assert event["type"] == "websocket.connect", event
        for group in groups:
            await layer.group_add(group, channel)
        await send({"type": "websocket.accept"})

        async def forward() -> None:
            while True:
                message = await layer.receive(channel)
                await send({"type": "websocket.send", "text": message["text"]})

        listener = asyncio.ensure_future(forward())
        try:
            while (await receive())["type"] != "websocket.disconnect":
                pass
        finally:
            listener.cancel()
            for group in groups:
                await layer.group_discard(group, channel)

    return app


async def layer_broadcast(group: str, text: str) -> None:
    await get_channel_layer().group_send(group, {"type": BROADCAST_TYPE, "text": text})


async def gc_broadcast(group: str, text: str) -> None:
    await Group(group).asend({"text": text})


def _c4_fanout(base: type, *, is_async: bool) -> Callable[[list[str]], Any]:
    def make(groups: list[str]) -> Any:
        if is_async:

            async def bench_broadcast(self, event):
                await self.send(text_data=event["text"])

        else:

            def bench_broadcast(self, event):  # type: ignore[misc]
                self.send(text_data=event["text"])

        cls = type(
            "Fanout", (base,), {"groups": groups, "bench_broadcast": bench_broadcast}
        )
        return _c4(cls)

    return make


def _gc_fanout(kind: str) -> Callable[[list[str]], Any]:
    def make(groups: list[str]) -> Any:
        if kind == "sync":
            cls: type = type("Fanout", (GCSyncJson,), {"groups": groups})
            return _gc([route_class(cls, path=rf"^{PATH}$")])
        if kind == "async":
            base = GCAsyncJson
            cls = type("Fanout", (base,), {"groups": groups})
            return _gc([route_class(cls, path=rf"^{PATH}$")])

        async def connect(message, **kwargs):
            for group in groups:
                await Group(group).aadd(message.reply_channel)
            await message.reply_channel.asend({"accept": True})

        async def disconnect(message, **kwargs):
            for group in groups:
                await Group(group).adiscard(message.reply_channel)

        return _gc(
            [
                route("websocket.connect", connect, path=rf"^{PATH}$"),
                route("websocket.disconnect", disconnect, path=rf"^{PATH}$"),
            ]
        )

    return make


@dataclass(frozen=True)
class FanoutSpec:
    key: str
    label: str
    family: str
    build: Callable[[list[str]], Any]
    broadcast: Callable[[str, str], Any]
    reference: str | None = None


FANOUT_APPS: list[FanoutSpec] = [
    FanoutSpec("raw", "raw ASGI + layer (floor)", "floor", raw_fanout, layer_broadcast),
    FanoutSpec(
        "c4-async",
        "Channels 4 AsyncJsonWebsocketConsumer",
        "channels4",
        _c4_fanout(C4AsyncJson, is_async=True),
        layer_broadcast,
        reference="c4-async",
    ),
    FanoutSpec(
        "c4-sync",
        "Channels 4 JsonWebsocketConsumer",
        "channels4",
        _c4_fanout(C4SyncJson, is_async=False),
        layer_broadcast,
        reference="c4-sync",
    ),
    FanoutSpec(
        "gc-sync",
        "ours JsonWebsocketConsumer (sync)",
        "ours",
        _gc_fanout("sync"),
        gc_broadcast,
        reference="c4-sync",
    ),
    FanoutSpec(
        "gc-async-fn",
        "ours async def route consumers",
        "ours",
        _gc_fanout("function"),
        gc_broadcast,
        reference="c4-async",
    ),
    FanoutSpec(
        "gc-async",
        "ours AsyncJsonWebsocketConsumer",
        "ours",
        _gc_fanout("async"),
        gc_broadcast,
        reference="c4-async",
    ),
]
