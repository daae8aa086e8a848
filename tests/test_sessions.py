"""generic_consumers.sessions: channel sessions and the handshake's HTTP session."""

import functools
import hashlib
import inspect
import json

import pytest
from asgiref.sync import sync_to_async
from channels.auth import AuthMiddlewareStack
from channels.testing import WebsocketCommunicator
from django.contrib.sessions.backends.base import CreateError
from django.test import Client

from generic_consumers import Channel, route
from generic_consumers.asgi import RoutingApplication
from generic_consumers.exceptions import ConsumeLater
from generic_consumers.generic.websockets import WebsocketConsumer
from generic_consumers.message import Message
from generic_consumers.sessions import (
    channel_and_http_session,
    channel_session,
    enforce_ordering,
    http_session,
    session_for_reply_channel,
)

ORIGIN = (b"origin", b"http://testserver")
uses_db = pytest.mark.django_db(transaction=True)


def connect_to(routing, path="/", cookie=None, query=""):
    headers = [ORIGIN]
    if cookie:
        headers.append((b"cookie", f"sessionid={cookie}".encode()))
    return WebsocketCommunicator(
        RoutingApplication(routing), path + query, headers=headers
    )


def accept(message):
    message.reply_channel.send({"accept": True})


@sync_to_async
def http_session_with(**data):
    """A saved HTTP session (as a view would leave it) and its key."""
    client = Client()
    session = client.session
    session.update(data)
    session.save()
    return session.session_key


@sync_to_async
def channel_session_exists(reply_channel):
    store = session_for_reply_channel(reply_channel)
    return store.exists(store.session_key)


# -- session_for_reply_channel ---------------------------------------------------------


def test_session_for_reply_channel_key_is_1x_sha1():
    name = "specific.abc!def"
    store = session_for_reply_channel(name)
    digest = hashlib.sha1(name.encode()).hexdigest()
    assert store.session_key == "chn" + digest[:29]
    assert len(store.session_key) == 32


def test_session_for_reply_channel_refuses_signed_cookies(settings):
    settings.SESSION_ENGINE = "django.contrib.sessions.backends.signed_cookies"
    with pytest.raises(ValueError, match="signed-cookie"):
        session_for_reply_channel("x!y")


def test_session_for_reply_channel_honours_channel_session_engine(settings):
    settings.CHANNEL_SESSION_ENGINE = "django.contrib.sessions.backends.cache"
    from django.contrib.sessions.backends import cache

    store = session_for_reply_channel("x!y")
    assert isinstance(store, cache.SessionStore)


# -- channel_session -------------------------------------------------------------------


def test_channel_session_without_message_raises():
    @channel_session
    def consumer(not_a_message):
        pass

    with pytest.raises(ValueError) as info:
        consumer("nope")
    assert str(info.value) == "channel_session called without Message instance"


def test_channel_session_without_reply_channel_raises(db):
    @channel_session
    def consumer(message):
        pass

    with pytest.raises(ValueError, match="reply_channel"):
        consumer(Message({}, "chat.stats", None))


def test_channel_session_create_error_is_consume_later(db, monkeypatch):
    store_class = type(session_for_reply_channel("x!y"))

    def refuse(self, must_create=False):
        raise CreateError

    monkeypatch.setattr(store_class, "save", refuse)

    @channel_session
    def consumer(message):
        pass

    with pytest.raises(ConsumeLater):
        consumer(Message({"reply_channel": "x!y"}, "chat.stats", None))


def test_channel_session_finds_message_in_method_args(db):
    class Handler:
        @channel_session
        def handle(self, message):
            message.channel_session["seen"] = True
            return message.channel_session

    session = Handler().handle(Message({"reply_channel": "m!1"}, "chat.x", None))
    assert session_for_reply_channel("m!1")["seen"] is True
    assert session.session_key == session_for_reply_channel("m!1").session_key


def test_channel_session_keeps_async_consumers_coroutine_functions():
    @channel_session
    async def consumer(message):
        pass

    @channel_session
    def sync_consumer(message):
        pass

    assert inspect.iscoroutinefunction(consumer)
    assert not inspect.iscoroutinefunction(sync_consumer)
    assert consumer.__name__ == "consumer"


