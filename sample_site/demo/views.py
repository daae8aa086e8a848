"""The demo pages. The interesting code is in the consumers; these only render."""

import re
from pathlib import Path

from django.http import Http404
from django.shortcuts import redirect, render

from .chat import ROOM_PATTERN

SITE = Path(__file__).resolve().parent.parent  # the sample_site directory

#: The files the site shows through ``/source/<path>`` (read-only, nothing else).
SOURCES = [
    "demo/routing.py",
    "demo/echo.py",
    "demo/chat.py",
    "demo/dashboard.py",
    "demo/bindings.py",
    "demo/models.py",
    "demo/views.py",
    "demo/static/demo/echo.js",
    "demo/static/demo/chat.js",
    "demo/static/demo/dashboard.js",
    "demo/templates/demo/chat.html",
    "demo/templates/demo/dashboard.html",
    "demo/management/commands/seed_demo.py",
    "sample_site/settings.py",
    "sample_site/asgi.py",
    "sample_site/urls.py",
]

DEMOS = [
    {
        "title": "Echo",
        "url": "/echo/",
        "shows": "The smallest JsonWebsocketConsumer: every JSON frame comes back.",
        "code": ["demo/echo.py", "demo/static/demo/echo.js"],
    },
    {
        "title": "Chat",
        "url": "/chat/lobby/",
        "shows": (
            "Rooms from the URL (route_class with a named group), a group per room "
            "through connection_groups, http_user for the logged-in user's name, "
            "anonymous sockets refused with DenyConnection, history from the database."
        ),
        "code": ["demo/chat.py", "demo/routing.py", "demo/static/demo/chat.js"],
    },
    {
        "title": "Dashboard",
        "url": "/dashboard/",
        "shows": (
            "One socket, several streams (WebsocketDemultiplexer and the JS "
            "WebSocketBridge): the lobby chat (consumers), stats answered by a "
            "routed consumer on the named channel demo.stats (mapping), "
            "presence pushed with WebsocketMultiplexer.group_send, and a bound "
            "model (WebsocketBinding): lobby lines as data, pushed after commit, "
            "deletable by their author."
        ),
        "code": [
            "demo/dashboard.py",
            "demo/bindings.py",
            "demo/static/demo/dashboard.js",
        ],
    },
]


def index(request):
    return render(request, "demo/index.html", {"demos": DEMOS})


def echo(request):
    return render(request, "demo/echo.html")


def chat(request, room=None):
    if room is None:
        return redirect("chat", room=request.GET.get("room") or "lobby")
    if not re.fullmatch(ROOM_PATTERN, room):
        raise Http404("Room names are 1-40 letters, digits, '-' or '_'.")
    return render(request, "demo/chat.html", {"room": room})


def dashboard(request):
    return render(request, "demo/dashboard.html")


def source(request, path):
    if path not in SOURCES:
        raise Http404(f"{path!r} is not one of the files this site shows.")
    text = (SITE / path).read_text()
    return render(
        request, "demo/source.html", {"path": path, "text": text, "sources": SOURCES}
    )
