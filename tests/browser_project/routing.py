"""Three kinds of stream on one socket: ``consumers``, ``mapping`` and a group."""

from generic_consumers import route, route_class
from generic_consumers.generic.websockets import (
    JsonWebsocketConsumer,
    WebsocketDemultiplexer,
    WebsocketMultiplexer,
)


class EchoStream(JsonWebsocketConsumer):
    """Handled for the socket (``consumers``): answers on its own stream."""

    def receive(self, content, multiplexer=None, **kwargs):
        multiplexer.send({"echo": content})


class NewsStream(JsonWebsocketConsumer):
    """Joins the ``news`` group; ``announce`` broadcasts to it."""

    groups = ["news"]


class AnnounceStream(JsonWebsocketConsumer):
    def receive(self, content, multiplexer=None, **kwargs):
        WebsocketMultiplexer.group_send("news", "news", content)


def stats(message):
    """Handled on a named channel (``mapping``), answering through reply_channel."""
    message.reply_channel.send(
        WebsocketDemultiplexer.encode(
            "stats", {"count": message["count"] + 1, "path": message["path"]}
        )
    )


class Demultiplexer(WebsocketDemultiplexer):
    consumers = {"echo": EchoStream, "news": NewsStream, "announce": AnnounceStream}
    mapping = {"stats": "browser.stats"}


class ClosableStream(JsonWebsocketConsumer):
    """Closes its own stream on {"bye": code}; the socket stays open."""

    def receive(self, content, multiplexer=None, **kwargs):
        if "bye" in content:
            multiplexer.close(content["bye"])
        else:
            multiplexer.send({"echo": content})


class StreamsDemultiplexer(WebsocketDemultiplexer):
    consumers = {"closable": ClosableStream, "echo": EchoStream}


class PingingDemultiplexer(WebsocketDemultiplexer):
    """Pings every 50 ms: the bridge must keep the pings from its listeners."""

    keepalive_interval = 0.05
    consumers = {"echo": EchoStream}


channel_routing = [
    route_class(Demultiplexer, path=r"^/ws/$"),
    route_class(PingingDemultiplexer, path=r"^/ws/ping/$"),
    route_class(StreamsDemultiplexer, path=r"^/ws/streams/$"),
    route("browser.stats", stats),
]
