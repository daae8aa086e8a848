"""The 1.x import path of the generic WebSocket consumers and the (de)multiplexer.

``from generic_consumers.generic.websockets import JsonWebsocketConsumer`` works as
``from channels.generic.websockets import ...`` did; the classes live in
:mod:`.consumers`, :mod:`.multiplexer` and :mod:`.demultiplexer`.
"""

from .consumers import (
    AsyncJsonWebsocketConsumer,
    AsyncWebsocketConsumer,
    JsonWebsocketConsumer,
    WebsocketConsumer,
)
from .demultiplexer import AsyncWebsocketDemultiplexer, WebsocketDemultiplexer
from .multiplexer import WebsocketMultiplexer

__all__ = [
    "AsyncJsonWebsocketConsumer",
    "AsyncWebsocketConsumer",
    "AsyncWebsocketDemultiplexer",
    "JsonWebsocketConsumer",
    "WebsocketConsumer",
    "WebsocketDemultiplexer",
    "WebsocketMultiplexer",
]
