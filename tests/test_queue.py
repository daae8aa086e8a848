"""The named-channel queue (runtime.queue, runtime.named) on a real redis-server, in
this process; the system check that refuses settings which break its promise.

Several processes reading one channel are in tests/test_named_channels.py.
"""

from __future__ import annotations

import asyncio

import pytest
from channels.exceptions import ChannelFull
from django.core import checks
from django.test import override_settings

from generic_consumers import channel_layers
from generic_consumers.checks import check_settings
from generic_consumers.runtime import delivery, named
from generic_consumers.runtime.queue import GROUP, StreamQueue

from .redis_server import RedisServer

MESSAGE = "generic_consumers.message"
CORE = "channels_redis.core.RedisChannelLayer"
PUBSUB = "channels_redis.pubsub.RedisPubSubChannelLayer"
MEMORY = "channels.layers.InMemoryChannelLayer"


def envelope(n: int) -> dict:
    return {"type": MESSAGE, "content": {"n": n}}


@pytest.fixture(scope="module")
def redis_server():
    server = RedisServer().start()
    yield server
    server.stop()


@pytest.fixture
async def make_queue(redis_server):
    redis_server.client().flushall()
    queues: list[StreamQueue] = []

    def make(**options) -> StreamQueue:
        queues.append(StreamQueue([redis_server.url], **options))
        return queues[-1]

    yield make
    for queue in queues:
        await queue.close()


async def numbers(queue: StreamQueue, channel: str, count: int) -> list[int]:
    got = []
    for _ in range(count):
        found = await queue.poll(channel, 5)
        assert found is not None
        got.append(found.message["content"]["n"])
    return got


# -- one process -----------------------------------------------------------------------


@pytest.mark.redis
async def test_fifo_per_channel(make_queue):
    queue = make_queue()
    for n in range(60):
        await queue.send("fifo", envelope(n))
    assert await numbers(queue, "fifo", 60) == list(range(60))
    # A reader already waiting (the blocking read) gets the next one.
    waiting = asyncio.ensure_future(queue.poll("fifo", 10))
    await asyncio.sleep(0.1)
    await queue.send("fifo", envelope(60))
    found = await waiting
    assert found is not None and found.message == envelope(60)
    assert await queue.poll("fifo", 0.1) is None


@pytest.mark.redis
async def test_content_round_trips_with_the_users_own_type_key(make_queue):
    queue = make_queue()
    content = {"type": "mine", "text": "héllo ✓", "bytes": b"\x00\xff", "n": None}
    await queue.send("types", {"type": MESSAGE, "content": content})
    found = await queue.poll("types")
    assert found is not None and found.message == {"type": MESSAGE, "content": content}


@pytest.mark.redis
async def test_capacity_is_never_overshot_by_concurrent_senders(make_queue):
    senders = [make_queue(capacity=10) for _ in range(5)]
    results = await asyncio.gather(
        *(senders[n % 5].send("full", envelope(n)) for n in range(50)),
        return_exceptions=True,
    )
    full = [r for r in results if isinstance(r, ChannelFull)]
    assert (len(full), results.count(None)) == (40, 10)
    assert "'full' is full (10 messages" in str(full[0])
    # Redeliver-once mode: messages handed out but not acknowledged count too.
    reader = make_queue(capacity=10, redeliver_after=30)
    held = [await reader.poll("full") for _ in range(3)]
    with pytest.raises(ChannelFull):
        await senders[0].send("full", envelope(99))
    assert held[0] is not None
    await reader.ack(held[0])
    await senders[0].send("full", envelope(100))


@pytest.mark.redis
async def test_channel_capacity_patterns_are_globs(make_queue):
    queue = make_queue(capacity=1, channel_capacity={"big.*": 3})
    assert (queue.capacity_for("big.one"), queue.capacity_for("small")) == (3, 1)


@pytest.mark.redis
async def test_expired_messages_are_dropped(make_queue, gc_log):
    queue = make_queue(expiry=1)
    for n in range(3):
        await queue.send("old", envelope(n))
    await asyncio.sleep(1.1)
    assert await queue.poll("old", 0.1) is None  # all three dropped when read
    await queue.send("old", envelope(3))
    await asyncio.sleep(1.1)
    await queue.send("old", envelope(4))  # drops 3 at the send
    assert await numbers(queue, "old", 1) == [4]
    assert queue.expired["old"] == 4
    assert "Dropped 3 expired message(s) on named channel 'old'" in gc_log.text


@pytest.mark.redis
async def test_redeliver_once_after_the_claim_timeout_and_never_again(make_queue):
    first = make_queue(redeliver_after=0.3)
    second = make_queue(redeliver_after=0.3)
    await first.send("twice", envelope(1))
    held = await first.poll("twice")
    assert held is not None and held.deliveries == 1
    assert await second.poll("twice", 0.1) is None  # not yet idle long enough
    await asyncio.sleep(0.4)
    again = await second.poll("twice")
    assert again is not None and (again.message, again.deliveries) == (envelope(1), 2)
    await first.ack(held)  # too late: it belongs to the second reader now
    await asyncio.sleep(0.4)
    assert await first.poll("twice", 0.1) is None  # no third delivery
    assert first.given_up["twice"] == 1
    # Acknowledged in time: never delivered again.
    await first.send("twice", envelope(2))
    done = await first.poll("twice")
    assert done is not None
    await first.ack(done)
    await asyncio.sleep(0.4)
    assert await second.poll("twice", 0.1) is None