def test_channel_session_flushed_is_not_saved_again(db):
    message = Message({"reply_channel": "f!1"}, "chat.x", None)

    @channel_session
    def store(message):
        message.channel_session["user"] = 1

    @channel_session
    def flush(message):
        message.channel_session.flush()

    store(message)
    flush(Message({"reply_channel": "f!1"}, "chat.x", None))
    fresh = session_for_reply_channel("f!1")
    assert not fresh.exists(fresh.session_key)


@uses_db
async def test_channel_session_persists_across_messages(session_engine):
    @channel_session
    def connect(message):
        message.channel_session["count"] = 0
        accept(message)

    @channel_session
    def receive(message):
        message.channel_session["count"] += 1
        message.reply_channel.send({"text": str(message.channel_session["count"])})

    routing = [route("websocket.connect", connect), route("websocket.receive", receive)]
    communicator = connect_to(routing)
    assert (await communicator.connect(timeout=1))[0]
    for expected in ("1", "2"):
        await communicator.send_to(text_data="+")
        assert await communicator.receive_from(timeout=1) == expected
    await communicator.disconnect()


@uses_db
async def test_channel_session_async_consumers(session_engine):
    @channel_session
    async def connect(message):
        message.channel_session["name"] = "async"
        await message.reply_channel.asend({"accept": True})

    @enforce_ordering
    async def receive(message):
        await message.reply_channel.asend({"text": message.channel_session["name"]})

    routing = [route("websocket.connect", connect), route("websocket.receive", receive)]
    communicator = connect_to(routing)
    assert (await communicator.connect(timeout=1))[0]
    await communicator.send_to(text_data="?")
    assert await communicator.receive_from(timeout=1) == "async"
    await communicator.disconnect()


@uses_db
async def test_channel_session_two_sockets_are_separate(session_engine):
    @channel_session
    def connect(message):
        message.channel_session["name"] = message["path"].strip("/")
        accept(message)

    @channel_session
    def receive(message):
        message.reply_channel.send({"text": message.channel_session["name"]})

    routing = [route("websocket.connect", connect), route("websocket.receive", receive)]
    first, second = connect_to(routing, "/one/"), connect_to(routing, "/two/")
    assert (await first.connect(timeout=1))[0]
    assert (await second.connect(timeout=1))[0]
    await second.send_to(text_data="?")
    await first.send_to(text_data="?")
    assert await first.receive_from(timeout=1) == "one"
    assert await second.receive_from(timeout=1) == "two"
    await first.disconnect()
    await second.disconnect()


@uses_db
async def test_channel_session_shared_with_named_channel_hop(session_engine):
    @channel_session
    def connect(message):
        message.channel_session["secret"] = "s3"
        accept(message)

    def receive(message):
        Channel("tests.lookup").send({"reply_channel": message.reply_channel.name})

    @channel_session
    def lookup(message):
        message.reply_channel.send({"text": message.channel_session["secret"]})

    routing = [
        route("websocket.connect", connect),
        route("websocket.receive", receive),
        route("tests.lookup", lookup),
    ]
    communicator = connect_to(routing)
    assert (await communicator.connect(timeout=1))[0]
    await communicator.send_to(text_data="?")
    assert await communicator.receive_from(timeout=1) == "s3"
    await communicator.disconnect()


@uses_db
async def test_channel_session_removed_after_disconnect(session_engine):
    @channel_session
    def connect(message):
        message.channel_session["here"] = True
        message.reply_channel.send({"text": message.reply_channel.name})

    communicator = connect_to([route("websocket.connect", connect)])
    assert (await communicator.connect(timeout=1))[0]
    reply_channel = await communicator.receive_from(timeout=1)
    assert await channel_session_exists(reply_channel)
    await communicator.disconnect()
    assert not await channel_session_exists(reply_channel)


@uses_db
async def test_channel_session_row_is_recreated_if_it_vanished(session_engine):
    @channel_session
    def connect(message):
        message.reply_channel.send({"text": message.reply_channel.name})

    @channel_session
    def receive(message):
        if message["text"] == "drop":
            session_for_reply_channel(message.reply_channel.name).delete()
            return
        message.channel_session["again"] = message["text"]
        message.reply_channel.send({"text": message.channel_session["again"]})

    routing = [route("websocket.connect", connect), route("websocket.receive", receive)]
    communicator = connect_to(routing)
    assert (await communicator.connect(timeout=1))[0]
    reply_channel = await communicator.receive_from(timeout=1)
    await communicator.send_to(text_data="drop")
    await communicator.send_to(text_data="back")
    assert await communicator.receive_from(timeout=1) == "back"
    assert await channel_session_exists(reply_channel)
    await communicator.disconnect()


