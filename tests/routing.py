"""The routing the end-to-end server processes serve (see tests/test_e2e.py)."""

import time

from generic_consumers import Channel, Group, route, route_class
from generic_consumers.generic.websockets import JsonWebsocketConsumer


class EchoConsumer(JsonWebsocketConsumer):
    def receive(self, content, **kwargs):
        self.send({"echo": content})


class RoomConsumer(JsonWebsocketConsumer):
    def connection_groups(self, **kwargs):
        return [f"room-{kwargs['room']}"]

    def receive(self, content, **kwargs):
        self.group_send(f"room-{self.kwargs['room']}", content)


def stats_request(message):
    # A routed consumer on a named channel, answering the socket that asked.
    Channel("tests.stats").send({"reply_to": message.reply_channel.name})


def stats(message):
    Channel(message["reply_to"]).send({"text": '{"stats": "ok"}'})


class SlowConsumer(JsonWebsocketConsumer):
    """Answers after a while: long enough for the client to have gone away."""

    def receive(self, content, **kwargs):
        time.sleep(content.get("sleep", 0.3))
        self.send({"late": True})


def broadcast(message):
    Group(message["group"]).send({"text": message["text"]})


channel_routing = [
    route_class(EchoConsumer, path=r"^/echo/$"),
    route_class(SlowConsumer, path=r"^/slow/$"),
    route_class(RoomConsumer, path=r"^/room/(?P<room>[a-z]+)/$"),
    route(
        "websocket.connect",
        lambda m: m.reply_channel.send({"accept": True}),
        path=r"^/stats/$",
    ),
    route("websocket.receive", stats_request, path=r"^/stats/$"),
    route("tests.stats", stats),
    route("tests.broadcast", broadcast),
]


class MembersConsumer(JsonWebsocketConsumer):
    """Answers with how many sockets the in-memory layer holds in a room's group."""

    def receive(self, content, **kwargs):
        from generic_consumers import channel_layers

        group = channel_layers["default"].group_channels(f"room-{content['room']}")
        self.send({"members": len(group)})


channel_routing.append(route_class(MembersConsumer, path=r"^/members/$"))


class FloodConsumer(JsonWebsocketConsumer):
    """``/flood/<room>/`` sockets are members of the room; every frame a producer
    (``/flood/<room>/producer/``) sends reaches them all, padded to ``size`` bytes
    (tests/test_slow_clients.py)."""

    def connection_groups(self, **kwargs):
        return [] if kwargs.get("producer") else [f"flood-{kwargs['room']}"]

    def receive(self, content, **kwargs):
        pad = "x" * content.get("size", 0)
        self.group_send(
            f"flood-{self.kwargs['room']}", {"seq": content["seq"], "pad": pad}
        )


channel_routing.append(
    route_class(
        FloodConsumer, path=r"^/flood/(?P<room>[a-z]+)/(?P<producer>producer/)?$"
    )
)
