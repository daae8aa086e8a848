"""generic_consumers.test: the 1.x test helpers themselves."""

import asyncio
import os
import re
import subprocess
import sys
import unittest
from pathlib import Path

import pytest
from channels.layers import InMemoryChannelLayer, get_channel_layer
from django.core.exceptions import ImproperlyConfigured

from generic_consumers import Channel, Group, channel_layers, route, route_class
from generic_consumers.exceptions import ConsumeLater, WebsocketCloseException
from generic_consumers.generic.websockets import WebsocketConsumer
from generic_consumers.test import (
    ChannelLiveServerTestCase,
    ChannelTestCase,
    Client,
    HttpClient,
    WSClient,
    apply_routes,
)

ROOT = Path(__file__).resolve().parent.parent


def echo(message):
    message.reply_channel.send({"text": message.get("text", "")})
    return "echoed"


def ordered_sends(message):
    message.reply_channel.send({"text": "buffered"})
    message.reply_channel.send({"text": "immediate"}, immediately=True)


def failing(message):
    message.reply_channel.send({"text": "before the error"})
    raise RuntimeError("boom")


def later(message):
    raise ConsumeLater()


def closing(message):
    raise WebsocketCloseException(4002)


async def async_echo(message):
    await message.reply_channel.asend({"text": "async " + message["text"]})
    return "async result"


RECORDED = []


def record(message):
    RECORDED.append(dict(message.content))


routes = [
    route("test.echo", echo),
    route("test.ordered", ordered_sends),
    route("test.failing", failing),
    route("test.later", later),
    route("test.close", closing),
    route("test.async", async_echo),
    route("websocket.connect", record, path=r"^/record/"),
    route("websocket.receive", record, path=r"^/record/"),
    route("websocket.disconnect", record, path=r"^/record/"),
]


@apply_routes(routes)
class ClientTests(ChannelTestCase):
    def test_client_reply_channel_is_alias_and_five_letters(self):
        client = Client()
        assert re.fullmatch(r"default[a-zA-Z]{5}", client.reply_channel)
        assert client.channel_layer is channel_layers["default"]

    def test_client_send_and_consume_returns_result(self):
        client = Client()
        assert client.send_and_consume("test.echo", {"text": "hi"}) == "echoed"
        assert client.receive() == {"text": "hi"}
        assert client.receive() is None

    def test_client_send_copies_content(self):
        client = Client()
        content = {"text": "x"}
        client.send("test.echo", content)
        assert content == {"text": "x"}
        assert client.get_next_message("test.echo")["reply_channel"] == (
            client.reply_channel
        )

    def test_client_consume_without_message_or_route(self):
        client = Client()
        with pytest.raises(AssertionError, match="No message"):
            client.consume("test.echo")
        assert client.consume("test.echo", fail_on_none=False) is None
        client.send("test.unrouted", {})
        with pytest.raises(AssertionError, match="No route"):
            client.consume("test.unrouted")
        client.send("test.unrouted", {})
        assert client.consume("test.unrouted", fail_on_none=False) is None

    def test_client_immediate_send_overtakes_buffered(self):
        client = Client()
        client.send_and_consume("test.ordered")
        assert client.receive() == {"text": "immediate"}
        assert client.receive() == {"text": "buffered"}

    def test_client_flushes_even_when_the_consumer_raises(self):
        client = Client()
        with pytest.raises(RuntimeError, match="boom"):
            client.send_and_consume("test.failing")
        assert client.receive() == {"text": "before the error"}
        with pytest.raises(ConsumeLater):
            client.send_and_consume("test.later")

    def test_client_runs_channel_socket_exceptions(self):
        client = Client()
        assert client.send_and_consume("test.close") is None
        assert client.receive() == {"close": 4002}

    def test_client_async_consumer(self):
        client = Client()
        result = client.send_and_consume("test.async", {"text": "hi"})
        assert result == "async result"
        assert client.receive() == {"text": "async hi"}

    def test_client_get_consumer_by_channel(self):
        client = Client()
        assert client.get_consumer_by_channel("test.echo") is echo
        assert client.get_consumer_by_channel("nothing.here") is None
        assert (
            client.get_consumer_by_channel("websocket.connect", {"path": "/record/"})
            is record
        )

    def test_client_join_group(self):
        client = Client()
        client.join_group("people")
        Group("people").send({"text": "all of you"})
        assert client.receive() == {"text": "all of you"}

    def test_channel_test_case_get_next_message(self):
        Channel("test.named").send({"n": 1})
        message = self.get_next_message("test.named", require=True)
        assert message.content == {"n": 1}
        assert message.channel.name == "test.named"
        assert self.get_next_message("test.named") is None
        with pytest.raises(AssertionError, match="Expected a message"):
            self.get_next_message("test.named", require=True)

    def test_channel_test_case_uses_fresh_in_memory_layers(self):
        layer = get_channel_layer()
        assert isinstance(layer, InMemoryChannelLayer)
        assert channel_layers["default"].raw is layer
        assert layer.channels == {} and layer.groups == {}


