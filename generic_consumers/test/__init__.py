"""1.x-style test helpers (``channels.test`` in Channels 1.x).

Consumers run synchronously, in the test's thread, through the real routing and send
buffering; layers are fresh in-memory ones for every test.
"""

from .cases import ChannelTestCase, TransactionChannelTestCase
from .client import Client, HttpClient, WSClient
from .live import ChannelLiveServerTestCase
from .routes import apply_routes

__all__ = [
    "ChannelLiveServerTestCase",
    "ChannelTestCase",
    "Client",
    "HttpClient",
    "TransactionChannelTestCase",
    "WSClient",
    "apply_routes",
]
