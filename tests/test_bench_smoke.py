"""The benchmark's in-process driver echoes correctly (correctness only, no timing)."""

import pytest

from bench import apps
from bench.driver import Socket


@pytest.mark.parametrize("key", ["raw", "gc-sync", "gc-async-fn", "gc-async-mw"])
async def test_bench_driver_round_trips_echo_the_frame(key):
    spec = apps.APPS_BY_KEY[key]
    sock = Socket(spec.build())
    await sock.connect()
    for _ in range(5):
        spec.check(await sock.round_trip(spec.frame))
    await sock.close()
    assert sock.task.done() and sock.task.exception() is None


async def test_bench_check_refuses_a_wrong_echo():
    spec = apps.APPS_BY_KEY["raw"]
    with pytest.raises(AssertionError):
        spec.check({"type": "websocket.send", "text": '{"n": 2}'})


def test_bench_reports_what_one_middleware_costs():
    from bench.report import Row, costs

    def row(app, value):
        return Row("a", "1 socket", app, app, "c4-async", "time", "µs", value)

    lines = costs([row("gc-async", 20.0), row("gc-async-mw", 23.5)])
    assert lines == [
        "- (a) 1 socket, time: one pass-through frame middleware adds 3.50 µs "
        "(23.5 vs 20.0)"
    ]
