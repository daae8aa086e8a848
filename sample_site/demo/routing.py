"""The sample site's routing: what each demo page talks to."""

from generic_consumers import route_class
from generic_consumers.generic.websockets import JsonWebsocketConsumer


class EchoConsumer(JsonWebsocketConsumer):
    """Echoes every JSON frame back, with the room from the URL."""

    def receive(self, content, **kwargs):
        self.send({"echo": content})


channel_routing = [route_class(EchoConsumer, path=r"^/ws/echo/$")]
