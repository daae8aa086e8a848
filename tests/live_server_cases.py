"""ChannelLiveServerTestCase cases; run by tests/test_test_helpers.py in a pytest
subprocess with a file database (GC_TEST_DB), so not collected directly."""

import json
import urllib.error
import urllib.request

from websockets.sync.client import connect

from generic_consumers import route
from generic_consumers.test import ChannelLiveServerTestCase
from tests.models import IntegerValue


def count_connect(message):
    message.reply_channel.send({"accept": True})
    message.reply_channel.send(
        {"text": json.dumps({"count": IntegerValue.objects.count()})}
    )


live_routing = [route("websocket.connect", count_connect, path=r"^/count/$")]


class LiveServerCases(ChannelLiveServerTestCase):
    routing = "tests.live_server_cases.live_routing"

    def test_server_sees_the_test_database(self):
        IntegerValue.objects.create(name="seen")
        with connect(self.live_server_ws_url + "/count/", open_timeout=5) as ws:
            assert json.loads(ws.recv(timeout=5)) == {"count": 1}

    def test_http_is_served_too(self):
        try:
            urllib.request.urlopen(self.live_server_url + "/nothing/", timeout=5)
        except urllib.error.HTTPError as exc:
            assert exc.code == 404
        else:  # pragma: no cover
            raise AssertionError("expected a 404")
