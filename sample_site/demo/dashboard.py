"""The dashboard demo: one socket, several streams.

* ``chat``: the lobby, run for this socket by a stream consumer (``consumers``);
* ``presence``: who has a dashboard open, pushed to every dashboard with
  ``WebsocketMultiplexer.group_send`` whenever someone comes or goes;
* ``stats``: forwarded onto the named channel ``demo.stats`` (``mapping``), where an
  ordinary routed consumer answers through the socket's reply channel;
* ``messages``: a bound model (``demo.bindings.LobbyMessageBinding``): lobby lines as
  data, pushed as they commit, deletable by their author.
"""

import os

from django.contrib.auth import get_user_model
from django.utils import timezone

from generic_consumers.auth import channel_session_user
from generic_consumers.exceptions import DenyConnection
from generic_consumers.generic.websockets import (
    JsonWebsocketConsumer,
    WebsocketDemultiplexer,
    WebsocketMultiplexer,
)

from .bindings import BOUND_GROUP, LobbyMessageBinding
from .chat import history, room_stream_group, say, text_of
from .models import ChatMessage, Presence

PRESENCE_GROUP = "dashboard-presence"
# Seconds between refreshes of an open dashboard's presence row (well inside
# models.PRESENCE_EXPIRY, so an open socket's row never expires).
PRESENCE_REFRESH = 20.0
LOBBY = "lobby"


class ChatStream(JsonWebsocketConsumer):
    """The ``chat`` stream: the lobby, as the chat page shows it."""

    def connection_groups(self, **kwargs):
        return [room_stream_group(LOBBY)]

    def connect(self, message, multiplexer, **kwargs):
        multiplexer.send({"room": LOBBY, "history": history(LOBBY)})

    def receive(self, content, multiplexer, **kwargs):
        text = text_of(content)
        if text is None:
            multiplexer.send({"error": 'send {"text": "..."}'})
            return
        say(LOBBY, self.message.user, text)


def announce_presence():
    """Push the list of people online to every open dashboard."""
    WebsocketMultiplexer.group_send(
        PRESENCE_GROUP, "presence", {"online": Presence.online()}
    )


class PresenceStream(JsonWebsocketConsumer):
    """The ``presence`` stream: the client never sends on it, it only listens."""

    groups = [PRESENCE_GROUP]

    def connect(self, message, **kwargs):
        # Rows of sockets a crashed server never closed stop counting once they
        # are not refreshed; the next connect deletes them.
        Presence.forget_expired()
        reply_channel, user = message.reply_channel.name, message.user
        Presence.seen_now(reply_channel, user)
        # Keep this socket's row fresh while it is open: a task of the socket's,
        # cancelled when it closes (the sync job runs in the socket's thread, and
        # only updates: a row the disconnect deleted stays deleted).
        self.start_task(
            "presence",
            self.sleep_loop(lambda: Presence.touch(reply_channel), PRESENCE_REFRESH),
        )
        announce_presence()

    def disconnect(self, message, **kwargs):
        Presence.objects.filter(reply_channel=message.reply_channel.name).delete()
        announce_presence()


@channel_session_user
def stats(message):
    """``demo.stats``: answers the dashboard's ``stats`` stream.

    The demultiplexer forwarded the payload here with ``reply_channel`` and ``path``
    set by the server; the channel session (shared by all consumers of one socket)
    gives us the dashboard's user.
    """
    user = message.user
    mine = ChatMessage.objects.filter(user=user).count() if user.is_authenticated else 0
    answer = {
        "id": message.get("id"),
        "users": get_user_model().objects.count(),
        "online": len(Presence.online()),
        "messages": ChatMessage.objects.count(),
        "yours": mine,
        "worker_pid": os.getpid(),
        "answered_at": timezone.now(),
    }
    message.reply_channel.send(Dashboard.encode("stats", answer))


class Dashboard(WebsocketDemultiplexer):
    """``/ws/dashboard/``: the streams above on one socket, logged-in users only."""

    http_user = True
    groups = [BOUND_GROUP]  # where LobbyMessageBinding sends its frames
    consumers = {
        "chat": ChatStream,
        "presence": PresenceStream,
        "messages": LobbyMessageBinding.consumer,
    }
    mapping = {"stats": "demo.stats"}

    def connect(self, message, **kwargs):
        if not message.user.is_authenticated:
            raise DenyConnection
        super().connect(message, **kwargs)  # every stream's connect, then one accept
