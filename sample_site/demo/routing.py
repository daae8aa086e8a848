"""The sample site's routing: what each demo page's socket talks to."""

from generic_consumers import route, route_class

from .chat import ROOM_PATTERN, ChatConsumer
from .dashboard import Dashboard, stats
from .echo import EchoConsumer

channel_routing = [
    route_class(EchoConsumer, path=r"^/ws/echo/$"),
    route_class(ChatConsumer, path=rf"^/ws/chat/(?P<room>{ROOM_PATTERN})/$"),
    route_class(Dashboard, path=r"^/ws/dashboard/$"),
    route("demo.stats", stats),
]
