"""The sample site's consumers (sample_site/demo) over the ASGI protocol, no browser.

The browser tests (test_sample_site.py) drive the same code through Chromium; these
catch a regression in seconds and without Chromium.
"""

import asyncio

import pytest
from asgiref.sync import sync_to_async
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth.models import User
from django.db import OperationalError
from django.test import Client

from demo.models import ChatMessage, Presence
from demo.routing import channel_routing
from generic_consumers.asgi import RoutingApplication

uses_db = pytest.mark.django_db(transaction=True)
ORIGIN = (b"origin", b"http://127.0.0.1")


@pytest.fixture
def app():
    """One application for every socket of a test, as one server process would be."""
    return RoutingApplication(channel_routing)


@sync_to_async
def log_in(username):
    client = Client()
    client.force_login(User.objects.create(username=username))
    return client


def socket(app, path, client=None):
    headers = [ORIGIN]
    if client is not None:
        cookie = client.cookies[settings.SESSION_COOKIE_NAME].value
        headers.append((b"cookie", f"{settings.SESSION_COOKIE_NAME}={cookie}".encode()))
    return WebsocketCommunicator(app, path, headers=headers)


async def connected(app, path, client=None):
    communicator = socket(app, path, client)
    accepted, _ = await communicator.connect(timeout=1)
    assert accepted, f"{path} refused the socket"
    return communicator


async def frames(communicator, count):
    return [await communicator.receive_json_from(timeout=1) for _ in range(count)]


async def read_past_refresh(query):
    """Run the async ORM call ``query()`` while a socket's refresh task writes the
    same table.

    The test database is SQLite in memory with a shared cache: a read that meets
    another thread's write fails at once with "database table is locked" (no busy
    timeout, unlike a file database). The refresh holds the lock for a moment only,
    so a later read gets through; a real database just waits.
    """
    for _ in range(50):
        try:
            return await query()
        except OperationalError as error:
            if "locked" not in str(error):
                raise
            await asyncio.sleep(0.01)
    raise AssertionError("the table stayed locked for 0.5 s")


async def seen(row):
    await row.arefresh_from_db(fields=["seen"])
    return row.seen


def by_stream(received):
    streams = {}
    for frame in received:
        streams.setdefault(frame["stream"], []).append(frame["payload"])
    return streams


# --- echo -------------------------------------------------------------------------


async def test_echo_consumer_echoes_json(app):
    communicator = await connected(app, "/ws/echo/")
    await communicator.send_json_to({"text": "hello"})
    assert await communicator.receive_json_from(timeout=1) == {
        "echo": {"text": "hello"}
    }
    await communicator.disconnect()


# --- chat -------------------------------------------------------------------------


@uses_db
async def test_chat_consumer_refuses_anonymous_users(app):
    communicator = socket(app, "/ws/chat/lobby/")
    accepted, _ = await communicator.connect(timeout=1)
    assert not accepted  # a close before the accept: servers answer HTTP 403


@uses_db
async def test_chat_consumer_rejects_room_names_that_are_not_group_names(app):
    alice = await log_in("alice")
    communicator = socket(app, "/ws/chat/no%20spaces!/", alice)
    accepted, _ = await communicator.connect(timeout=1)
    assert not accepted


@uses_db
async def test_chat_consumer_broadcasts_lines_signed_with_the_user(app):
    alice, demo = await log_in("alice"), await log_in("demo")
    alice_socket = await connected(app, "/ws/chat/lobby/", alice)
    assert await alice_socket.receive_json_from(timeout=1) == {
        "history": [],
        "you": "alice",
    }
    demo_socket = await connected(app, "/ws/chat/lobby/", demo)
    assert (await demo_socket.receive_json_from(timeout=1))["you"] == "demo"

    # The client cannot choose the name: "user" in the frame is ignored.
    await alice_socket.send_json_to({"text": "  hi there ", "user": "mallory"})
    for communicator in (alice_socket, demo_socket):
        line = (await communicator.receive_json_from(timeout=1))["message"]
        assert (line["room"], line["user"], line["text"]) == (
            "lobby",
            "alice",
            "hi there",
        )
    assert await ChatMessage.objects.filter(user__username="alice").acount() == 1

    # A socket that (re)connects gets the history.
    late = await connected(app, "/ws/chat/lobby/", demo)
    history = (await late.receive_json_from(timeout=1))["history"]
    assert [(line["user"], line["text"]) for line in history] == [("alice", "hi there")]
    for communicator in (alice_socket, demo_socket, late):
        await communicator.disconnect()


