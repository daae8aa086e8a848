"""The names DESIGN.md §3 promises are importable from their documented paths."""

import importlib

import pytest

PROMISED = {
    "generic_consumers": [
        "route",
        "route_class",
        "include",
        "Channel",
        "Group",
        "channel_layers",
        "DEFAULT_CHANNEL_LAYER",
    ],
    "generic_consumers.routing": [
        "Router",
        "Route",
        "RouteClass",
        "Include",
        "route",
        "route_class",
        "include",
    ],
    "generic_consumers.generic": ["BaseConsumer", "AsyncBaseConsumer"],
    "generic_consumers.generic.base": ["BaseConsumer", "AsyncBaseConsumer"],
    "generic_consumers.generic.websockets": [
        "WebsocketConsumer",
        "JsonWebsocketConsumer",
        "AsyncWebsocketConsumer",
        "AsyncJsonWebsocketConsumer",
        "WebsocketMultiplexer",
        "WebsocketDemultiplexer",
        "AsyncWebsocketDemultiplexer",
    ],
    "generic_consumers.sessions": [
        "channel_session",
        "http_session",
        "channel_and_http_session",
        "enforce_ordering",
        "session_for_reply_channel",
    ],
    "generic_consumers.auth": [
        "channel_session_user",
        "http_session_user",
        "channel_session_user_from_http",
        "channel_and_http_session_user_from_http",
    ],
    "generic_consumers.security.websockets": [
        "allowed_hosts_only",
        "AllowedHostsOnlyOriginValidator",
    ],
    "generic_consumers.binding": ["Binding"],
    "generic_consumers.utils": ["name_that_thing"],
    "generic_consumers.middleware": [
        "FrameMiddleware",
        "Socket",
        "FrameLogMiddleware",
        "RateLimitMiddleware",
        "MessageSizeMiddleware",
    ],
    "generic_consumers.handler": ["AsgiRequest"],
    "generic_consumers.delay": ["DELAY_CHANNEL"],
    "generic_consumers.binding.websockets": [
        "WebsocketBinding",
        "WebsocketBindingWithMembers",
    ],
    "generic_consumers.test": [
        "ChannelTestCase",
        "TransactionChannelTestCase",
        "Client",
        "WSClient",
        "HttpClient",
        "apply_routes",
        "ChannelLiveServerTestCase",
    ],
    "generic_consumers.message": ["Message"],
    "generic_consumers.exceptions": [
        "ConsumeLater",
        "DenyConnection",
        "ChannelSocketException",
        "WebsocketCloseException",
        "SendNotAvailableOnDemultiplexer",
        "ChannelFull",
    ],
    "generic_consumers.asgi": ["RoutingApplication", "get_application"],
}


@pytest.mark.parametrize("module, names", PROMISED.items())
def test_exports_importable_and_declared(module, names):
    mod = importlib.import_module(module)
    for name in names:
        assert hasattr(mod, name), f"{module}.{name} is missing"
        assert name in mod.__all__, f"{name} not in {module}.__all__"


def test_exports_channel_full_is_channels_own():
    from channels.exceptions import ChannelFull

    from generic_consumers.exceptions import ChannelFull as ours

    assert ours is ChannelFull


def test_exports_py_typed_is_shipped():
    from importlib.resources import files

    assert files("generic_consumers").joinpath("py.typed").is_file()


def test_exports_websocketbridge_static_files_are_shipped():
    from importlib.resources import files

    js = files("generic_consumers").joinpath("static/generic_consumers/js")
    assert js.joinpath("websocketbridge.js").is_file()
    assert js.joinpath("websocketbridge.mjs").is_file()
