"""generic_consumers.auth: message.user from Django's sessions, end to end."""

import inspect

import pytest
from asgiref.sync import sync_to_async
from channels.auth import AuthMiddlewareStack
from channels.testing import WebsocketCommunicator
from django.conf import settings
from django.contrib.auth import SESSION_KEY
from django.contrib.auth.models import User
from django.test import Client

from generic_consumers import Channel, route, route_class
from generic_consumers.asgi import RoutingApplication
from generic_consumers.auth import (
    channel_session_user,
    channel_session_user_from_http,
    http_session_user,
    transfer_user,
)
from generic_consumers.generic.base import BaseConsumer
from generic_consumers.generic.websockets import WebsocketConsumer
from generic_consumers.security.websockets import allowed_hosts_only

ORIGIN = (b"origin", b"http://testserver")
uses_db = pytest.mark.django_db(transaction=True)


def describe(user):
    return "anon" if user.is_anonymous else user.username


@sync_to_async
def log_in(username="alice"):
    """A user logged in through Django's test client, and that client."""
    user = User.objects.create(username=username)
    client = Client()
    client.force_login(user)
    return client


def cookie_of(client):
    return client.cookies[settings.SESSION_COOKIE_NAME].value


def connect_to(routing, cookie=None, origin=ORIGIN, app=None):
    headers = [origin] if origin else []
    if cookie:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    return WebsocketCommunicator(
        app or RoutingApplication(routing), "/who/", headers=headers
    )


class WhoAmI(WebsocketConsumer):
    http_user = True

    def connect(self, message, **kwargs):
        self.send(text=f"connect:{describe(message.user)}")

    def receive(self, text=None, bytes=None, **kwargs):
        if text == "hop":
            # The same mechanism a demultiplexer ``mapping`` uses.
            Channel("tests.whoami").send(
                {"reply_channel": self.message.reply_channel.name}
            )
        else:
            self.send(text=f"receive:{describe(self.message.user)}")


@channel_session_user
def whoami(message):
    message.reply_channel.send({"text": f"hop:{describe(message.user)}"})


ROUTING = [route_class(WhoAmI), route("tests.whoami", whoami)]


async def conversation(communicator, *frames):
    replies = [(await communicator.connect(timeout=1))[0]]
    replies.append(await communicator.receive_from(timeout=1))
    for frame in frames:
        await communicator.send_to(text_data=frame)
        replies.append(await communicator.receive_from(timeout=1))
    await communicator.disconnect()
    return replies


@uses_db
async def test_http_user_on_connect_receive_and_named_channel(session_engine):
    client = await log_in("alice")
    communicator = connect_to(ROUTING, cookie_of(client))
    assert await conversation(communicator, "x", "hop") == [
        True,
        "connect:alice",
        "receive:alice",
        "hop:alice",
    ]


@uses_db
async def test_http_user_via_password_login(session_engine):
    @sync_to_async
    def password_login():
        User.objects.create_user("bob", password="secret-pw")
        client = Client()
        assert client.login(username="bob", password="secret-pw")
        return client

    client = await password_login()
    communicator = connect_to(ROUTING, cookie_of(client))
    assert await conversation(communicator, "x") == [True, "connect:bob", "receive:bob"]


@uses_db
async def test_http_user_anonymous_without_cookie(session_engine):
    communicator = connect_to(ROUTING)
    assert await conversation(communicator, "x", "hop") == [
        True,
        "connect:anon",
        "receive:anon",
        "hop:anon",
    ]


@uses_db
async def test_http_user_forged_key_is_anonymous(session_engine):
    communicator = connect_to(ROUTING, "forged0000111122223333444455556666")
    assert await conversation(communicator, "x") == [
        True,
        "connect:anon",
        "receive:anon",
    ]


@uses_db
async def test_http_user_logged_out_key_is_anonymous(session_engine):
    client = await log_in("alice")
    cookie = cookie_of(client)
    await sync_to_async(client.logout)()
    communicator = connect_to(ROUTING, cookie)
    assert await conversation(communicator, "x") == [
        True,
        "connect:anon",
        "receive:anon",
    ]


@uses_db
async def test_two_sockets_keep_their_own_users(session_engine):
    alice, bob = await log_in("alice"), await log_in("bob")
    first = connect_to(ROUTING, cookie_of(alice))
    second = connect_to(ROUTING, cookie_of(bob))
    assert (await first.connect(timeout=1))[0]
    assert (await second.connect(timeout=1))[0]
    assert await first.receive_from(timeout=1) == "connect:alice"
    assert await second.receive_from(timeout=1) == "connect:bob"
    await second.send_to(text_data="hop")
    await first.send_to(text_data="hop")
    assert await first.receive_from(timeout=1) == "hop:alice"
    assert await second.receive_from(timeout=1) == "hop:bob"
    await first.disconnect()
    await second.disconnect()


class SessionAndUser(WebsocketConsumer):
    http_user_and_session = True

    def receive(self, text=None, bytes=None, **kwargs):
        session = self.message.http_session
        logged_in = session is not None and SESSION_KEY in session
        cart = None if session is None else session.get("cart")
        self.send(text=f"{describe(self.message.user)}:{logged_in}:{cart}")


