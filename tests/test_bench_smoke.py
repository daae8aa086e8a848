"""The benchmark's in-process driver echoes correctly (correctness only, no timing)."""

import pytest

from bench import apps
from bench.driver import Socket


@pytest.mark.parametrize(
    "key", ["raw", "gc-sync", "gc-async-fn", "gc-async-mw", "gc-async-ka"]
)
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


def test_bench_server_choice_has_a_row_per_server():
    from bench.report import Row, server_choice

    def cpu(server, app, value):
        return Row("b", f"{server}, 50 connections", app, app, None, "cpu", "µs", value)

    rows = [
        cpu("uvicorn", "raw", 30.0),
        cpu("uvicorn", "gc-sync", 99.0),
        cpu("granian", "raw", 34.0),
        cpu("granian", "gc-async", 71.0),
        Row("b", "uvicorn, 1 connection", "raw", "raw", None, "cpu", "µs", 1.0),
    ]
    table = server_choice(rows)
    assert table[-2:] == [
        "| uvicorn | 30.0 | 99.0 | – |",
        "| granian | 34.0 | – | 71.0 |",
    ]


def test_bench_process_tree_includes_children():
    import os
    import subprocess
    import sys

    from bench.servers import process_tree, stop

    child = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
    try:
        assert child.pid in process_tree(os.getpid())
    finally:
        stop(child)
