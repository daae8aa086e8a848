"""The 1.x test client keeps 1.x's promises where a server keeps them by construction:
strict ordering of hand-sent messages, the demultiplexer's accept first, and errors
that propagate to the test."""

import pytest

from generic_consumers import route
from generic_consumers.exceptions import ConsumeLater, SendNotAvailableOnDemultiplexer
from generic_consumers.generic.websockets import (
    JsonWebsocketConsumer,
    WebsocketConsumer,
    WebsocketDemultiplexer,
)
from generic_consumers.sessions import enforce_ordering
from generic_consumers.test import ChannelTestCase, WSClient, apply_routes

SEEN: list = []


@enforce_ordering
def ordered_receive(message, **kwargs):
    SEEN.append(message["order"])


@enforce_ordering()
def ordered_connect(message, **kwargs):
    SEEN.append(message["order"])
    message.reply_channel.send({"accept": True})


class Strict(WebsocketConsumer):
    strict_ordering = True

    def connect(self, message, **kwargs):
        SEEN.append(0)
        super().connect(message, **kwargs)

    def receive(self, text=None, bytes=None, **kwargs):
        SEEN.append(self.message["order"])


class Loose(WebsocketConsumer):
    def receive(self, text=None, bytes=None, **kwargs):
        SEEN.append(self.message["order"])


class OrderingTests(ChannelTestCase):
    def setUp(self):
        SEEN.clear()

    def run_out_of_order(self, client):
        client.send("websocket.connect", {"order": 0})
        client.send("websocket.receive", {"order": 2, "text": "b"})
        client.send("websocket.receive", {"order": 1, "text": "a"})
        client.consume("websocket.connect", check_accept=False)
        # order 2 came first: it waits (the consumer does not run) ...
        assert client.consume("websocket.receive") is None
        assert [order for order in SEEN if order] == []
        # ... until order 1 has run; then it is back on its channel.
        client.consume("websocket.receive")
        client.consume("websocket.receive")
        assert [order for order in SEEN if order] == [1, 2]

    @apply_routes(
        [
            route("websocket.connect", ordered_connect),
            route("websocket.receive", ordered_receive),
        ]
    )
    def test_enforce_ordering_parks_a_message_sent_ahead_of_its_turn(self):
        self.run_out_of_order(WSClient())

    @apply_routes([Strict.as_route()])
    def test_strict_ordering_class_attribute(self):
        self.run_out_of_order(WSClient())

    @apply_routes([Loose.as_route(attrs={"strict_ordering": True})])
    def test_strict_ordering_through_as_route_attrs(self):
        self.run_out_of_order(WSClient())

    @apply_routes([Loose.as_route()])
    def test_without_ordering_messages_run_as_consumed(self):
        client = WSClient()
        client.send("websocket.receive", {"order": 2, "text": "b"})
        client.send("websocket.receive", {"order": 1, "text": "a"})
        client.consume("websocket.receive")
        client.consume("websocket.receive")
        assert SEEN == [2, 1]


class Greeter(JsonWebsocketConsumer):
    def connect(self, message, **kwargs):
        super().connect(message, **kwargs)
        kwargs["multiplexer"].send({"hello": "from the stream"})


class Raiser(JsonWebsocketConsumer):
    def receive(self, content, **kwargs):
        if content.get("raise") == "later":
            raise ConsumeLater
        self.send(content)  # not allowed behind a demultiplexer


class Demux(WebsocketDemultiplexer):
    consumers = {"greet": Greeter, "raise": Raiser}


class DemultiplexerTests(ChannelTestCase):
    @apply_routes([Demux.as_route()])
    def test_demultiplexer_accept_goes_out_before_a_stream_send(self):
        client = WSClient()
        # check_accept reads the first reply and requires {"accept": True}.
        client.send_and_consume("websocket.connect")
        assert client.receive() == {
            "stream": "greet",
            "payload": {"hello": "from the stream"},
        }

    @apply_routes([Demux.as_route()])
    def test_stream_errors_propagate_out_of_consume_as_in_1x(self):
        client = WSClient()
        client.send_and_consume("websocket.connect")
        client.receive()
        with pytest.raises(SendNotAvailableOnDemultiplexer):
            client.send_and_consume(
                "websocket.receive", text={"stream": "raise", "payload": {}}
            )
        with pytest.raises(ConsumeLater):
            client.send_and_consume(
                "websocket.receive",
                text={"stream": "raise", "payload": {"raise": "later"}},
            )