@pytest.mark.redis
async def test_a_read_never_settled_is_rescued(make_queue, redis_server):
    # A reader that died between its blocking read and settling the entry (or a
    # cancelled read the server answered anyway): nobody ran it, so it goes on.
    queue = make_queue()
    queue.idle_ms = 200  # RESCUE_AFTER is 5 s
    await queue.send("lost", envelope(1))
    client = redis_server.client()
    client.xreadgroup(GROUP, "dead-reader", {"asgi:stream:lost": ">"}, count=1)
    await asyncio.sleep(0.3)
    found = await queue.poll("lost")
    assert found is not None and found.message == envelope(1)
    assert client.xlen("asgi:stream:lost") == 0


@pytest.mark.redis
async def test_reply_channels_stay_on_the_layer(redis_server):
    assert named.is_reply_channel("specific.abc!def")
    assert named.is_reply_channel("asgispecific." + "0a" * 16)
    assert not named.is_reply_channel("thumbnails")
    redis_server.client().flushall()
    layers = {"default": {"BACKEND": CORE, "CONFIG": {"hosts": [redis_server.url]}}}
    with override_settings(CHANNEL_LAYERS=layers):
        layer = channel_layers["default"]
        reply = await layer.raw.new_channel()
        await delivery.send(layer, reply, {"text": "hi"}, None)
        assert (await layer.raw.receive(reply))["content"] == {"text": "hi"}
        assert redis_server.client().keys("asgi:stream:*") == []
        await named.close()


@pytest.mark.redis
async def test_a_full_named_channel_raises_after_the_same_bounded_wait(redis_server):
    redis_server.client().flushall()
    config = {"hosts": [redis_server.url], "capacity": 2}
    layers = {"default": {"BACKEND": CORE, "CONFIG": config}}
    with override_settings(CHANNEL_LAYERS=layers):
        layer = channel_layers["default"]
        for n in range(2):
            await delivery.send_retrying(layer, "tests.full", {"n": n}, None)
        with pytest.raises(ChannelFull, match="'tests.full' stayed full for 2.0 s"):
            await delivery.send_retrying(layer, "tests.full", {"n": 2}, None)
        queue = named.queue_for(layer)
        assert queue is not None
        # A sender waiting for room gets the slot a reader frees.
        waiting = asyncio.ensure_future(
            delivery.send_retrying(layer, "tests.full", {"n": 3}, None)
        )
        assert await numbers(queue, "tests.full", 1) == [0]
        await waiting
        assert await numbers(queue, "tests.full", 2) == [1, 3]
        await named.close()


# -- where named channels travel, and the system check ------------------------------


def test_layer_kinds():
    assert named.layer_kind(CORE) == "redis"
    assert named.layer_kind(PUBSUB) == "pubsub"
    assert named.layer_kind(MEMORY) == "memory"
    assert named.layer_kind("no.such.Layer") == "other"


def ids(errors) -> list[str]:
    return [e.id for e in errors]


@pytest.mark.parametrize(
    "backend, value, expected",
    [
        (CORE, {}, []),
        (PUBSUB, {}, []),
        (MEMORY, {"NAMED_CHANNELS": "layer"}, []),
        (PUBSUB, {"NAMED_CHANNELS": "streams"}, []),
        (CORE, {"REDELIVER_AFTER": 30}, []),
        (PUBSUB, {"NAMED_CHANNELS": "layer"}, ["generic_consumers.E011"]),
        (CORE, {"NAMED_CHANNELS": "layer"}, ["generic_consumers.W004"]),
        (MEMORY, {"NAMED_CHANNELS": "streams"}, ["generic_consumers.E008"]),
        (CORE, {"NAMED_CHANNELS": "sometimes"}, ["generic_consumers.E008"]),
        (CORE, {"REDELIVER_AFTER": 60}, ["generic_consumers.E009"]),
        (CORE, {"REDELIVER_AFTER": "1s"}, ["generic_consumers.E009"]),
    ],
)
def test_check_refuses_named_channels_that_could_run_twice(backend, value, expected):
    layers = {"default": {"BACKEND": backend}}
    with override_settings(
        CHANNEL_LAYERS=layers, GENERIC_CONSUMERS={"ROUTING": [], **value}
    ):
        errors = check_settings()
    assert ids(errors) == expected
    if expected == ["generic_consumers.E011"]:
        assert isinstance(errors[0], checks.Error)
        assert "'auto'" in (errors[0].hint or "")


@pytest.mark.redis
async def test_close_leaves_the_group_unless_holding_a_message(redis_server):
    redis_server.client().flushall()
    client = redis_server.client()

    def readers() -> set[str]:
        found = client.xinfo_consumers("asgi:stream:leave", GROUP)
        return {c["name"].decode() for c in found}

    done = StreamQueue([redis_server.url], redeliver_after=30)
    holding = StreamQueue([redis_server.url], redeliver_after=30)
    await done.send("leave", envelope(1))
    first = await done.poll("leave")
    assert first is not None
    await done.ack(first)
    await done.send("leave", envelope(2))
    assert await holding.poll("leave") is not None  # never acknowledged
    assert readers() == {done.consumer, holding.consumer}
    await done.close()
    await holding.close()
    # The one holding a message stays, so that the message can still be claimed.
    assert readers() == {holding.consumer}


@pytest.mark.redis
def test_sync_sends_outside_a_loop_leave_no_connection_open(redis_server):
    # A view's Channel(name).send runs in a fresh event loop each time.
    from generic_consumers import Channel

    redis_server.client().flushall()
    client = redis_server.client()
    layers = {"default": {"BACKEND": CORE, "CONFIG": {"hosts": [redis_server.url]}}}
    with override_settings(CHANNEL_LAYERS=layers):
        before = len(client.client_list())
        for n in range(3):
            Channel("tests.sync").send({"n": n})
        assert client.xlen("asgi:stream:tests.sync") == 3
        assert len(client.client_list()) == before