# -- enforce_ordering ------------------------------------------------------------------


def test_enforce_ordering_forms_imply_channel_session(db):
    @enforce_ordering
    def bare(message):
        return message.channel_session

    @enforce_ordering()
    def called(message):
        return message.channel_session

    message = Message({"reply_channel": "o!1", "order": 3}, "websocket.receive", None)
    assert bare(message) is not None
    assert called(Message({"reply_channel": "o!1"}, "chat.x", None)) is not None


def test_enforce_ordering_slight_raises():
    with pytest.raises(ValueError, match="slight"):
        enforce_ordering(slight=True)


# -- http_session ----------------------------------------------------------------------


def reply_http_session(message):
    session = message.http_session
    message.reply_channel.send(
        {"text": json.dumps(None if session is None else session.get("who"))}
    )


@uses_db
async def test_http_session_from_cookie(session_engine):
    key = await http_session_with(who="cookie")
    routing = [route("websocket.connect", http_session(reply_http_session))]
    communicator = connect_to(routing, cookie=key)
    assert (await communicator.connect(timeout=1))[0]
    assert json.loads(await communicator.receive_from(timeout=1)) == "cookie"
    await communicator.disconnect()


@uses_db
async def test_http_session_none_without_cookie(session_engine):
    routing = [route("websocket.connect", http_session(reply_http_session))]
    communicator = connect_to(routing)
    assert (await communicator.connect(timeout=1))[0]
    assert json.loads(await communicator.receive_from(timeout=1)) is None
    await communicator.disconnect()


@uses_db
async def test_http_session_ignores_query_key_by_default(session_engine):
    key = await http_session_with(who="query")
    routing = [route("websocket.connect", http_session(reply_http_session))]
    communicator = connect_to(routing, query=f"?session_key={key}")
    assert (await communicator.connect(timeout=1))[0]
    assert json.loads(await communicator.receive_from(timeout=1)) is None
    await communicator.disconnect()


@uses_db
async def test_http_session_query_key_wins_when_enabled(session_engine, settings):
    settings.GENERIC_CONSUMERS = {
        **settings.GENERIC_CONSUMERS,
        "SESSION_KEY_IN_QUERY": True,
    }
    cookie_key = await http_session_with(who="cookie")
    query_key = await http_session_with(who="query")
    routing = [route("websocket.connect", http_session(reply_http_session))]
    communicator = connect_to(
        routing, cookie=cookie_key, query=f"?session_key={query_key}"
    )
    assert (await communicator.connect(timeout=1))[0]
    assert json.loads(await communicator.receive_from(timeout=1)) == "query"
    await communicator.disconnect()


@uses_db
async def test_http_session_modified_is_saved(session_engine):
    key = await http_session_with(who="before")

    @http_session
    def connect(message):
        message.http_session["who"] = "after"
        accept(message)

    communicator = connect_to([route("websocket.connect", connect)], cookie=key)
    assert (await communicator.connect(timeout=1))[0]
    await communicator.disconnect()

    @sync_to_async
    def stored():
        return Client().session.__class__(session_key=key)["who"]

    assert await stored() == "after"


@uses_db
async def test_channel_and_http_session_on_every_message(session_engine):
    key = await http_session_with(who="bridged")

    @channel_and_http_session
    def connect(message):
        accept(message)

    routing = [
        route("websocket.connect", connect),
        route("websocket.receive", channel_and_http_session(reply_http_session)),
    ]
    communicator = connect_to(routing, cookie=key)
    assert (await communicator.connect(timeout=1))[0]
    await communicator.send_to(text_data="?")
    assert json.loads(await communicator.receive_from(timeout=1)) == "bridged"
    await communicator.disconnect()


