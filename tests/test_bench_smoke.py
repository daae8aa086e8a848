"""The benchmark's in-process driver echoes correctly (correctness only, no timing)."""

import pytest

from bench import apps
from bench.driver import Socket


@pytest.mark.parametrize("key", ["raw", "gc-sync", "gc-async-fn"])
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