@uses_db
async def test_chat_consumer_keeps_rooms_apart(app):
    alice, demo = await log_in("alice"), await log_in("demo")
    in_lobby = await connected(app, "/ws/chat/lobby/", alice)
    in_other = await connected(app, "/ws/chat/other-room/", demo)
    await frames(in_lobby, 1)
    await frames(in_other, 1)
    await in_lobby.send_json_to({"text": "lobby only"})
    assert (await in_lobby.receive_json_from(timeout=1))["message"]["text"] == (
        "lobby only"
    )
    assert await in_other.receive_nothing(timeout=0.2)
    await in_lobby.disconnect()
    await in_other.disconnect()


@uses_db
async def test_chat_consumer_answers_a_frame_without_text(app):
    alice = await log_in("alice")
    communicator = await connected(app, "/ws/chat/lobby/", alice)
    await frames(communicator, 1)
    for frame in ({"text": "   "}, {"nothing": 1}, ["not", "an", "object"]):
        await communicator.send_json_to(frame)
        assert "error" in await communicator.receive_json_from(timeout=1)
    assert await ChatMessage.objects.acount() == 0
    await communicator.disconnect()


# --- dashboard --------------------------------------------------------------------


@uses_db
async def test_dashboard_refuses_anonymous_users(app):
    communicator = socket(app, "/ws/dashboard/")
    accepted, _ = await communicator.connect(timeout=1)
    assert not accepted
    assert await Presence.objects.acount() == 0


@uses_db
async def test_dashboard_streams_chat_history_presence_and_stats(app):
    alice = await log_in("alice")
    dashboard = await connected(app, "/ws/dashboard/", alice)
    assert by_stream(await frames(dashboard, 2)) == {
        "chat": [{"room": "lobby", "history": []}],
        "presence": [{"online": ["alice"]}],
    }

    await dashboard.send_json_to({"stream": "stats", "payload": {"id": 7}})
    stats = (await dashboard.receive_json_from(timeout=1))["payload"]
    assert {key: stats[key] for key in ("id", "users", "online", "messages")} == {
        "id": 7,
        "users": 1,
        "online": 1,
        "messages": 0,
    }
    assert stats["yours"] == 0
    await dashboard.disconnect()


@uses_db
async def test_dashboard_presence_follows_connects_and_disconnects(app):
    alice, demo = await log_in("alice"), await log_in("demo")
    first = await connected(app, "/ws/dashboard/", alice)
    await frames(first, 2)

    second = await connected(app, "/ws/dashboard/", demo)
    assert by_stream(await frames(second, 2))["presence"] == [
        {"online": ["alice", "demo"]}
    ]
    assert await first.receive_json_from(timeout=1) == {
        "stream": "presence",
        "payload": {"online": ["alice", "demo"]},
    }

    await second.disconnect()
    assert await first.receive_json_from(timeout=1) == {
        "stream": "presence",
        "payload": {"online": ["alice"]},
    }
    await first.disconnect()
    assert await Presence.objects.acount() == 0


