"""The test routing plus what tests/test_redis.py needs to see across processes."""

import json
import os

from generic_consumers import Channel, route
from generic_consumers.generic.websockets import (
    JsonWebsocketConsumer,
    WebsocketDemultiplexer,
)

from .routing import channel_routing as base_routing


def accept(message, **kwargs):
    message.reply_channel.send({"accept": True})


def reply_json(channel, data):
    Channel(channel).send({"text": json.dumps(data)})


def whoami(message):
    # Which socket (reply channel) and which server process this is.
    reply_json(
        message.reply_channel.name,
        {"reply_channel": message.reply_channel.name, "pid": os.getpid()},
    )


def pid_request(message, **kwargs):
    # /pid/ hops through tests.pid (our runworkers), /cpid/ through tests.cpid
    # (Channels' own runworker): the answer names the process that handled it.
    Channel(f"tests.{kwargs['kind']}").send({"reply_to": message.reply_channel.name})


def pid(message):
    reply_json(message["reply_to"], {"worker_pid": os.getpid()})


class PidRoom(JsonWebsocketConsumer):
    """In the group "pid-room"; {"who": 1} asks which server process serves it."""

    def connection_groups(self, **kwargs):
        return ["pid-room"]

    def receive(self, content, **kwargs):
        if content.get("who"):
            self.send({"pid": os.getpid()})
        else:
            self.group_send("pid-room", content)


class Burst(WebsocketDemultiplexer):
    """Frames on the "work" stream go to the named channel tests.work (0.17 mapping)."""

    mapping = {"work": "tests.work"}


def work(message):
    # One answer per message, to the socket that sent it.
    message.reply_channel.send(
        WebsocketDemultiplexer.encode("work", {"done": message["n"]})
    )


channel_routing = [
    *base_routing,
    route("websocket.connect", accept, path=r"^/(?:whoami|pid|cpid)/$"),
    route("websocket.receive", whoami, path=r"^/whoami/$"),
    route("websocket.receive", pid_request, path=r"^/(?P<kind>c?pid)/$"),
    route(["tests.pid", "tests.cpid"], pid),
    Burst.as_route(path=r"^/burst/$"),
    PidRoom.as_route(path=r"^/pidroom/$"),
    route("tests.work", work),
]
