"""The Redis test routing plus named channels that tests/test_named_channels.py
watches across processes: a consumer that holds a message (a worker to kill
mid-message) and one that asks to be tried again (ConsumeLater)."""

import json
import os
import time

import redis

from generic_consumers import Channel, route
from generic_consumers.exceptions import ConsumeLater

from .redis_routing import accept
from .redis_routing import channel_routing as redis_routing


def reply_json(channel, data):
    # At once, not when the consumer returns: "started" must arrive mid-message.
    Channel(channel).send({"text": json.dumps(data)}, immediately=True)


def request(message, **kwargs):
    # /hold/ and /later/: the frame is JSON content for tests.<kind>.
    content = json.loads(message["text"])
    Channel(f"tests.{kwargs['kind']}").send(
        {**content, "reply_to": message.reply_channel.name}
    )


def hold(message):
    reply_json(message["reply_to"], {"started": message["n"], "pid": os.getpid()})
    time.sleep(message.get("hold", 0))
    reply_json(message["reply_to"], {"done": message["n"], "pid": os.getpid()})


def later(message):
    # Counted in Redis: a try may run in any process.
    tries = redis.Redis.from_url(os.environ["GC_TEST_REDIS_URL"]).incr(
        f"tests:later:{message['n']}"
    )
    if tries < 3:
        raise ConsumeLater()
    reply_json(message["reply_to"], {"later": message["n"], "tries": tries})


channel_routing = [
    *redis_routing,
    route("websocket.connect", accept, path=r"^/(?:hold|later)/$"),
    route("websocket.receive", request, path=r"^/(?P<kind>hold|later)/$"),
    route("tests.hold", hold),
    route("tests.later", later),
]
