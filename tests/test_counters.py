"""Counters an operator can scrape: counted by the runtime, published per process,
added up by ``manage.py socket_counters`` and the Prometheus collector."""

from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import pytest
from channels.testing import WebsocketCommunicator
from django.core.management import call_command
from prometheus_client import CollectorRegistry
from websockets.asyncio.client import connect

from generic_consumers import route, route_class
from generic_consumers.asgi import RoutingApplication
from generic_consumers.checks import check_settings
from generic_consumers.generic.websockets import JsonWebsocketConsumer
from generic_consumers.metrics import (
    CountersCollector,
    metrics_view,
    read_processes,
    register,
    totals,
)
from generic_consumers.runtime.counters import (
    Publisher,
    counters,
    counters_dir,
)
from generic_consumers.security.websockets import allowed_hosts_only

from .servers import ROOT, ServerProcess


class Echo(JsonWebsocketConsumer):
    def connection_groups(self, **kwargs):
        return ["counted"]

    def receive(self, content, **kwargs):
        self.send({"echo": content})
        self.group_send("counted", {"all": content})


@allowed_hosts_only
def guarded_connect(message, **kwargs):
    message.reply_channel.send({"accept": True})


ROUTING = [
    route_class(Echo, path=r"^/echo/$"),
    route("websocket.connect", guarded_connect, path=r"^/guarded/$"),
]


def delta(before: dict, after: dict) -> dict:
    """What changed between two snapshots (counts and refusals together)."""
    flat = lambda s: {**s["counts"], **s["refusals"]}  # noqa: E731
    start, end = flat(before), flat(after)
    return {k: end[k] - start[k] for k in end if end[k] != start[k]}


async def test_a_socket_is_counted_from_handshake_to_close():
    app = RoutingApplication(ROUTING)
    before = counters.snapshot()
    client = WebsocketCommunicator(app, "/echo/")
    assert (await client.connect(timeout=1))[0]
    for n in range(3):
        await client.send_json_to({"n": n})
        assert await client.receive_json_from(timeout=1) == {"echo": {"n": n}}
        assert await client.receive_json_from(timeout=1) == {"all": {"n": n}}
    await client.send_to(text_data="not json")
    await client.disconnect()
    assert delta(before, counters.snapshot()) == {
        "sockets_opened": 1,
        "sockets_closed": 1,
        "frames_received": 4,
        "frames_sent": 6,
        "group_adds": 1,
        "group_discards": 1,  # left at close
        "group_sends": 3,
        "invalid_frame": 1,
    }


async def test_refusals_are_counted_by_reason(settings):
    app = RoutingApplication(ROUTING)
    before = counters.snapshot()
    nowhere = WebsocketCommunicator(app, "/nowhere/")
    assert not (await nowhere.connect(timeout=1))[0]
    forged = WebsocketCommunicator(
        app, "/guarded/", headers=[(b"origin", b"http://evil.example")]
    )
    assert not (await forged.connect(timeout=1))[0]
    for refused in (nowhere, forged):  # the server tells the app the client left
        await refused.disconnect()
    assert delta(before, counters.snapshot()) == {
        "sockets_opened": 2,
        "sockets_closed": 2,
        "unrouted": 1,
        "origin": 1,
    }


async def test_a_consumer_that_raises_is_counted():
    class Raising(JsonWebsocketConsumer):
        def receive(self, content, **kwargs):
            raise ValueError("boom")

    app = RoutingApplication([route_class(Raising, path=r"^/raise/$")])
    client = WebsocketCommunicator(app, "/raise/")
    assert (await client.connect(timeout=1))[0]
    before = counters.snapshot()
    await client.send_json_to({"n": 1})
    await client.receive_nothing(timeout=0.2)
    assert delta(before, counters.snapshot()) == {
        "frames_received": 1,
        "consumer_errors": 1,
    }
    await client.disconnect()


@pytest.fixture
def counted(settings, tmp_path):
    """Counters published to ``tmp_path`` every 0.05 s."""
    settings.GENERIC_CONSUMERS = {
        **settings.GENERIC_CONSUMERS,
        "COUNTERS_DIR": str(tmp_path),
        "COUNTERS_INTERVAL": 0.05,
    }
    return tmp_path


def test_the_default_directory_is_per_user_and_settings_module(settings):
    settings.GENERIC_CONSUMERS = {**settings.GENERIC_CONSUMERS, "COUNTERS_DIR": None}
    assert counters_dir() == Path(tempfile.gettempdir()) / (
        f"generic_consumers-{os.getuid()}/tests.settings"
    )


@pytest.fixture
def publishers():
    """Publishers a test starts, stopped after it (a process has one: ``publisher``)."""
    started: list[Publisher] = []

    def start() -> Publisher:
        started.append(Publisher())
        started[-1].start()
        return started[-1]

    yield start
    for publisher in started:
        publisher.stop()


def test_a_publisher_writes_this_process_and_marks_its_exit(counted, publishers):
    publisher = publishers()
    publisher.start()  # once per process
    (found,) = read_processes(counted)
    assert (found.host, found.pid, found.running) == (
        socket.gethostname(),
        os.getpid(),
        True,
    )
    assert found.counts == counters.snapshot()["counts"]
    counters.add("frames_received", 5)
    for _ in range(100):  # the thread writes again within 0.05 s
        if read_processes(counted)[0].counts == counters.snapshot()["counts"]:
            break
        time.sleep(0.02)
    assert read_processes(counted)[0].counts == counters.snapshot()["counts"]
    publisher.stop()
    (gone,) = read_processes(counted)
    assert not gone.running and gone.sockets_open == 0


