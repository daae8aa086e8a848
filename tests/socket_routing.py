"""The routing of the keepalive and socket-task end-to-end tests
(tests/test_socket_e2e.py), served by real server processes with GC_TEST_ROUTING
pointing here."""

from generic_consumers import route_class
from generic_consumers.generic.websockets import (
    JsonWebsocketConsumer,
)


class Pinging(JsonWebsocketConsumer):
    keepalive_interval = 0.1

    def receive(self, content, **kwargs):
        self.send({"echo": content})


channel_routing = [
    route_class(Pinging, path=r"^/ping/$"),
]
