"""The echo demo: the smallest useful consumer."""

from generic_consumers.generic.websockets import JsonWebsocketConsumer


class EchoConsumer(JsonWebsocketConsumer):
    """Echoes every JSON frame back to the socket that sent it."""

    def receive(self, content, **kwargs):
        self.send({"echo": content})
