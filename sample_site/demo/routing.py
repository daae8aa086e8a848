"""The sample site's routing: what each demo page's socket talks to."""

from generic_consumers import include, route, route_class
from generic_consumers.middleware import MessageSizeMiddleware

from .chat import ROOM_PATTERN, ChatConsumer
from .clock import ClockConsumer
from .dashboard import Dashboard, stats
from .echo import EchoConsumer
from .notifications import NotificationsConsumer
from .thumbnails import Thumbnailer

#: The bulk echo's size guard: a route for tools that send big frames quickly.
BULK_MAX_BYTES = 512 * 1024

channel_routing = [
    route_class(EchoConsumer, path=r"^/ws/echo/$"),  # the settings' MIDDLEWARE
    # Its own stack instead of the settings' one: no rate limit, a larger size guard
    # ("middleware": False would run none at all).
    EchoConsumer.as_route(
        attrs={"middleware": [(MessageSizeMiddleware, {"max_bytes": BULK_MAX_BYTES})]},
        path=r"^/ws/echo/bulk/$",
    ),
    route_class(ChatConsumer, path=rf"^/ws/chat/(?P<room>{ROOM_PATTERN})/$"),
    route_class(Dashboard, path=r"^/ws/dashboard/$"),
    route("demo.stats", stats),
    route_class(NotificationsConsumer, path=r"^/ws/notify/$"),
    route_class(Thumbnailer),  # the named channel demo.thumbnails
    include("demo.visits.session_routing", path=r"^/ws/session"),
    route_class(ClockConsumer, path=r"^/ws/clock/$"),
]