@uses_db
async def test_dashboard_chat_stream_and_chat_page_share_the_lobby(app):
    alice, demo = await log_in("alice"), await log_in("demo")
    dashboard = await connected(app, "/ws/dashboard/", alice)
    await frames(dashboard, 2)
    page = await connected(app, "/ws/chat/lobby/", demo)
    await frames(page, 1)

    await dashboard.send_json_to({"stream": "chat", "payload": {"text": "from dash"}})
    assert (await page.receive_json_from(timeout=1))["message"]["user"] == "alice"
    # The dashboard gets the line twice: as chat, and as data from the binding.
    streams = by_stream(await frames(dashboard, 2))
    assert streams["chat"] == [{"message": await _last_line_json()}]
    assert streams["messages"][0]["action"] == "create"

    await page.send_json_to({"text": "from the page"})
    streams = by_stream(await frames(dashboard, 2))
    assert streams["chat"][0]["message"]["user"] == "demo"
    assert streams["messages"][0]["data"]["text"] == "from the page"
    assert (await page.receive_json_from(timeout=1))["message"]["text"] == (
        "from the page"
    )

    # The stats consumer on demo.stats sees the dashboard's user through the
    # channel session.
    await dashboard.send_json_to({"stream": "stats", "payload": {"id": 1}})
    stats = (await dashboard.receive_json_from(timeout=1))["payload"]
    assert (stats["messages"], stats["yours"]) == (2, 1)
    await dashboard.disconnect()
    await page.disconnect()


@uses_db
async def test_dashboard_bound_messages_pushed_and_deletable_by_their_author(app):
    alice, demo = await log_in("alice"), await log_in("demo")
    mine = await connected(app, "/ws/dashboard/", alice)
    await frames(mine, 2)
    theirs = await connected(app, "/ws/dashboard/", demo)
    await frames(theirs, 2)
    await frames(mine, 1)  # presence: demo arrived

    await mine.send_json_to({"stream": "chat", "payload": {"text": "bound"}})
    created = by_stream(await frames(theirs, 2))["messages"][0]
    assert created["action"] == "create" and created["model"] == "demo.chatmessage"
    assert created["data"] == {
        "room": "lobby",
        "text": "bound",
        "sent_at": created["data"]["sent_at"],
    }
    await frames(mine, 2)
    pk = created["pk"]

    # Someone else's line: refused, with an answer to the asker only.
    await theirs.send_json_to(
        {"stream": "messages", "payload": {"action": "delete", "pk": pk}}
    )
    assert await theirs.receive_json_from(timeout=1) == {
        "stream": "messages",
        "payload": {"action": "delete", "pk": pk, "error": "permission denied"},
    }
    assert await mine.receive_nothing(0.1)
    assert await ChatMessage.objects.filter(pk=pk).aexists()

    # Its author may delete it: every dashboard hears about it after the commit.
    await mine.send_json_to(
        {"stream": "messages", "payload": {"action": "delete", "pk": pk}}
    )
    for dashboard in (mine, theirs):
        frame = await dashboard.receive_json_from(timeout=1)
        assert frame["stream"] == "messages"
        assert (frame["payload"]["action"], frame["payload"]["pk"]) == ("delete", pk)
    assert not await ChatMessage.objects.filter(pk=pk).aexists()
    await mine.disconnect()
    await theirs.disconnect()


@sync_to_async
def _last_line_json():
    from generic_consumers.generic.websockets import JsonWebsocketConsumer

    line = ChatMessage.objects.select_related("user").last()
    # Dates travel as Django's JSON encoder writes them.
    return JsonWebsocketConsumer.decode_json(
        JsonWebsocketConsumer.encode_json(line.as_json())
    )


@uses_db
async def test_dashboard_ignores_unknown_streams(app, gc_log):
    alice = await log_in("alice")
    dashboard = await connected(app, "/ws/dashboard/", alice)
    await frames(dashboard, 2)
    await dashboard.send_json_to({"stream": "websocket.receive", "payload": {}})
    assert await dashboard.receive_nothing(timeout=0.2)
    assert "unknown stream 'websocket.receive'" in gc_log.text
    await dashboard.disconnect()


# --- pages ------------------------------------------------------------------------


@pytest.fixture
def site_pages(settings):
    from sample_site import settings as site

    settings.ROOT_URLCONF = "sample_site.urls"
    settings.TEMPLATES = site.TEMPLATES
    settings.STATIC_URL = site.STATIC_URL
    settings.MIDDLEWARE = [
        "django.contrib.sessions.middleware.SessionMiddleware",
        "django.contrib.auth.middleware.AuthenticationMiddleware",
    ]
    return Client()


