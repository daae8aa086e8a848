import pytest
from django.core.exceptions import ImproperlyConfigured

from generic_consumers import include, route, route_class
from generic_consumers.generic.base import BaseConsumer
from generic_consumers.generic.websockets import WebsocketConsumer
from generic_consumers.message import Message
from generic_consumers.routing import Include, Route, RouteClass, Router


def consumer_a(message, **kwargs):
    return "a"


def consumer_b(message, **kwargs):
    return "b"


async def async_consumer(message, **kwargs):
    return "async"


def msg(channel, **content):
    return Message(content, channel, None)


def test_route_matches_channel_list():
    r = route(["websocket.connect", "websocket.receive"], consumer_a)
    assert r.match(msg("websocket.receive")) == (consumer_a, {})
    assert r.match(msg("websocket.disconnect")) is None
    assert r.channel_names() == {"websocket.connect", "websocket.receive"}


def test_route_named_groups_become_kwargs():
    r = route("websocket.connect", consumer_a, path=r"^/chat/(?P<room>[^/]+)/$")
    assert r.match(msg("websocket.connect", path="/chat/lobby/")) == (
        consumer_a,
        {"room": "lobby"},
    )
    assert r.match(msg("websocket.connect", path="/other/")) is None


def test_route_filter_on_missing_key_does_not_match():
    r = route("chat.stats", consumer_a, room=r"^lobby$")
    assert r.match(msg("chat.stats")) is None


def test_route_filter_is_prefix_match_without_dollar():
    r = route("websocket.connect", consumer_a, path=r"^/chat")
    assert r.match(msg("websocket.connect", path="/chat/extra/")) is not None


def test_route_positional_group_raises():
    with pytest.raises(ValueError, match="named groups"):
        route("websocket.connect", consumer_a, path=r"^/chat/([^/]+)/$")


def test_route_non_capturing_group_is_fine():
    r = route("websocket.connect", consumer_a, path=r"^/(?:a|b)/$")
    assert r.match(msg("websocket.connect", path="/b/")) == (consumer_a, {})


def test_route_bytes_patterns_and_values_interoperate():
    r = route(b"websocket.connect", consumer_a, path=b"^/x/(?P<n>\\d+)$")
    assert r.match(msg("websocket.connect", path=b"/x/12")) == (consumer_a, {"n": "12"})


def test_route_consumer_as_dotted_path():
    r = route("x.y", "tests.test_routing.consumer_b")
    assert r.consumer is consumer_b


def test_route_bad_dotted_path_is_improperly_configured_naming_it():
    with pytest.raises(ImproperlyConfigured, match="tests.nowhere.consumer"):
        route("x.y", "tests.nowhere.consumer")


def test_route_class_takes_channels_from_the_class():
    r = route_class(WebsocketConsumer, path=r"^/$")
    assert r.channel_names() == {
        "websocket.connect",
        "websocket.receive",
        "websocket.disconnect",
    }
    assert isinstance(r, RouteClass)


def test_route_class_without_channel_names_raises():
    with pytest.raises(ValueError, match="channel_names"):
        route_class(consumer_a)


def test_include_strips_prefix_and_merges_kwargs():
    inner = [route("websocket.connect", consumer_a, path=r"^/chat/(?P<room>[^/]+)/$")]
    outer = include(inner, path=r"^/ws/v(?P<version>\d+)")
    match = outer.match(msg("websocket.connect", path="/ws/v2/chat/django/"))
    assert match == (consumer_a, {"version": "2", "room": "django"})


def test_include_does_not_modify_the_message():
    inner = [route("websocket.connect", consumer_a, path=r"^/chat/$")]
    message = msg("websocket.connect", path="/ws/chat/")
    assert include(inner, path=r"^/ws").match(message) is not None
    assert message["path"] == "/ws/chat/"


def test_include_inner_kwargs_win_on_clash():
    inner = [route("x", consumer_a, path=r"^/(?P<id>\d+)$")]
    outer = include(inner, path=r"^/(?P<id>[a-z]+)")
    assert outer.match(msg("x", path="/abc/7")) == (consumer_a, {"id": "7"})


def test_include_prefix_mismatch_or_missing_key():
    outer = include([route("x", consumer_a)], path=r"^/ws")
    assert outer.match(msg("x", path="/http")) is None
    assert outer.match(msg("x")) is None


def test_include_dotted_path_and_routes_listing():
    outer = Include("tests.test_routing.nested_routing", path=r"^/n")
    assert outer.match(msg("x", path="/n/b")) == (consumer_b, {})
    listed = list(Router([outer]).root.routes())
    assert [str(leaf.consumer.__name__) for _, leaf in listed] == [
        "consumer_a",
        "consumer_b",
    ]
    assert listed[0][0] == ("path='^/n'",)


nested_routing = [
    route("x", consumer_a, path=r"^/a"),
    route("x", consumer_b, path=r"^/b"),
]


def test_router_first_match_wins_in_order():
    router = Router([route("x", consumer_a), route("x", consumer_b)])
    assert router.match(msg("x"))[0] is consumer_a


def test_router_accepts_dict_and_dotted_path():
    router = Router({"x": consumer_a, "y": "tests.test_routing.consumer_b"})
    assert router.match(msg("y"))[0] is consumer_b
    assert Router("tests.test_routing.nested_routing").channels == {"x"}


def test_router_channels_and_add_route():
    router = Router([route("x", consumer_a)])
    assert router.channel_names() == {"x"}
    router.add_route(route("y", consumer_b))
    assert router.channels == {"x", "y"}
    assert router.match(msg("y"))[0] is consumer_b
    assert router.match(msg("z")) is None


def test_router_bad_routing_values():
    with pytest.raises(ImproperlyConfigured, match="tests.missing"):
        Router("tests.missing.routing")
    with pytest.raises(ImproperlyConfigured, match="must be a list"):
        Router(42)


def test_route_str_names_consumer_and_filters():
    text = str(Route("x", consumer_a, path=r"^/a$"))
    assert "consumer_a" in text and "path='^/a$'" in text


class Documented(BaseConsumer):
    """Keeps its docstring."""

    method_mapping = {"x.y": "handle"}
    flag = False

    def handle(self, message, **kwargs):
        pass


def test_as_route_with_attrs_makes_subclass_keeping_name_and_doc():
    r = Documented.as_route(attrs={"flag": True}, key=r"^v$")
    assert r.consumer is not Documented
    assert issubclass(r.consumer, Documented)
    assert r.consumer.__name__ == "Documented"
    assert r.consumer.__doc__ == "Keeps its docstring."
    assert r.consumer.flag is True and Documented.flag is False
    assert r.match(msg("x.y", key="v")) is not None


def test_as_route_without_attrs_uses_the_class_and_rejects_non_dict():
    assert Documented.as_route().consumer is Documented
    with pytest.raises(AssertionError):
        Documented.as_route(attrs=["flag"])