@uses_db
async def test_http_user_and_session_rehydrates_http_session(session_engine):
    client = await log_in("alice")

    @sync_to_async
    def fill_cart():
        session = client.session
        session["cart"] = "3 books"
        session.save()

    await fill_cart()
    communicator = connect_to([route_class(SessionAndUser)], cookie_of(client))
    assert (await communicator.connect(timeout=1))[0]
    await communicator.send_to(text_data="?")
    assert await communicator.receive_from(timeout=1) == "alice:True:3 books"
    # Logging out over HTTP leaves the socket's user a snapshot, but the HTTP session
    # (read again on every frame) shows it: consumers can re-validate.
    await sync_to_async(client.logout)()
    await communicator.send_to(text_data="?")
    assert await communicator.receive_from(timeout=1) == "alice:False:None"
    await communicator.disconnect()


@uses_db
async def test_http_user_http_session_is_none_after_connect(session_engine):
    class Probe(WebsocketConsumer):
        http_user = True

        def receive(self, text=None, bytes=None, **kwargs):
            self.send(text=repr(self.message.http_session))

    client = await log_in("alice")
    communicator = connect_to([route_class(Probe)], cookie_of(client))
    assert (await communicator.connect(timeout=1))[0]
    await communicator.send_to(text_data="?")
    assert await communicator.receive_from(timeout=1) == "None"
    await communicator.disconnect()


class Whois(BaseConsumer):
    method_mapping = {"tests.whois": "whois"}
    channel_session_user = True

    def whois(self, message, **kwargs):
        message.reply_channel.send({"text": f"whois:{describe(message.user)}"})


@uses_db
async def test_base_consumer_channel_session_user_attribute(session_engine):
    def forward(message):
        Channel("tests.whois").send({"reply_channel": message.reply_channel.name})

    routing = [
        route("websocket.connect", channel_session_user_from_http(accept)),
        route("websocket.receive", forward),
        route_class(Whois),
    ]
    client = await log_in("carol")
    communicator = connect_to(routing, cookie_of(client))
    assert await conversation_after_accept(communicator, "?") == ["whois:carol"]


def accept(message):
    message.reply_channel.send({"accept": True})


async def conversation_after_accept(communicator, *frames):
    assert (await communicator.connect(timeout=1))[0]
    replies = []
    for frame in frames:
        await communicator.send_to(text_data=frame)
        replies.append(await communicator.receive_from(timeout=1))
    await communicator.disconnect()
    return replies


@uses_db
async def test_async_consumers_get_users(session_engine):
    @channel_session_user_from_http
    async def connect(message):
        await message.reply_channel.asend({"text": f"connect:{describe(message.user)}"})

    @channel_session_user
    async def receive(message):
        await message.reply_channel.asend({"text": f"receive:{describe(message.user)}"})

    assert inspect.iscoroutinefunction(connect)
    routing = [route("websocket.connect", connect), route("websocket.receive", receive)]
    client = await log_in("dave")
    communicator = connect_to(routing, cookie_of(client))
    assert await conversation(communicator, "?") == [
        True,
        "connect:dave",
        "receive:dave",
    ]


@uses_db
async def test_http_session_user_decorator(session_engine):
    @http_session_user
    def connect(message):
        message.reply_channel.send({"text": describe(message.user)})

    client = await log_in("erin")
    communicator = connect_to([route("websocket.connect", connect)], cookie_of(client))
    assert await conversation(communicator) == [True, "erin"]


class CheckedWhoAmI(WhoAmI):
    def get_handler(self, message, **kwargs):
        # A user override wrapping the handler, as the 1.x docs showed.
        handler = super().get_handler(message, **kwargs)
        if message.channel_name == "websocket.connect":
            return allowed_hosts_only(handler)
        return handler


@uses_db
async def test_get_handler_override_wrapping_keeps_working(session_engine):
    client = await log_in("frank")
    routing = [route_class(CheckedWhoAmI), route("tests.whoami", whoami)]
    communicator = connect_to(routing, cookie_of(client))
    assert await conversation(communicator, "x", "hop") == [
        True,
        "connect:frank",
        "receive:frank",
        "hop:frank",
    ]
    evil = connect_to(
        routing, cookie_of(client), origin=(b"origin", b"http://evil.com")
    )
    assert not (await evil.connect(timeout=1))[0]


@uses_db
async def test_scope_user_of_auth_middleware_is_reused(session_engine):
    class ScopeUser(WebsocketConsumer):
        http_user = True

        def connect(self, message, **kwargs):
            same = message.user is message.scope["user"]
            self.send(text=f"{describe(message.user)}:{same}")

    client = await log_in("gina")
    app = AuthMiddlewareStack(RoutingApplication([route_class(ScopeUser)]))
    communicator = connect_to(None, cookie_of(client), app=app)
    assert await conversation(communicator) == [True, "gina:True"]


def test_transfer_user_needs_all_three_keys():
    source = {SESSION_KEY: "1", "_auth_user_backend": "b", "_auth_user_hash": "h"}
    target: dict = {}
    transfer_user(source, target)
    assert target == source
    partial = {SESSION_KEY: "2"}
    transfer_user(partial, target)
    assert target[SESSION_KEY] == "1"
