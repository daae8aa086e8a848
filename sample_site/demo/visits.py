"""The sessions demo: 1.x function consumers with the session decorators.

Routed under ``/ws/session`` with ``include()`` (see ``demo/routing.py``), so the
paths below are what is left of the socket's path after that prefix:

* ``/whoami/``: ``@http_session_user`` reads the page's HTTP session on connect:
  ``message.user`` and ``message.http_session``, where the view counted page views;
* ``/counter/``: ``@channel_session_user_from_http`` copies the HTTP user into the
  channel session on connect; the frames that follow carry no cookie, and
  ``@channel_session_user`` (which implies ``@channel_session``) finds the user and a
  per-socket counter there.
"""

from generic_consumers import route
from generic_consumers.auth import (
    channel_session_user,
    channel_session_user_from_http,
    http_session_user,
)
from generic_consumers.generic.frames import encode_json

PAGE_VIEWS = "demo-session-page-views"  # the key the view counts in


def reply(message, content):
    message.reply_channel.send({"text": encode_json(content)})


def name(user):
    return user.username if user.is_authenticated else "anonymous"


@http_session_user
def whoami(message):
    message.reply_channel.send({"accept": True})
    views = message.http_session.get(PAGE_VIEWS, 0) if message.http_session else 0
    reply(message, {"whoami": name(message.user), "page_views": views})


@channel_session_user_from_http
def counter_connect(message):
    message.channel_session["frames"] = 0
    message.reply_channel.send({"accept": True})
    reply(message, {"hello": name(message.user)})


@channel_session_user
def counter_receive(message):
    message.channel_session["frames"] += 1
    reply(
        message,
        {"user": name(message.user), "frames": message.channel_session["frames"]},
    )


session_routing = [
    route("websocket.connect", whoami, path=r"^/whoami/$"),
    route("websocket.connect", counter_connect, path=r"^/counter/$"),
    route("websocket.receive", counter_receive, path=r"^/counter/$"),
]
