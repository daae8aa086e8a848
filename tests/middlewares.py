"""Frame middlewares for the tests, importable by dotted path (settings, servers)."""

from __future__ import annotations

import json

from generic_consumers import Group, route_class
from generic_consumers.generic.websockets import (
    JsonWebsocketConsumer,
    WebsocketConsumer,
)
from generic_consumers.middleware import FrameMiddleware

# (tag, type, text or bytes or code) per event a Recorder saw, in order.
EVENTS: list[tuple] = []


def _what(event):
    for key in ("text", "bytes", "code"):
        if event.get(key) is not None:
            return event[key]
    return None


class Recorder(FrameMiddleware):
    """Records every event it sees into EVENTS, tagged."""

    def __init__(self, handler, tag="mw"):
        super().__init__(handler)
        self.tag = tag

    async def inbound(self, socket, event):
        EVENTS.append((self.tag, event["type"], _what(event)))
        await self.handler(socket, event)

    async def outbound(self, socket, event):
        EVENTS.append((self.tag, event["type"], _what(event)))
        await self.handler(socket, event)


def shout(handler):
    """Function style: inbound text upper-cased, outbound text wrapped in <>."""

    async def middleware(socket, event):
        if event["type"] == "websocket.receive" and event.get("text") is not None:
            event = {**event, "text": event["text"].upper()}
        elif event["type"] == "websocket.send" and event.get("text") is not None:
            event = {**event, "text": f"<{event['text']}>"}
        await handler(socket, event)

    return middleware


def ping(handler):
    """Answers "ping" itself ("pong"); drops "secret"; passes the rest on."""

    async def middleware(socket, event):
        text = event.get("text")
        if event["type"] == "websocket.receive" and text == "ping":
            await handler(socket, {"type": "websocket.send", "text": "pong"})
        elif event["type"] == "websocket.receive" and text == "secret":
            return
        else:
            await handler(socket, event)

    return middleware


def sync_counter(handler):
    """A sync middleware: numbers inbound texts per socket ("1:a", "2:b")."""

    def middleware(socket, event):
        if event["type"] == "websocket.receive" and event.get("text") is not None:
            n = socket.state[middleware] = socket.state.get(middleware, 0) + 1
            event = {**event, "text": f"{n}:{event['text']}"}
        handler(socket, event)

    return middleware


def gatekeeper(handler):
    """Rejects handshakes without ?key=open; the consumer never hears of them."""

    async def middleware(socket, event):
        if event["type"] == "websocket.connect" and b"key=open" not in (
            socket.scope.get("query_string") or b""
        ):
            await handler(socket, {"type": "websocket.close", "code": 1000})
            return
        await handler(socket, event)

    return middleware


class Boom(Exception):
    pass


def fragile(handler):
    """Raises on the frame "boom", on a connect with ?boom, on a reply "boom!" and
    on a close (before passing them on); the rest goes on."""

    async def middleware(socket, event):
        kind = event["type"]
        if kind == "websocket.receive" and event.get("text") == "boom":
            raise Boom("inbound")
        if kind == "websocket.connect" and b"boom" in socket.scope["query_string"]:
            raise Boom("connect")
        if kind == "websocket.send" and event.get("text") == "boom!":
            raise Boom("outbound")
        if kind == "websocket.close":
            raise Boom("close")  # before passing it on
        await handler(socket, event)

    return middleware


class NotCallable:
    def __init__(self, handler):
        self.handler = handler


not_a_factory = 42


async def async_factory(handler):
    return handler


# -- consumers ---------------------------------------------------------------


class Echo(WebsocketConsumer):
    def receive(self, text=None, bytes=None, **kwargs):
        if text == "close":
            self.close(4000)
        elif text is not None:
            self.send(text=text)
        else:
            self.send(bytes=bytes)


class Room(JsonWebsocketConsumer):
    """Echoes to its room's group: a Group send reaches every member socket."""

    def connection_groups(self, **kwargs):
        return ["mw-room"]

    def receive(self, content, **kwargs):
        Group("mw-room").send({"text": json.dumps(content)})


channel_routing = [
    route_class(Echo, path=r"^/echo/$"),
    route_class(Room, path=r"^/room/$"),
    Echo.as_route(attrs={"middleware": False}, path=r"^/plain/$"),
]
