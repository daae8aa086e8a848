"""A native Channels 4 consumer that joins a group: the baseline of tests/storm.py."""

import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.settings")

import django  # noqa: E402

django.setup()

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402


class NativeRoomConsumer(AsyncWebsocketConsumer):
    groups = ["room-storm"]  # Channels adds on connect, discards on disconnect


async def lifespan(scope, receive, send):
    while True:
        event = await receive()
        await send({"type": event["type"] + ".complete"})
        if event["type"] == "lifespan.shutdown":
            return


application = ProtocolTypeRouter(
    {
        "websocket": URLRouter([path("room/storm/", NativeRoomConsumer.as_asgi())]),
        "lifespan": lifespan,
    }
)
