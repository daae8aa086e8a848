"""The dashboard demo: one socket, several streams.

* ``chat``: the lobby, run for this socket by a stream consumer (``consumers``),
  which the page can leave: the server closes that stream alone;
* ``presence``: who has a dashboard open, pushed to every dashboard with
  ``WebsocketMultiplexer.group_send`` whenever someone comes or goes;
* ``stats``: forwarded onto the named channel ``demo.stats`` (``mapping``), where an
  ordinary routed consumer answers through the socket's reply channel;
* ``messages``: a bound model (``demo.bindings.LobbyMessageBinding``): lobby lines as
  data, pushed as they commit, deletable by their author.
"""

import logging
import os

from django.contrib.auth import get_user_model
from django.db import DatabaseError
from django.utils import timezone

from generic_consumers import Group
from generic_consumers.auth import channel_session_user
from generic_consumers.exceptions import DenyConnection
from generic_consumers.generic.websockets import (
    JsonWebsocketConsumer,
    WebsocketDemultiplexer,
    WebsocketMultiplexer,
)

from .bindings import BOUND_GROUP, LobbyMessageBinding
from .chat import history, room_stream_group, say, text_of
from .models import ChatMessage, Presence, presence_refresh

logger = logging.getLogger(__name__)

PRESENCE_GROUP = "dashboard-presence"
LOBBY = "lobby"


class ChatStream(JsonWebsocketConsumer):
    """The ``chat`` stream: the lobby, as the chat page shows it."""

    def connection_groups(self, **kwargs):
        return [room_stream_group(LOBBY)]

    def connect(self, message, multiplexer, **kwargs):
        multiplexer.send({"room": LOBBY, "history": history(LOBBY)})

    def receive(self, content, multiplexer, **kwargs):
        if isinstance(content, dict) and content.get("leave") is True:
            self.leave(multiplexer)
            return
        if isinstance(content, dict) and content.get("join") is True:
            Group(room_stream_group(LOBBY)).add(self.message.reply_channel)
            multiplexer.send({"room": LOBBY, "history": history(LOBBY)})
            return
        text = text_of(content)
        if text is None:
            multiplexer.send({"error": 'send {"text": "..."}'})
            return
        say(LOBBY, self.message.user, text)

    def leave(self, multiplexer):
        """``{"leave": true}``: stop hearing the lobby and close this stream alone.

        The socket and its other streams stay open; the client sees
        ``{"stream": "chat", "close": true}`` (the bridge's ``stream("chat").onclose``).
        The stream stays routable: ``{"join": true}`` on it comes back.
        """
        Group(room_stream_group(LOBBY)).discard(self.message.reply_channel)
        multiplexer.close()


def announce_presence():
    """Push the list of people online to every open dashboard."""
    WebsocketMultiplexer.group_send(
        PRESENCE_GROUP, "presence", {"online": Presence.online()}
    )


class PresenceStream(JsonWebsocketConsumer):
    """The ``presence`` stream: the client never sends on it, it only listens.

    A row per socket, written on connect and deleted on disconnect; while the socket
    is open, a background task of the socket refreshes it (``start_task``, cancelled
    when the socket closes), so the rows of a crashed server expire.
    """

    groups = [PRESENCE_GROUP]

    def connect(self, message, **kwargs):
        Presence.objects.update_or_create(
            reply_channel=message.reply_channel.name,
            defaults={"user": message.user, "seen": timezone.now()},
        )
        Presence.expire()  # a restarted server's first dashboard cleans up at once
        announce_presence()
        self.start_task("presence", self.sleep_loop(self.refresh, presence_refresh()))

    def refresh(self):
        """Every ``presence_refresh()`` seconds, in the socket's thread: this socket
        is still here, and the rows nobody refreshed are gone."""
        # update(), not a create: a refresh that comes after the disconnect deleted
        # the row must not bring it back.
        try:
            Presence.objects.filter(
                reply_channel=self.message.reply_channel.name
            ).update(seen=timezone.now())
            expired = Presence.expire()
        except DatabaseError as error:
            # One failed refresh must not end the loop (an exception would): the
            # row only expires after three missed ones, so the next try is in time.
            logger.warning(
                "presence refresh failed, next try in %ss: %s",
                presence_refresh(),
                error,
            )
            return
        if expired:
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
