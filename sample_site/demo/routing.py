"""The sample site's routing: what each demo page's socket talks to."""

from generic_consumers import include, route, route_class

from .chat import ROOM_PATTERN, ChatConsumer
from .dashboard import Dashboard, stats
from .echo import EchoConsumer
from .notifications import NotificationsConsumer
from .thumbnails import Thumbnailer

channel_routing = [
    route_class(EchoConsumer, path=r"^/ws/echo/$"),
    route_class(ChatConsumer, path=rf"^/ws/chat/(?P<room>{ROOM_PATTERN})/$"),
    route_class(Dashboard, path=r"^/ws/dashboard/$"),
    route("demo.stats", stats),
    route_class(NotificationsConsumer, path=r"^/ws/notify/$"),
    route_class(Thumbnailer),  # the named channel demo.thumbnails
    include("demo.visits.session_routing", path=r"^/ws/session"),
]