class WSClientTests(ChannelTestCase):
    @apply_routes(routes)
    def test_wsclient_connect_message_shape(self):
        client = WSClient(headers={"Origin": "http://testserver"})
        client.set_cookie("flavour", "mint")
        RECORDED.clear()
        client.send_and_consume(
            "websocket.connect", path="/record/?a=1", check_accept=False
        )
        assert RECORDED == [
            {
                "reply_channel": client.reply_channel,
                "path": "/record/",
                "query_string": b"a=1",
                "headers": [
                    [b"origin", b"http://testserver"],
                    [b"cookie", b"flavour=mint"],
                ],
                "client": ["127.0.0.1", 50000],
                "server": ["testserver", 80],
                "subprotocols": [],
                "order": 0,
            }
        ]

    @apply_routes(routes)
    def test_wsclient_receive_and_disconnect_orders(self):
        client = WSClient()
        client.send_and_consume(
            "websocket.connect", path="/record/", check_accept=False
        )
        RECORDED.clear()
        client.send_and_consume("websocket.receive", path="/record/?q", text={"a": 1})
        client.send_and_consume("websocket.receive", path="/record/", text="two")
        client.send_and_consume("websocket.disconnect", path="/record/")
        first, second, gone = RECORDED
        assert first == {
            "reply_channel": client.reply_channel,
            "path": "/record/",
            "order": 1,
            "text": '{"a": 1}',
        }
        assert second["order"] == 2 and second["text"] == "two"
        assert gone["order"] == 3 and gone["code"] == 1000

    def test_wsclient_headers_as_pairs_and_cookie_header_refused(self):
        client = WSClient(headers=[(b"X-Thing", "1"), ["origin", b"http://a"]])
        assert client.headers == {"x-thing": b"1", "origin": b"http://a"}  # 1.x: dict
        client.set_header("x-thing", "2")
        assert client.headers["x-thing"] == b"2"
        content = client._get_content(path="/p/?q=1", to="websocket.connect")
        assert [b"origin", b"http://a"] in content["headers"]  # pairs, as servers send
        assert content["path"] == "/p/" and content["query_string"] == b"q=1"
        assert client._get_content({"a": 1}, text={"j": 2})["text"] == '{"j": 2}'
        with pytest.raises(ValueError, match="set_cookie"):
            client.set_header("Cookie", "a=b")

    def test_wsclient_ordered_refuses_manual_order(self):
        with pytest.raises(ValueError, match="order"):
            WSClient(ordered=True).send("websocket.receive", {"order": 5})
        client = WSClient()
        client.send("websocket.receive", {"order": 5, "text": "x"})
        assert client.get_next_message("websocket.receive")["order"] == 5

    def test_wsclient_receive_json_variants(self):
        client = WSClient()
        for reply in ({"text": "1"}, {"text": "1"}, {"accept": True}, {"bytes": b"x"}):
            Channel(client.reply_channel).send(reply)
        assert client.receive() == 1
        assert client.receive(json=False) == "1"
        assert client.receive() == {"accept": True}
        assert client.receive() == {"bytes": b"x"}
        assert client.receive() is None

    def test_wsclient_session_cookie_and_logout(self):
        from django.conf import settings

        client = WSClient()
        assert client.get_cookies() == {}
        session = client.session
        session["k"] = "v"
        session.save()
        key = client.get_cookies()[settings.SESSION_COOKIE_NAME]
        assert client.session["k"] == "v"
        assert client.headers["cookie"] == f"sessionid={key}".encode()
        client.logout()
        assert client.get_cookies() == {}

    def test_wsclient_login_with_bad_credentials(self):
        assert WSClient().login(username="nobody", password="x") is False

    def test_wsclient_channel_session_needs_the_sessions_module(self):
        try:
            import generic_consumers.sessions  # noqa: F401
        except ImportError:
            with pytest.raises(ImproperlyConfigured, match="sessions"):
                _ = WSClient().channel_session
        else:  # pragma: no cover - once sessions are merged
            assert WSClient().channel_session is not None

    def test_wsclient_check_accept_reports_rejection(self):
        def reject(message):
            message.reply_channel.send({"close": True})

        with apply_routes([route("websocket.connect", reject)]):
            with pytest.raises(AssertionError, match="Connection rejected"):
                WSClient().send_and_consume("websocket.connect")

    def test_wsclient_class_consumer_returns_instance(self):
        with apply_routes(route_class(WebsocketConsumer)):
            consumer = WSClient().send_and_consume("websocket.connect", path="/x/")
        assert isinstance(consumer, WebsocketConsumer)
        assert consumer.path == "/x/"

    def test_http_client_is_deprecated(self):
        with pytest.warns(DeprecationWarning, match="WSClient"):
            client = HttpClient()
        assert isinstance(client, WSClient)