def test_a_publisher_forgets_dead_processes_of_its_host_only(counted, publishers):
    dead = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    )
    record = {"pid": int(dead.stdout), "counts": {"frames_received": 7}}
    here = counted / f"{socket.gethostname()}-{int(dead.stdout)}.json"
    here.write_text(json.dumps({**record, "host": socket.gethostname()}))
    elsewhere = counted / f"otherhost-{int(dead.stdout)}.json"
    elsewhere.write_text(json.dumps({**record, "host": "otherhost"}))
    # The dead process still counts until a process of this host starts...
    running = {p.host: p.running for p in read_processes(counted)}
    # Gone from this host; the other host's could run there, for all we know.
    assert running == {socket.gethostname(): False, "otherhost": True}
    assert totals(read_processes(counted))["counts"]["frames_received"] == 14
    publishers()
    # ... then only the other host's file (that host knows its own) is kept.
    names = sorted(path.name for path in counted.glob("*.json"))
    assert names == sorted(
        [elsewhere.name, f"{socket.gethostname()}-{os.getpid()}.json"]
    )


def test_the_prometheus_collector_adds_up_every_process(counted):
    other = {
        "host": "otherhost",
        "pid": 12,
        "counts": {"frames_received": 10, "sockets_opened": 4, "sockets_closed": 1},
        "refusals": {"origin": 2},
    }
    (counted / "otherhost-12.json").write_text(json.dumps(other))
    (counted / "junk.json").write_text("{not json")  # ignored
    registry = CollectorRegistry()
    registry.register(CountersCollector(counted, this_process=True))
    mine = counters.snapshot()
    value = registry.get_sample_value
    assert value("generic_consumers_frames_received_total") == (
        10 + mine["counts"]["frames_received"]
    )
    assert value("generic_consumers_refused_total", {"reason": "origin"}) == (
        2 + mine["refusals"]["origin"]
    )
    assert value("generic_consumers_sockets_open") == 3 + (
        mine["counts"]["sockets_opened"] - mine["counts"]["sockets_closed"]
    )
    assert value("generic_consumers_processes") == 2


def test_register_once_and_the_metrics_view(rf):
    registry = CollectorRegistry()
    assert register(registry) and register(registry)  # the second is a no-op
    assert registry.get_sample_value("generic_consumers_processes") is not None
    response = metrics_view(rf.get("/metrics/"))
    assert response.status_code == 200
    assert b"generic_consumers_frames_sent_total" in response.content
    assert b'generic_consumers_refused_total{reason="rate_limit"}' in response.content


def test_the_command_says_when_nothing_was_published(tmp_path, capsys):
    call_command("socket_counters", "--dir", str(tmp_path))
    assert "No counters in" in capsys.readouterr().out


def test_checks_refuse_bad_counters_settings(settings):
    settings.GENERIC_CONSUMERS = {
        **settings.GENERIC_CONSUMERS,
        "COUNTERS_INTERVAL": -1,
        "COUNTERS_DIR": 5,
    }
    ids = sorted(m.id for m in check_settings() if "COUNTERS" in m.msg)
    assert ids == ["generic_consumers.E005", "generic_consumers.E012"]


def counters_command(directory: Path, *args: str) -> str:
    """``manage.py socket_counters`` in its own process, as an operator runs it."""
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "django",
            "socket_counters",
            "--dir",
            str(directory),
            *args,
        ],
        cwd=ROOT,
        env={
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "tests.settings",
        },
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout


def published(directory: Path, pid: int, until) -> dict:
    """The server's published counts once ``until(totals)`` holds (up to 10 s)."""
    summed: dict = {}
    for _ in range(200):
        processes = [p for p in read_processes(directory) if p.pid == pid]
        summed = totals(processes)
        if processes and until(summed):
            return summed
        time.sleep(0.05)
    raise AssertionError(f"the server published {summed}")


@pytest.mark.e2e
async def test_a_real_server_publishes_to_the_command_and_prometheus(tmp_path):
    env = {
        "GC_TEST_GENERIC_CONSUMERS": json.dumps(
            {"COUNTERS_INTERVAL": 0.1, "COUNTERS_DIR": str(tmp_path)}
        )
    }
    server = ServerProcess("uvicorn", env=env).start()
    try:
        pid = server.process.pid
        async with connect(server.url + "/echo/") as kept_open:
            async with connect(server.url + "/echo/") as ws:
                for n in range(5):
                    await ws.send(json.dumps({"n": n}))
                    assert json.loads(await ws.recv()) == {"echo": {"n": n}}
                await ws.send("{not json")
            await kept_open.send(json.dumps({"n": "kept"}))
            await kept_open.recv()
            summed = published(
                tmp_path,
                pid,
                lambda t: (
                    t["counts"]["sockets_closed"] == 1
                    and t["counts"]["frames_received"] == 7
                ),
            )
            assert summed["sockets_open"] == 1
            assert summed["counts"]["frames_sent"] == 6
            assert summed["refusals"]["invalid_frame"] == 1
            report = json.loads(counters_command(tmp_path, "--json"))
            assert report["totals"] == summed
            text = counters_command(tmp_path)
            assert f"pid {pid} (running" in text and "1 sockets open" in text
            registry = CollectorRegistry()
            registry.register(CountersCollector(tmp_path, this_process=False))
            assert registry.get_sample_value("generic_consumers_sockets_open") == 1
            assert (
                registry.get_sample_value("generic_consumers_frames_received_total")
                == 7
            )
            # A server that is killed stops counting its sockets as open; what it
            # counted stays in the totals until a process of this host starts.
            server.process.send_signal(signal.SIGKILL)
            server.process.wait(10)
        after = json.loads(counters_command(tmp_path, "--json"))["totals"]
        assert after["sockets_open"] == 0 and after["processes"] == 0
        assert after["counts"]["frames_received"] == 7
    finally:
        server.stop()
