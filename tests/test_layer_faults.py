"""Layer faults without Redis: bounded/retried membership, the refresher, outage
logging, ChannelFull on immediate sends, and runworkers' channel selection."""

import asyncio
import logging

import pytest
from channels.layers import InMemoryChannelLayer
from django.core.management import CommandError, call_command

from generic_consumers import Channel
from generic_consumers.exceptions import ChannelFull
from generic_consumers.management.commands.runworkers import select_channels
from generic_consumers.runtime import delivery as _envelope
from generic_consumers.runtime import membership as _membership
from generic_consumers.runtime import outage as _outage
from generic_consumers.runtime import refresher as _refresher
from generic_consumers.runtime.counters import counters
from generic_consumers.runtime.registry import sockets


class FlakyLayer:
    """A layer of many processes (as channels_redis is), stored in memory, whose group
    ops fail ``fail`` times; tracks concurrency."""

    def __init__(self, fail=0, error=ConnectionError, delay=0.0):
        self.inner = InMemoryChannelLayer()
        self.fail, self.error, self.delay = fail, error, delay
        self.active = self.peak = 0

    async def _op(self, method, group, channel):
        self.active += 1
        self.peak = max(self.peak, self.active)
        try:
            await asyncio.sleep(self.delay)
            if self.fail:
                self.fail -= 1
                raise self.error("layer down")
            await method(group, channel)
        finally:
            self.active -= 1

    @property
    def groups(self):
        return self.inner.groups

    async def flush(self):
        await self.inner.flush()

    async def group_add(self, group, channel):
        await self._op(self.inner.group_add, group, channel)

    async def group_discard(self, group, channel):
        await self._op(self.inner.group_discard, group, channel)

    async def group_send(self, group, message):
        await self._op(self.inner.group_send, group, message)


@pytest.fixture(autouse=True)
def fresh_outage(monkeypatch):
    # An outage ends at the first success here (tests below set a settle time).
    monkeypatch.setattr(_outage, "SETTLE_SECONDS", 0)
    monkeypatch.setattr(_outage, "outage", _outage.OutageLog())
    monkeypatch.setattr(_membership, "outage", _outage.outage)
    monkeypatch.setattr(_refresher, "outage", _outage.outage)
    monkeypatch.setattr(_membership, "RETRY_FIRST", 0.001)


async def test_membership_changes_share_one_bounded_semaphore(settings):
    settings.GENERIC_CONSUMERS = {
        **settings.GENERIC_CONSUMERS,
        "MEMBERSHIP_CONCURRENCY": 5,
    }
    layer = FlakyLayer(delay=0.001)
    await asyncio.gather(
        *(_membership.change(layer, "g", f"c{i}", True) for i in range(200))
    )
    assert layer.peak <= 5
    assert len(layer.groups["g"]) == 200
    await asyncio.gather(
        *(_membership.discard_all(layer, f"c{i}", {"g"}) for i in range(200))
    )
    assert layer.peak <= 5 and not layer.groups.get("g")


async def test_membership_change_retries_transient_errors():
    layer = FlakyLayer(fail=3)
    await _membership.change(layer, "g", "c", True)
    assert "c" in layer.groups["g"]


async def test_membership_change_does_not_retry_other_errors():
    layer = FlakyLayer(fail=1, error=TypeError)
    with pytest.raises(TypeError):
        await _membership.change(layer, "g", "c", True)


