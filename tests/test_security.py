"""generic_consumers.security: origin checks on WebSocket handshakes."""

import inspect
import logging

import pytest
from channels.testing import WebsocketCommunicator

from generic_consumers import route
from generic_consumers.asgi import RoutingApplication, get_application
from generic_consumers.exceptions import DenyConnection
from generic_consumers.message import Message
from generic_consumers.security.websockets import (
    AllowedHostsOnlyOriginValidator,
    BaseOriginValidator,
    OriginValidatorMiddleware,
    allowed_hosts_only,
    origin_allowed_by_hosts,
)


def accept(message):
    message.reply_channel.send({"accept": True})


ROUTING = [route("websocket.connect", accept)]


@pytest.fixture(params=["middleware", "decorator"])
def make_app(request):
    """Both ways in apply the same rules."""

    def make():
        if request.param == "middleware":
            return get_application(ROUTING)
        return RoutingApplication(
            [route("websocket.connect", allowed_hosts_only(accept))]
        )

    return make


async def handshake(app, *headers):
    communicator = WebsocketCommunicator(app, "/ws/", headers=list(headers))
    connected, _ = await communicator.connect(timeout=1)
    if connected:
        await communicator.disconnect()
    return connected


def origin(value):
    return (b"origin", value)


@pytest.mark.parametrize(
    "value",
    [b"http://testserver", b"https://localhost:8443", b"http://127.0.0.1:8000"],
)
async def test_allowed_origin_connects(make_app, value):
    assert await handshake(make_app(), origin(value))


@pytest.mark.parametrize(
    "value", [b"http://evil.com", b"http://testserver.evil.com", b"null", b"\xff\xfe"]
)
async def test_cross_origin_handshake_rejected_and_logged(make_app, gc_log, value):
    assert not await handshake(make_app(), origin(value))
    warnings = [r for r in gc_log.records if r.levelno == logging.WARNING]
    assert warnings, "a rejection must be logged"
    assert value.decode("latin-1") in warnings[0].getMessage() or "ASCII" in (
        warnings[0].getMessage()
    )
    assert "/ws/" in warnings[0].getMessage()


async def test_no_origin_allowed_by_default(make_app):
    assert await handshake(make_app(), (b"user-agent", b"python"))


async def test_no_origin_rejected_with_require_origin(make_app, settings, gc_log):
    settings.GENERIC_CONSUMERS = {**settings.GENERIC_CONSUMERS, "REQUIRE_ORIGIN": True}
    assert not await handshake(make_app())
    assert "REQUIRE_ORIGIN" in gc_log.text
    assert await handshake(make_app(), origin(b"http://testserver"))


async def test_debug_without_allowed_hosts_allows_localhost(make_app, settings):
    settings.DEBUG = True
    settings.ALLOWED_HOSTS = []
    assert await handshake(make_app(), origin(b"http://localhost:3000"))
    assert await handshake(make_app(), origin(b"http://[::1]:8000"))
    assert not await handshake(make_app(), origin(b"http://example.com"))


async def test_get_application_check_origin_off():
    app = get_application(ROUTING, check_origin=False)
    assert await handshake(app, origin(b"http://evil.com"))


async def test_middleware_explicit_allowed_hosts():
    app = OriginValidatorMiddleware(RoutingApplication(ROUTING), [".example.com"])
    assert await handshake(app, origin(b"https://www.example.com"))
    assert not await handshake(app, origin(b"http://testserver"))


async def test_middleware_passes_other_scopes():
    seen = []

    async def inner(scope, receive, send):
        seen.append(scope["type"])

    await OriginValidatorMiddleware(inner)({"type": "http"}, None, None)
    assert seen == ["http"]


def test_origin_allowed_by_hosts_ignores_scheme_and_port(settings):
    settings.ALLOWED_HOSTS = ["example.com"]
    assert origin_allowed_by_hosts("https://example.com:8443")
    assert origin_allowed_by_hosts("ws://EXAMPLE.com")
    assert not origin_allowed_by_hosts("http://example.org")
    assert not origin_allowed_by_hosts("not a url")


def connect_message(headers):
    return Message(
        {"reply_channel": "r!1", "path": "/ws/", "headers": headers},
        "websocket.connect",
        None,
    )


def test_decorator_accepts_dict_headers():
    consumer = allowed_hosts_only(lambda message: "ran")
    assert consumer(connect_message({"origin": "http://testserver"})) == "ran"
    with pytest.raises(DenyConnection):
        consumer(connect_message({b"Origin": b"http://evil.com"}))


def test_decorator_on_methods_and_async_consumers():
    class Consumer:
        @allowed_hosts_only
        def connect(self, message):
            return self

    consumer = Consumer()
    assert consumer.connect(connect_message([[b"origin", b"http://testserver"]])) is (
        consumer
    )

    @allowed_hosts_only
    async def async_connect(message):
        return "async"

    assert inspect.iscoroutinefunction(async_connect.__call__)
    assert isinstance(async_connect, AllowedHostsOnlyOriginValidator)
    assert async_connect.__name__ == "async_connect"


async def test_decorator_on_async_consumer_end_to_end():
    @allowed_hosts_only
    async def connect(message):
        await message.reply_channel.asend({"accept": True})

    app = RoutingApplication([route("websocket.connect", connect)])
    assert await handshake(app, origin(b"http://testserver"))
    assert not await handshake(app, origin(b"http://evil.com"))


def test_base_validator_needs_validate_origin():
    consumer = BaseOriginValidator(lambda message: None)
    with pytest.raises(NotImplementedError, match="validate_origin"):
        consumer(connect_message([[b"origin", b"http://testserver"]]))


def test_custom_validator_subclass(gc_log):
    class OnlyExample(BaseOriginValidator):
        rule = "is not example.org"

        def validate_origin(self, message, origin):
            return origin == "https://example.org"

    consumer = OnlyExample(lambda message: "ok")
    assert consumer(connect_message([[b"origin", b"https://example.org"]])) == "ok"
    with pytest.raises(DenyConnection):
        consumer(connect_message([[b"origin", b"https://example.com"]]))
    assert "'https://example.com' is not example.org" in gc_log.text
