"""The demo pages. The interesting code is in the consumers; these only render."""

import re
from pathlib import Path

from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from .chat import ROOM_PATTERN
from .notifications import notify
from .visits import PAGE_VIEWS

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
    "demo/notifications.py",
    "demo/thumbnails.py",
    "demo/visits.py",
    "demo/clock.py",
    "demo/native.py",
    "demo/static/demo/clock.js",
    "demo/static/demo/native.js",
    "demo/static/demo/notifications.js",
    "demo/static/demo/visits.js",
    "demo/management/commands/notify.py",
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
        "shows": (
            "The smallest JsonWebsocketConsumer: every JSON frame comes back. Behind "
            "the frame middleware of the settings (a rate limiter and a size guard), "
            "and on a second route with its own stack: flood either socket, or send "
            "it a big frame, and see which one the server closes."
        ),
        "code": [
            "demo/echo.py",
            "demo/routing.py",
            "sample_site/settings.py",
            "demo/static/demo/echo.js",
        ],
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
            "deletable by their author. Leaving the lobby closes that stream alone "
            "(multiplexer.close(), the JS stream onclose); presence rows are "
            "refreshed by a background task of the socket, so those of a crashed "
            "server expire."
        ),
        "code": [
            "demo/dashboard.py",
            "demo/bindings.py",
            "demo/static/demo/dashboard.js",
        ],
    },
    {
        "title": "Notifications",
        "url": "/notify/",
        "shows": (
            "An AsyncJsonWebsocketConsumer in the group notifications, fed by "
            "Group.send from a Django view (the form) and from a management command "
            "(manage.py notify); thumbnail jobs on the named channel demo.thumbnails, "
            "handled by a plain BaseConsumer in the in-process workers or in "
            "manage.py runworkers, whose progress goes out with immediately=True so "
            "it can be cancelled."
        ),
        "code": [
            "demo/notifications.py",
            "demo/thumbnails.py",
            "demo/management/commands/notify.py",
            "demo/static/demo/notifications.js",
        ],
    },
    {
        "title": "Sessions",
        "url": "/session/",
        "shows": (
            "Function consumers with the 1.x session decorators (http_session_user, "
            "channel_session_user_from_http, channel_session_user), routed under "
            "/ws/session with include()."
        ),
        "code": ["demo/visits.py", "demo/routing.py", "demo/static/demo/visits.js"],
    },
    {
        "title": "Live clock",
        "url": "/clock/",
        "shows": (
            "A ticker run by a background task of the socket (start_task, sleep_loop): "
            "restart it with a new interval (the same task id replaces it), stop it, "
            "or leave the page (the socket's tasks end with it); keepalive pings "
            "(keepalive_interval), which the JS bridge keeps away from the page's "
            "frames."
        ),
        "code": ["demo/clock.py", "demo/static/demo/clock.js"],
    },
    {
        "title": "Native Channels 4",
        "url": "/native/",
        "shows": (
            "A plain Channels 4 AsyncJsonWebsocketConsumer mounted beside the 1.x "
            "routing with get_application(native_before=...), in the same group as "
            "the 1.x notifications pages: each hears the other."
        ),
        "code": ["demo/native.py", "sample_site/asgi.py", "demo/static/demo/native.js"],
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


def notifications(request):
    return render(request, "demo/notifications.html")


@require_POST
def post_notification(request):
    """The form of the notifications page: a view that sends to a group."""
    text = request.POST.get("text", "").strip()
    if not text:
        return JsonResponse({"error": "say something"}, status=400)
    user = request.user
    notify(text, sender=user.username if user.is_authenticated else "a visitor")
    return JsonResponse({"sent": True})


def sessions(request):
    # Counted in the HTTP session, which the /ws/session/whoami/ socket reads.
    request.session[PAGE_VIEWS] = request.session.get(PAGE_VIEWS, 0) + 1
    return render(request, "demo/visits.html")


def clock(request):
    return render(request, "demo/clock.html")


def native(request):
    return render(request, "demo/native.html")


def source(request, path):
    if path not in SOURCES:
        raise Http404(f"{path!r} is not one of the files this site shows.")
    text = (SITE / path).read_text()
    return render(
        request, "demo/source.html", {"path": path, "text": text, "sources": SOURCES}
    )