@pytest.mark.django_db
def test_sample_site_pages_render_and_link_their_code(site_pages):
    index = site_pages.get("/").content.decode()
    for url in ("/echo/", "/chat/lobby/", "/dashboard/", "/source/demo/chat.py"):
        assert url in index
    for url in ("/echo/", "/chat/lobby/", "/dashboard/", "/accounts/login/"):
        assert site_pages.get(url).status_code == 200, url
    assert site_pages.get("/chat/").url == "/chat/lobby/"
    assert site_pages.get("/chat/bad!room/").status_code == 404


@pytest.mark.django_db
def test_sample_site_source_view_serves_only_listed_files(site_pages):
    page = site_pages.get("/source/demo/chat.py")
    assert page.status_code == 200
    assert b"class ChatConsumer" in page.content
    for path in ("sample_site/../../pyproject.toml", "demo/__init__.py", "manage.py"):
        assert site_pages.get("/source/" + path).status_code == 404


def test_sample_site_settings_switch_to_redis(monkeypatch):
    import importlib

    from sample_site import settings as site

    monkeypatch.setenv("REDIS_URL", "redis://127.0.0.1:6390/0")
    try:
        layer = importlib.reload(site).CHANNEL_LAYERS["default"]
        assert layer["BACKEND"] == "channels_redis.core.RedisChannelLayer"
        assert layer["CONFIG"] == {"hosts": ["redis://127.0.0.1:6390/0"]}
    finally:
        monkeypatch.delenv("REDIS_URL")
        importlib.reload(site)


@uses_db
async def test_dashboard_presence_left_by_a_crashed_server_expires(app, monkeypatch):
    from datetime import timedelta

    from django.utils import timezone

    from demo import dashboard, models

    # A row a crashed server left behind: its socket is gone, nobody deleted it.
    ghost = await sync_to_async(User.objects.create_user)("ghost")
    await Presence.objects.acreate(
        reply_channel="specific.crashed!gone",
        user=ghost,
        seen=timezone.now() - models.presence_expiry() - timedelta(seconds=1),
    )
    assert await sync_to_async(Presence.online)() == []  # expired: not listed
    # Live sockets refresh their row, so they never expire while open.
    monkeypatch.setattr(dashboard, "presence_refresh", lambda: 0.05)
    alice = await log_in("alice")
    dashboard_socket = await connected(app, "/ws/dashboard/", alice)
    assert by_stream(await frames(dashboard_socket, 2))["presence"] == [
        {"online": ["alice"]}
    ]
    # The next connect deleted the stale row.
    assert not await read_past_refresh(Presence.objects.filter(user=ghost).aexists)
    row = await read_past_refresh(lambda: Presence.objects.aget(user__username="alice"))
    for _ in range(2):  # refreshed again and again, not only once
        earlier = row.seen
        for _ in range(100):  # up to 5 s: the refresh runs every 0.05 s here
            await asyncio.sleep(0.05)
            if await read_past_refresh(lambda: seen(row)) > earlier:
                break
        assert await read_past_refresh(lambda: seen(row)) > earlier
    await dashboard_socket.disconnect()
    assert await Presence.objects.acount() == 0


@uses_db
async def test_dashboard_presence_refresh_that_fails_logs_and_tries_again(
    app, monkeypatch, caplog
):
    from django.db import DatabaseError

    from demo import dashboard

    monkeypatch.setattr(dashboard, "presence_refresh", lambda: 0.05)
    expire = Presence.expire
    calls = []

    def expire_failing_once():
        calls.append(None)
        if len(calls) == 2:  # the first refresh; the first call is the connect's
            raise DatabaseError("the database went away")
        return expire()

    monkeypatch.setattr(Presence, "expire", expire_failing_once)
    dashboard_socket = await connected(app, "/ws/dashboard/", await log_in("alice"))
    await frames(dashboard_socket, 2)
    for _ in range(100):  # up to 5 s: the refresh runs every 0.05 s here
        await asyncio.sleep(0.05)
        if len(calls) >= 4:
            break
    await dashboard_socket.disconnect()
    assert len(calls) >= 4, "the refreshes stopped after the failed one"
    failed = [r for r in caplog.records if "presence refresh failed" in r.message]
    assert len(failed) == 1 and "the database went away" in failed[0].message
