"""``manage.py serve``: Uvicorn processes and runworkers on a real redis-server."""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import re
import signal
import socket
import time

import pytest
from django.core.management import CommandError, call_command
from websockets.asyncio.client import connect

from generic_consumers._serve import split_bind

from .redis_server import DjangoCommand, RedisServer
from .servers import free_port


@pytest.mark.parametrize("argv", [["--workers", "2"], ["--named-workers", "1"]])
def test_serve_refuses_the_in_memory_layer_with_several_processes(argv):
    with pytest.raises(CommandError, match="is in-memory") as info:
        call_command("serve", *argv)
    assert "channels_redis" in str(info.value)


def test_serve_refuses_a_bad_bind():
    with pytest.raises(CommandError, match="'nonsense' is not HOST:PORT"):
        call_command("serve", "--bind", "nonsense")


def test_serve_split_bind():
    assert split_bind("0.0.0.0:80") == ("0.0.0.0", 80)
    assert split_bind("[::1]:8000") == ("::1", 8000)


@pytest.fixture(scope="module")
def redis_server():
    server = RedisServer().start()
    yield server
    server.stop()


def alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    return True


def wait_listening(port: int, process: DjangoCommand, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert process.alive(), process.output()
        with contextlib.suppress(OSError):
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        time.sleep(0.1)
    raise TimeoutError(process.output())


async def recv(ws, timeout: float = 15.0):
    return json.loads(await asyncio.wait_for(ws.recv(), timeout))


@pytest.mark.redis
@pytest.mark.e2e
async def test_serve_two_servers_and_a_worker_share_redis_and_stop_cleanly(
    redis_server,
):
    port = free_port()
    serve = DjangoCommand(
        *("serve", "--bind", f"127.0.0.1:{port}"),
        *("--workers", "2", "--named-workers", "1"),
        env={
            "GC_TEST_REDIS_URL": redis_server.url,
            "GC_TEST_ROUTING": "tests.redis_routing.channel_routing",
            "GC_TEST_IN_PROCESS_WORKERS": "0",
        },
    ).start()
    sockets = []
    try:
        serve.wait_for_output("Started worker 1")
        started = dict(re.findall(r"Started (\w+ \d) \(pid (\d+)\)", serve.output()))
        servers = {int(started["server 1"]), int(started["server 2"])}
        worker = int(started["worker 1"])
        wait_listening(port, serve)
        url = f"ws://127.0.0.1:{port}"
        # Connect until both server processes hold one of our sockets (the kernel
        # decides which process accepts; 60 tries are plenty).
        by_pid: dict[int, object] = {}
        for _ in range(60):
            ws = await connect(url + "/pidroom/", open_timeout=15, close_timeout=5)
            sockets.append(ws)
            await ws.send(json.dumps({"who": 1}))
            pid = (await recv(ws))["pid"]
            assert pid in servers
            by_pid.setdefault(pid, ws)
            if len(by_pid) == 2:
                break
        assert set(by_pid) == servers, serve.output()
        a, b = by_pid.values()
        # A group message from one process reaches the sockets of both.
        await a.send(json.dumps({"msg": "hi"}))
        assert await recv(a) == {"msg": "hi"}
        assert await recv(b) == {"msg": "hi"}
        # A named-channel message is handled by the worker process.
        ws = await connect(url + "/pid/", open_timeout=15, close_timeout=5)
        sockets.append(ws)
        await ws.send("?")
        assert await recv(ws, 20) == {"worker_pid": worker}

        code, output = serve.stop(signal.SIGTERM)
        assert code == 0, output
        assert "Stopped." in output
        for pid in (*servers, worker):
            assert not alive(pid), f"pid {pid} outlived serve:\n{output}"
        # The servers closed their sockets as a restart (1012), not by dying.
        await asyncio.wait_for(a.wait_closed(), 10)
        assert a.close_code == 1012
    finally:
        serve.stop()
        for ws in sockets:
            await ws.close()


def started_pids(serve: DjangoCommand) -> list[int]:
    serve.wait_for_output("Started server 1")
    return [int(pid) for pid in re.findall(r"\(pid (\d+)\)", serve.output())]


def wait_gone(pid: int, timeout: float = 10.0) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not alive(pid):
            return True
        time.sleep(0.1)
    return False


@pytest.mark.e2e
async def test_serve_one_process_on_the_in_memory_layer_stops_on_sigint():
    port = free_port()
    serve = DjangoCommand("serve", "--bind", f"127.0.0.1:{port}").start()
    try:
        (pid,) = started_pids(serve)
        wait_listening(port, serve)
        async with connect(f"ws://127.0.0.1:{port}/echo/", open_timeout=15) as ws:
            await ws.send(json.dumps({"n": 1}))
            assert await recv(ws) == {"echo": {"n": 1}}
        code, output = serve.stop(signal.SIGINT)
        assert code == 0, output
        assert not alive(pid)
    finally:
        serve.stop()


@pytest.mark.e2e
def test_serve_children_die_with_a_killed_supervisor():
    port = free_port()
    serve = DjangoCommand("serve", "--bind", f"127.0.0.1:{port}").start()
    try:
        (pid,) = started_pids(serve)
        wait_listening(port, serve)
        serve.stop(signal.SIGKILL)  # no chance to stop its children itself
        assert wait_gone(pid), f"server pid {pid} outlived its supervisor"
    finally:
        serve.stop()
        if alive(pid):  # only ours, by PID
            os.kill(pid, signal.SIGKILL)


@pytest.mark.e2e
def test_serve_restarts_a_server_process_that_died():
    port = free_port()
    serve = DjangoCommand("serve", "--bind", f"127.0.0.1:{port}").start()
    try:
        (pid,) = started_pids(serve)
        wait_listening(port, serve)
        os.kill(pid, signal.SIGKILL)  # ours: the child serve started
        serve.wait_for_output("server 1 exited with -9; restarting it.")
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            starts = re.findall(r"Started server 1 \(pid (\d+)\)", serve.output())
            if len(starts) == 2:
                break
            time.sleep(0.1)
        assert len(starts) == 2, serve.output()
        new = int(starts[1])
        assert new != pid
        wait_listening(port, serve)
        code, output = serve.stop(signal.SIGTERM)
        assert code == 0, output
        assert wait_gone(new)
    finally:
        serve.stop()