class ApplyRoutesTests(ChannelTestCase):
    def test_apply_routes_context_manager_restores(self):
        before = channel_layers["default"]
        with apply_routes([route("a.b", echo)]):
            assert channel_layers["default"].router.channels == {"a.b"}
            with apply_routes(route("c.d", echo)):
                assert channel_layers["default"].router.channels == {"c.d"}
            assert channel_layers["default"].router.channels == {"a.b"}
        assert channel_layers["default"] is before

    def test_apply_routes_list_of_lists_and_aliases(self):
        with apply_routes([[route("a.b", echo)], [route("c.d", echo)]], ["other"]):
            assert channel_layers["other"].router.channels == {"a.b", "c.d"}
            assert "a.b" not in channel_layers["default"].router.channels
        assert "other" not in channel_layers.wrappers

    def test_apply_routes_decorates_functions(self):
        @apply_routes([route("e.f", echo)])
        def check():
            return channel_layers["default"].router.channels

        @apply_routes([route("g.h", echo)])
        async def acheck():
            return channel_layers["default"].router.channels

        assert check() == {"e.f"}
        assert asyncio.run(acheck()) == {"g.h"}
        assert "e.f" not in channel_layers["default"].router.channels


class LiveServerTests(ChannelTestCase):
    def test_live_server_refuses_in_memory_database(self):
        from django.db import connections

        # The suite's test database is a file; make it look like SQLite's memory one.
        settings_dict = connections["default"].settings_dict
        name = settings_dict["NAME"]
        settings_dict["NAME"] = "file:memorydb_default?mode=memory&cache=shared"
        try:
            with pytest.raises(ImproperlyConfigured, match="in-memory"):
                ChannelLiveServerTestCase._databases()
        finally:
            settings_dict["NAME"] = name


@pytest.mark.e2e
def test_live_server_case_serves_the_project(tmp_path):
    env = {**os.environ, "GC_TEST_DB": str(tmp_path / "db.sqlite3")}
    env.pop("COV_CORE_SOURCE", None)
    result = subprocess.run(
        [
            sys.executable,
            "-m",
            "pytest",
            "tests/live_server_cases.py",
            "-q",
            "-p",
            "no:cacheprovider",
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "2 passed" in result.stdout


@pytest.mark.django_db
def test_channel_test_case_swaps_and_restores_layers():
    from channels.layers import channel_layers as channels4_layers

    before = InMemoryChannelLayer()
    channels4_layers.set("default", before)
    wrapper = channel_layers["default"]
    seen = {}

    class Inner(ChannelTestCase):
        def runTest(self):
            seen["raw"] = get_channel_layer()
            seen["wrapper"] = channel_layers["default"]

    result = unittest.TestResult()
    Inner()(result)
    assert result.wasSuccessful(), result.errors + result.failures
    assert seen["raw"] is not before and isinstance(seen["raw"], InMemoryChannelLayer)
    assert seen["wrapper"] is not wrapper
    assert seen["wrapper"].routing == wrapper.routing
    assert channels4_layers.backends["default"] is before
    assert channel_layers["default"] is wrapper