async def test_discard_all_logs_an_outage_once(gc_log):
    layer = FlakyLayer(fail=10_000)
    for n in range(20):
        await _membership.discard_all(layer, f"c{n}", {"a", "b"})
    errors = [r for r in gc_log.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and "unreachable" in errors[0].getMessage()


class FakeSocket:
    def __init__(self, layer, groups, reply_channel="x!live"):
        self.reply_channel = reply_channel
        self.loop = asyncio.get_running_loop()
        self.groups = set(groups)
        self.layer = type("W", (), {"raw": layer})()


async def test_refresher_re_adds_live_memberships_only():
    layer = FlakyLayer()
    live = FakeSocket(layer, {"a", "b"})
    sockets.add(live)
    assert await _refresher.refresh_once() == 2
    assert "x!live" in layer.groups["a"] and "x!live" in layer.groups["b"]
    await layer.flush()
    # A socket that left a group while the add was in flight: the add is undone.
    layer.delay = 0.01
    task = asyncio.ensure_future(_refresher.refresh_once())
    await asyncio.sleep(0.001)
    live.groups.discard("a")
    await task
    assert "x!live" not in layer.groups.get("a", {})
    assert "x!live" in layer.groups["b"]


async def test_refresher_stops_a_round_at_the_first_outage(gc_log):
    layer = FlakyLayer(fail=10_000)
    for n in range(50):
        sockets.add(FakeSocket(layer, {"a"}, f"x!{n}"))
    assert await _refresher.refresh_once() == 0
    assert layer.fail > 10_000 - 50 * 2  # one failed batch, no per-socket retries
    assert _outage.outage.down_since is not None
    assert "unreachable" not in gc_log.text  # once may be a stale connection
    assert await _refresher.refresh_once() == 0
    assert "unreachable" in gc_log.text  # twice in a row is an outage
    layer.fail = 0
    assert await _refresher.refresh_once() == 50
    assert _outage.outage.down_since is None
    assert "reachable again" in gc_log.text


async def test_discard_lost_to_an_outage_is_retried_by_the_refresher(gc_log):
    # A failover outlasting the retries: a departing socket's discard fails, and
    # the membership must not stay behind until the layer's group_expiry.
    layer = FlakyLayer()
    await layer.group_add("a", "x!gone")
    layer.fail = 10_000
    await _membership.discard_all(layer, "x!gone", {"a"})
    assert "x!gone" in layer.groups["a"]
    assert await _refresher.refresh_once() == 0  # still down: kept for later
    layer.fail = 0
    await _refresher.refresh_once()
    assert "x!gone" not in layer.groups.get("a", {})
    assert "Traceback" not in gc_log.text


async def test_rejoined_group_is_not_discarded_by_a_leftover():
    layer = FlakyLayer(fail=10_000)
    live = FakeSocket(layer, {"a"}, "x!back")
    sockets.add(live)
    await _membership.discard_all(layer, "x!back", {"a"})  # failed: a leftover
    layer.fail = 0
    await _envelope.change_membership(live.layer, "a", "x!back", True)
    await _refresher.refresh_once()
    assert "x!back" in layer.groups["a"]


async def test_live_sockets_membership_change_during_an_outage_is_made_good(gc_log):
    layer = FlakyLayer(fail=10_000)
    live = FakeSocket(layer, set(), "x!new")
    sockets.add(live)
    # Neither raises (the consumer and the handshake go on), nor logs a traceback.
    await _envelope.change_membership(live.layer, "a", "x!new", True)
    await _envelope.change_membership(live.layer, "b", "x!new", True)
    await _envelope.change_membership(live.layer, "b", "x!new", False)
    errors = [r for r in gc_log.records if r.levelno >= logging.ERROR]
    assert len(errors) == 1 and not errors[0].exc_info
    layer.fail = 0
    await _refresher.refresh_once()
    assert "x!new" in layer.groups["a"] and "x!new" not in layer.groups.get("b", {})


async def test_group_send_after_a_join_an_outage_defeated_reaches_the_socket():
    # A socket joins while the layer is down (its join is deferred), then this process
    # sends to the group once the layer is back, before any refresh: the join goes
    # first, or the socket misses a message sent after it joined.
    layer = FlakyLayer(fail=10_000)
    live = FakeSocket(layer, set(), "x!joined")
    sockets.add(live)
    await _envelope.change_membership(live.layer, "a", "x!joined", True)
    layer.fail = 0
    await _envelope.group_send(live.layer, "a", {"text": "after the join"})
    message = await asyncio.wait_for(layer.inner.receive("x!joined"), 1)
    assert message["content"] == {"text": "after the join"}
    assert _membership.owed_joins() == {}


async def test_a_join_the_socket_gave_up_is_not_made_good_by_a_group_send():
    layer = FlakyLayer(fail=10_000)
    live = FakeSocket(layer, set(), "x!gone")
    sockets.add(live)
    await _envelope.change_membership(live.layer, "a", "x!gone", True)
    live.groups.discard("a")  # left again (its discard is a leftover of its own)
    layer.fail = 0
    await _envelope.group_send(live.layer, "a", {"text": "not for it"})
    assert "x!gone" not in layer.groups.get("a", {})
    assert _membership.owed_joins() == {}


async def test_the_refresher_retries_owed_joins_soon_not_at_the_next_round(settings):
    settings.GENERIC_CONSUMERS = {"ROUTING": [], "GROUP_REFRESH_INTERVAL": 3600}
    layer = FlakyLayer(fail=10_000)
    live = FakeSocket(layer, set(), "x!owed")
    sockets.add(live)
    await _envelope.change_membership(live.layer, "a", "x!owed", True)
    _refresher.start_refresher()
    try:
        layer.fail = 0  # back, and nothing else of this process has noticed
        for _ in range(300):  # OWED_RETRY is 0.5 s: up to 3 s
            if "x!owed" in layer.groups.get("a", {}):
                break
            await asyncio.sleep(0.01)
        assert "x!owed" in layer.groups["a"]
        assert _membership.owed_joins() == {}
    finally:
        await _refresher.stop_refresher()


async def test_named_channels_join_lost_to_an_outage_says_so_once(gc_log):
    layer = FlakyLayer(fail=10_000)
    wrapper = type("W", (), {"raw": layer})()
    for _ in range(3):
        await _envelope.change_membership(wrapper, "a", "jobs", True)
    lines = [r.getMessage() for r in gc_log.records if r.levelno >= logging.ERROR]
    assert len(lines) == 2 and "'jobs'" in lines[1] and "'a'" in lines[1], lines
    assert _outage.outage.lost == 3


async def test_outage_log_one_line_per_outage(gc_log):
    log = _outage.OutageLog()
    for _ in range(100):
        log.failed("receiving", ConnectionError("down"))
    log.recovered()
    log.recovered()
    log.failed("receiving", ConnectionError("down again"))
    messages = [r.getMessage() for r in gc_log.records if r.levelno >= logging.INFO]
    assert len(messages) == 3
    assert "unreachable" in messages[0] and "reachable again" in messages[1]


async def test_a_restart_that_flaps_is_one_outage(gc_log, monkeypatch):
    # After a Redis restart each stale pooled connection fails once, between
    # successes: one outage, one line at its start and one at its end.
    monkeypatch.setattr(_outage, "SETTLE_SECONDS", 0.2)
    log = _outage.OutageLog()
    for _ in range(3):
        log.failed("send to 'c'", ConnectionError("Connection closed by server."))
        log.recovered()
        await asyncio.sleep(0.05)
    lines = [r.getMessage() for r in gc_log.records if r.levelno >= logging.INFO]
    assert len(lines) == 1 and "unreachable" in lines[0]
    await asyncio.sleep(0.4)
    lines = [r.getMessage() for r in gc_log.records if r.levelno >= logging.INFO]
    assert len(lines) == 2 and "3 failed attempts" in lines[1], lines


async def test_a_failure_its_retry_mends_is_no_outage(gc_log, monkeypatch):
    # A stale pooled connection after a Redis restart: the first attempt fails, the
    # retry works. No ERROR, one INFO line; the refresher is still woken (the
    # restarted Redis may have forgotten the groups).
    woken = []
    monkeypatch.setattr(_outage, "on_recovery", [lambda: woken.append(1)])
    monkeypatch.setattr(_outage, "_blips", _outage.Throttle(burst=1, window=60))
    log = _outage.OutageLog()
    for _ in range(3):
        log.failed("send to 'c'", ConnectionError("closed by server"), first=True)
        log.recovered()
    records = [r for r in gc_log.records if r.levelno >= logging.INFO]
    assert [r.levelno for r in records] == [logging.INFO]
    assert "worked on retry" in records[0].getMessage() and woken == [1, 1, 1]
    assert log.down_since is None


async def test_an_outage_whose_end_timer_was_lost_still_ends(gc_log, monkeypatch):
    # The loop that would have logged the end closed (tests run many loops): the
    # next failure, long after, is a new outage with its own start line.
    monkeypatch.setattr(_outage, "SETTLE_SECONDS", 0.05)
    log = _outage.OutageLog()
    log.failed("receiving", ConnectionError("down"))
    log.recovered()
    log._ending.cancel()
    await asyncio.sleep(0.1)
    log.failed("receiving", ConnectionError("down again"))
    lines = [r.getMessage() for r in gc_log.records if r.levelno >= logging.INFO]
    assert [line.split(" (")[0] for line in lines] == [
        "Channel layer unreachable",
        "Channel layer reachable again after 0.0 s",
        "Channel layer unreachable",
    ]


async def test_the_end_of_an_outage_wakes_the_refresher(settings):
    settings.GENERIC_CONSUMERS = {"ROUTING": [], "GROUP_REFRESH_INTERVAL": 3600}
    layer = FlakyLayer()
    sockets.add(FakeSocket(layer, {"a"}, "x!woken"))
    _refresher.start_refresher()
    try:
        _outage.outage.failed("receiving", ConnectionError("down"))
        _outage.outage.recovered()  # a Redis restart forgot the groups: re-add now
        for _ in range(100):
            if "x!woken" in layer.groups.get("a", {}):
                break
            await asyncio.sleep(0.01)
        assert "x!woken" in layer.groups["a"]
    finally:
        await _refresher.stop_refresher()


async def test_receive_retries_with_backoff_and_recovers(monkeypatch):
    monkeypatch.setattr(_outage, "BACKOFF_FIRST", 0.001)
    calls = []

    class Layer:
        async def receive(self, channel):
            calls.append(channel)
            if len(calls) < 4:
                raise ConnectionError("down")
            return {"type": "ok"}

    message = await _outage.receive(Layer(), "c", "receiving")
    assert message == {"type": "ok"} and len(calls) == 4


async def test_receive_honours_a_cancellation_the_client_turned_into_a_timeout():
    # asyncio 3.11's timeout race: a task cancelled while a client-side timeout fires
    # sees TimeoutError instead of CancelledError. The receive loop must not treat that
    # as an idle receive and go on waiting (a worker would never stop).
    entered = asyncio.Event()

    class Layer:
        async def receive(self, channel):
            entered.set()
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                await asyncio.sleep(1.1)  # past the "idle receive" threshold
                raise TimeoutError("read timed out") from None
            return {}  # pragma: no cover

    task = asyncio.ensure_future(_outage.receive(Layer(), "c", "receiving"))
    await entered.wait()
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await asyncio.wait_for(task, 5)


async def test_layer_call_retries_transient_errors_then_reports_the_recovery(gc_log):
    attempts = []

    async def call():
        attempts.append(1)
        if len(attempts) <= 3:
            raise ConnectionError("Connection closed by server.")
        return "sent"

    before = counters.snapshot()["counts"]
    assert await _outage.layer_call(call, "send to 'c'") == "sent"
    assert len(attempts) == 4
    after = counters.snapshot()["counts"]
    assert after["layer_failures"] - before["layer_failures"] == 3
    assert after["layer_given_up"] == before["layer_given_up"]
    lines = [r.getMessage() for r in gc_log.records if r.levelno >= logging.WARNING]
    assert len(lines) == 2  # one when it failed, one when it came back
    assert "unreachable" in lines[0] and "3 failed attempts" in lines[1]


async def test_layer_call_gives_up_after_the_budget_with_one_line_per_target(
    gc_log, settings, monkeypatch
):
    settings.GENERIC_CONSUMERS = {"ROUTING": [], "LAYER_RETRY_SECONDS": 0.2}
    monkeypatch.setattr(_outage, "_given_up", _outage.Throttle(burst=1, window=10))

    async def down():
        raise ConnectionError("refused")

    before = counters.snapshot()["counts"]
    for _ in range(3):
        with pytest.raises(ConnectionError):
            await _outage.layer_call(down, "send to 'jobs'")
    given_up = [
        r for r in gc_log.records if "Gave up on send to 'jobs'" in r.msg % r.args
    ]
    assert len(given_up) == 1 and given_up[0].levelno == logging.ERROR
    assert _outage.outage.lost == 3
    after = counters.snapshot()["counts"]
    assert after["layer_given_up"] - before["layer_given_up"] == 3
    assert after["layer_failures"] - before["layer_failures"] >= 3  # one per try


async def test_layer_call_bounds_operations_in_flight(settings):
    settings.GENERIC_CONSUMERS = {"ROUTING": [], "LAYER_CONCURRENCY": 3}
    active = peak = 0

    async def call():
        nonlocal active, peak
        active += 1
        peak = max(peak, active)
        await asyncio.sleep(0.01)
        active -= 1

    await asyncio.gather(*(_outage.layer_call(call, "x") for _ in range(30)))
    assert peak == 3


async def test_immediate_send_to_a_full_channel_is_retried(monkeypatch):
    from channels.layers import channel_layers

    layer = channel_layers["default"]
    layer.capacity = 1
    await Channel("tests.full").asend({"n": 1})

    async def drain():
        await asyncio.sleep(0.1)
        await layer.receive("tests.full")

    drainer = asyncio.ensure_future(drain())
    await Channel("tests.full").asend({"n": 2}, immediately=True)  # waits, then goes
    await drainer
    assert (await layer.receive("tests.full"))["content"] == {"n": 2}


async def test_immediate_send_to_a_channel_that_stays_full_says_so(monkeypatch):
    from channels.layers import channel_layers

    monkeypatch.setattr(_envelope, "FLUSH_RETRY_SECONDS", 0.1)
    monkeypatch.setattr(_envelope, "FLUSH_RETRY_STEP", 0.05)
    channel_layers["default"].capacity = 1
    await Channel("tests.full").asend({"n": 1})
    with pytest.raises(ChannelFull, match="'tests.full' stayed full"):
        await Channel("tests.full").asend({"n": 2}, immediately=True)


async def test_full_channel_is_first_come_first_served():
    # A sender that found the channel full must get the next free slot; a fresh send
    # that arrives later queues behind it instead of taking the slot (under sustained
    # load, waiting senders otherwise starve and their messages are dropped).
    class OneSlotAtATime:
        room = 0
        got: list = []

        async def send(self, channel, message):
            if not self.room:
                raise ChannelFull(channel)
            self.room -= 1
            self.got.append(message["content"]["n"])

    class Wrapper:
        raw = OneSlotAtATime()

    layer, raw = Wrapper(), Wrapper.raw
    first = asyncio.ensure_future(_envelope.send_retrying(layer, "c", {"n": "A"}, None))
    await asyncio.sleep(0.02)  # A found it full and waits
    raw.room = 1
    late = asyncio.ensure_future(_envelope.send_retrying(layer, "c", {"n": "B"}, None))
    await asyncio.sleep(0.05)
    assert raw.got == ["A"] and first.done() and not late.done()
    raw.room = 1
    await asyncio.wait_for(late, 1)
    assert raw.got == ["A", "B"]
    assert not _envelope._full_channels  # the line is gone once nobody waits


def test_runworkers_select_channels():
    channels = ["chat.stats", "chat.users", "tests.pid", "tests.cpid"]
    assert select_channels(channels, [], []) == channels
    assert select_channels(channels, ["chat.*"], []) == ["chat.stats", "chat.users"]
    assert select_channels(channels, [], ["tests.c*", "chat.u*"]) == [
        "chat.stats",
        "tests.pid",
    ]
    assert select_channels(channels, ["tests.*"], ["*.cpid"]) == ["tests.pid"]


def test_runworkers_refuses_an_empty_selection():
    with pytest.raises(CommandError, match="No channels to consume"):
        call_command("runworkers", "--only-channels", "nothing.*")


def test_runworkers_refuses_an_unknown_layer():
    with pytest.raises(CommandError, match="No channel layer 'nope'"):
        call_command("runworkers", "--layer", "nope")


def test_runworkers_refuses_the_in_memory_layer():
    # A worker process on an in-memory layer can never see the server's messages.
    with pytest.raises(CommandError, match="in-memory"):
        call_command("runworkers")


def test_checks_group_refresh_interval(settings):
    from generic_consumers.checks import check_settings

    def ids():
        return {message.id for message in check_settings()}

    base = {"ROUTING": "tests.routing.channel_routing"}
    settings.GENERIC_CONSUMERS = {**base, "GROUP_REFRESH_INTERVAL": "often"}
    assert "generic_consumers.E005" in ids()
    settings.GENERIC_CONSUMERS = {**base, "MEMBERSHIP_CONCURRENCY": 0}
    assert "generic_consumers.E006" in ids()
    settings.GENERIC_CONSUMERS = {**base, "GROUP_REFRESH_INTERVAL": 60}
    settings.CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels.layers.InMemoryChannelLayer",
            "CONFIG": {"group_expiry": 100},
        }
    }
    assert "generic_consumers.W002" in ids()
    settings.GENERIC_CONSUMERS = {**base, "GROUP_REFRESH_INTERVAL": 30}
    assert not ids()
