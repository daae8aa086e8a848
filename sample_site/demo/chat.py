"""The chat demo: a room per URL, a group per room, logged-in users only."""

from generic_consumers.exceptions import DenyConnection
from generic_consumers.generic.websockets import (
    JsonWebsocketConsumer,
    WebsocketMultiplexer,
)

from .models import ChatMessage

#: Lines a socket gets when it connects (and again when it reconnects).
HISTORY_LINES = 20
#: What the routing accepts as a room name. Room names become group names, which
#: Channels limits to ASCII letters, digits, "-", "_" and "." (under 100 characters),
#: so the URL pattern only lets such names through.
ROOM_PATTERN = r"[A-Za-z0-9_-]{1,40}"


def room_group(room):
    """The group of the chat pages open on ``room``: plain JSON frames."""
    return f"chat-{room}"


def room_stream_group(room):
    """The group of the dashboards showing ``room``: frames of the ``chat`` stream."""
    return f"chat-{room}.dashboard"


def history(room):
    """The last lines said in ``room``, oldest first."""
    lines = ChatMessage.objects.filter(room=room).select_related("user")
    recent = lines.order_by("-sent_at", "-id")[:HISTORY_LINES]
    return [line.as_json() for line in reversed(recent)]


def text_of(content):
    """The text of an inbound chat frame, or None when there is nothing to say."""
    text = content.get("text") if isinstance(content, dict) else None
    if not isinstance(text, str) or not text.strip():
        return None
    return text.strip()[:500]


def say(room, user, text):
    """Store a line and broadcast it to everyone in ``room``.

    Chat pages and dashboards speak different frames (the dashboard multiplexes
    streams), so each kind of socket has its own group.
    """
    line = ChatMessage.objects.create(room=room, user=user, text=text)
    payload = {"message": line.as_json()}
    JsonWebsocketConsumer.group_send(room_group(room), payload)
    WebsocketMultiplexer.group_send(room_stream_group(room), "chat", payload)
    return line


class ChatConsumer(JsonWebsocketConsumer):
    """``/ws/chat/<room>/``: one socket of the chat page.

    ``http_user = True`` puts the logged-in user of the page on ``message.user``
    for the connect and, through the channel session, for every later frame.
    """

    http_user = True

    def connection_groups(self, room, **kwargs):
        return [room_group(room)]

    def connect(self, message, room, **kwargs):
        if not message.user.is_authenticated:
            raise DenyConnection  # the handshake is rejected (HTTP 403)
        super().connect(message, room=room, **kwargs)  # accepts
        self.send({"history": history(room), "you": message.user.get_username()})

    def receive(self, content, room, **kwargs):
        text = text_of(content)
        if text is None:
            self.send({"error": 'send {"text": "..."}'})
            return
        say(room, self.message.user, text)
