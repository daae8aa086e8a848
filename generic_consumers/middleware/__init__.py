"""Frame middleware: code that sees every event of a socket, both ways.

Declare a stack in settings, outermost first, like Django's ``MIDDLEWARE``::

    GENERIC_CONSUMERS = {
        "MIDDLEWARE": [
            "generic_consumers.middleware.FrameLogMiddleware",
            ("generic_consumers.middleware.RateLimitMiddleware", {"rate": 10}),
        ],
    }

A middleware is made by a factory taking the next handler, once per application::

    def audit(handler):
        async def middleware(socket, event):
            ...                            # every event of every socket
            await handler(socket, event)   # pass it on (or change it, or don't)
        return middleware

It sees the inbound events (``websocket.connect``, each ``websocket.receive``,
``websocket.disconnect``) before the consumer and the outbound ones
(``websocket.accept``, ``websocket.send``, ``websocket.close``) before the server.
See the "Frame middleware" topic guide.
"""

from .base import Event, FrameMiddleware, Handler, Socket
from .logger import FrameLogMiddleware
from .ratelimit import RateLimitMiddleware
from .size import MessageSizeMiddleware

__all__ = [
    "Event",
    "FrameLogMiddleware",
    "FrameMiddleware",
    "Handler",
    "MessageSizeMiddleware",
    "RateLimitMiddleware",
    "Socket",
]