@uses_db
async def test_http_session_reuses_scope_session_of_auth_middleware(session_engine):
    key = await http_session_with(who="scope")

    @http_session
    def connect(message):
        same = message.http_session is message.scope["session"]
        message.reply_channel.send(
            {"text": json.dumps([same, message.http_session["who"]])}
        )

    app = AuthMiddlewareStack(RoutingApplication([route("websocket.connect", connect)]))
    communicator = WebsocketCommunicator(
        app, "/", headers=[ORIGIN, (b"cookie", f"sessionid={key}".encode())]
    )
    assert (await communicator.connect(timeout=1))[0]
    assert json.loads(await communicator.receive_from(timeout=1)) == [True, "scope"]
    await communicator.disconnect()


def test_http_session_reads_dict_headers(db):
    key = Client().session
    key["who"] = "dict"
    key.save()
    message = Message(
        {"reply_channel": "d!1", "headers": {"cookie": f"sessionid={key.session_key}"}},
        "websocket.connect",
        None,
    )

    @http_session
    def consumer(message):
        return message.http_session["who"]

    assert consumer(message) == "dict"


class Counter(WebsocketConsumer):
    def connect(self, message, **kwargs):
        message.channel_session["frames"] = 0
        super().connect(message, **kwargs)

    def receive(self, text=None, bytes=None, **kwargs):
        self.message.channel_session["frames"] += 1
        self.send(text=str(self.message.channel_session["frames"]))


@uses_db
async def test_channel_session_class_attribute(session_engine):
    routing = [Counter.as_route(attrs={"channel_session": True})]
    communicator = connect_to(routing)
    assert (await communicator.connect(timeout=1))[0]
    for expected in ("1", "2"):
        await communicator.send_to(text_data="+")
        assert await communicator.receive_from(timeout=1) == expected
    await communicator.disconnect()


def test_channel_session_saved_when_consumer_raises_http_session_not(db):
    http = Client().session
    http["who"] = "before"
    http.save()
    content = {
        "reply_channel": "e!1",
        "headers": [[b"cookie", f"sessionid={http.session_key}".encode()]],
    }

    @channel_and_http_session
    def consumer(message):
        message.channel_session["kept"] = True
        message.http_session["who"] = "after"
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):
        consumer(Message(content, "websocket.connect", None))
    assert session_for_reply_channel("e!1")["kept"] is True
    assert type(http)(session_key=http.session_key)["who"] == "before"


def test_channel_session_keeps_its_key_after_cycle_key(db):
    @channel_session
    def consumer(message):
        message.channel_session.cycle_key()
        message.channel_session["after"] = "cycle"

    consumer(Message({"reply_channel": "c!1"}, "chat.x", None))
    assert session_for_reply_channel("c!1")["after"] == "cycle"


def test_channel_session_save_error_surfaces_after_success(db, monkeypatch):
    @channel_session
    def consumer(message):
        message.channel_session["x"] = 1

    consumer(Message({"reply_channel": "s!1"}, "chat.x", None))
    store_class = type(session_for_reply_channel("s!1"))

    def broken(self, must_create=False):
        raise OSError("store down")

    monkeypatch.setattr(store_class, "save", broken)
    with pytest.raises(OSError):
        consumer(Message({"reply_channel": "s!1"}, "chat.x", None))


def test_channel_session_nested_through_user_decorator_shares_store(db):
    calls = []

    def logged(func):
        @functools.wraps(func)  # copies our wrapper's attributes, not its code
        def inner(message):
            calls.append("logged")
            return func(message)

        return inner

    @channel_session
    @logged
    @channel_session
    def consumer(message):
        message.channel_session["n"] = 1
        return message.channel_session

    message = Message({"reply_channel": "n!1"}, "chat.x", None)
    assert consumer(message) is message.channel_session
    assert calls == ["logged"]
    assert session_for_reply_channel("n!1")["n"] == 1


def test_session_for_reply_channel_must_create_keeps_its_values(session_engine, db):
    # 1.x test suites create the channel session by hand, then run consumers on it.
    store = session_for_reply_channel("specific.keep!1")
    store["room"] = "lobby"
    store.save(must_create=True)
    again = session_for_reply_channel("specific.keep!1")
    assert again["room"] == "lobby"
    fresh = session_for_reply_channel("specific.keep!2")
    fresh.save(must_create=True)  # empty, created before anything is put in it
    fresh["n"] = 1
    fresh.save()
    assert session_for_reply_channel("specific.keep!2")["n"] == 1
