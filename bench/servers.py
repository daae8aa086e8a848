"""Parts (b) and (d): real server processes (Uvicorn, Daphne) and a client process.

For every row a fresh server process serves just that application on a free loopback
port, and one client process (``bench/client.py``, the ``websockets`` library) drives
it. Server CPU time comes from ``/proc/<pid>/stat`` (all threads, user + system)
around the measured window only; memory from ``VmRSS`` in ``/proc/<pid>/status``.
Only processes started here are stopped, by PID, in ``finally`` blocks.
"""

from __future__ import annotations

import json
import os
import select
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .apps import AppSpec, Unavailable
from .report import Row

ROOT = Path(__file__).resolve().parent.parent
CLK_TCK = os.sysconf("SC_CLK_TCK")
START_TIMEOUT = 30.0
COMMAND_TIMEOUT = 120.0


@dataclass(frozen=True)
class SocketSizes:
    conns: list[int]
    seconds: float  # measured window per cell
    warmup: float
    idle_sockets: int  # part (d)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def cpu_seconds(pid: int) -> float:
    """User + system CPU time of the whole process (every thread), in seconds."""
    stat = Path(f"/proc/{pid}/stat").read_text()
    fields = stat[stat.rindex(")") + 2 :].split()
    # After "pid (comm) ", field 0 is the state; utime and stime are fields 11 and 12.
    return (int(fields[11]) + int(fields[12])) / CLK_TCK


def process_tree(pid: int) -> list[int]:
    """``pid`` and its descendants (Granian serves from a worker child process)."""
    pids, todo = [], [pid]
    while todo:
        current = todo.pop()
        pids.append(current)
        for task in Path(f"/proc/{current}/task").iterdir():
            children = (task / "children").read_text().split()
            todo.extend(int(child) for child in children)
    return pids


def tree_cpu_seconds(pid: int) -> float:
    """CPU time of ``pid`` and every descendant (they live through the window)."""
    return sum(cpu_seconds(p) for p in process_tree(pid))


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise RuntimeError(f"no VmRSS for pid {pid}")


def stop(proc: subprocess.Popen | None) -> None:
    """Stop a process this module started (by its PID, never by name)."""
    if proc is None or proc.poll() is not None:
        return
    proc.terminate()
    try:
        proc.wait(5)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait(5)


def _env(**extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(
        p for p in (str(ROOT), env.get("PYTHONPATH", "")) if p
    )
    env.setdefault("DJANGO_SETTINGS_MODULE", "bench.settings")
    env["PYTHONUNBUFFERED"] = "1"
    env.update(extra)
    return env


SERVERS = {
    "uvicorn": lambda port: [
        *("-m", "uvicorn", "bench.serve:application"),
        *("--host", "127.0.0.1", "--port", str(port)),
        *("--lifespan", "off", "--loop", "asyncio", "--http", "h11"),
        *("--ws", "websockets-sansio", "--log-level", "warning", "--no-access-log"),
        *("--timeout-graceful-shutdown", "1"),
    ],
    "daphne": lambda port: [
        *("-m", "daphne", "-b", "127.0.0.1", "-p", str(port), "-v", "0"),
        "bench.serve:application",
    ],
    # Rust HTTP/WebSocket stack; one worker process under a supervising main one.
    # asginl: ASGI without lifespan, as the other two are run (the raw app has none).
    "granian": lambda port: [
        *("-m", "granian", "--interface", "asginl", "--host", "127.0.0.1"),
        *("--port", str(port), "--workers", "1", "--loop", "asyncio"),
        *("--http", "1", "--log-level", "warning", "--no-access-log"),
        "bench.serve:application",
    ],
}


class Server:
    """One server process serving one application."""

    def __init__(self, kind: str, app: str, log_dir: Path) -> None:
        self.port = free_port()
        self.log = log_dir / f"{kind}-{app}.log"
        with self.log.open("wb") as log:
            self.proc = subprocess.Popen(
                [sys.executable, *SERVERS[kind](self.port)],
                cwd=ROOT,
                env=_env(BENCH_APP=app),
                stdin=subprocess.DEVNULL,
                stdout=log,
                stderr=subprocess.STDOUT,
            )

    @property
    def pid(self) -> int:
        return self.proc.pid

    def wait_ready(self) -> None:
        deadline = time.monotonic() + START_TIMEOUT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise RuntimeError(f"server exited: {self.tail()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=1):
                    return
            except OSError:
                time.sleep(0.05)
        raise RuntimeError(f"server not listening after {START_TIMEOUT} s")

    def tail(self) -> str:
        lines = self.log.read_text(errors="replace").strip().splitlines()
        return " / ".join(lines[-3:])


class ClientProcess:
    """The ``bench.client`` process, one JSON command and answer at a time."""

    def __init__(self, url: str, frame: str) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "bench.client", url, frame],
            cwd=ROOT,
            env=_env(),
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
        )
        self._buffer = b""

    def send(self, line: str) -> None:
        assert self.proc.stdin is not None
        self.proc.stdin.write(line.encode() + b"\n")
        self.proc.stdin.flush()

    def answer(self, timeout: float = COMMAND_TIMEOUT) -> dict[str, Any]:
        assert self.proc.stdout is not None
        fd = self.proc.stdout.fileno()
        deadline = time.monotonic() + timeout
        while b"\n" not in self._buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                raise TimeoutError(f"client gave no answer within {timeout} s")
            ready, _, _ = select.select([fd], [], [], left)
            if ready:
                chunk = os.read(fd, 65536)
                if not chunk:
                    raise RuntimeError("client exited")
                self._buffer += chunk
        line, self._buffer = self._buffer.split(b"\n", 1)
        data = json.loads(line)
        if data.get("ok") is False:
            raise RuntimeError(f"client: {data['error']}")
        return data

    def command(self, **cmd: Any) -> dict[str, Any]:
        self.send(json.dumps(cmd))
        return self.answer()


def _measure(server: Server, client: ClientProcess, conns: int, sizes: SocketSizes):
    client.send(
        json.dumps(
            {
                "cmd": "run",
                "conns": conns,
                "seconds": sizes.seconds,
                "warmup": sizes.warmup,
            }
        )
    )
    client.answer()  # ready: connections open, warm-up done, nothing in flight
    cpu_before = tree_cpu_seconds(server.pid)
    client.send("go")
    result = client.answer()
    cpu = tree_cpu_seconds(server.pid) - cpu_before
    trips = result["round_trips"]
    return {
        "rt/s": trips / result["elapsed"],
        "p50": result["p50_us"],
        "p99": result["p99_us"],
        "cpu": cpu / trips * 1e6 if trips else None,
    }


def _idle_memory(server: Server, client: ClientProcess, n: int) -> float:
    client.command(cmd="open", n=1)  # lazy set-up done before the baseline
    time.sleep(0.2)
    before = rss_bytes(server.pid)
    client.command(cmd="open", n=n)
    time.sleep(0.2)
    after = rss_bytes(server.pid)
    client.command(cmd="close")
    return (after - before) / n / 1024


METRICS = [
    ("rt/s", "round trips/s"),
    ("p50", "p50 latency µs"),
    ("p99", "p99 latency µs"),
    ("cpu", "server CPU µs/round trip"),
]


def run(
    specs: list[AppSpec],
    sizes: SocketSizes,
    *,
    servers: list[str],
    throughput: bool,
    memory: bool,
    log: Any,
) -> list[Row]:
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="bench-logs-") as tmp:
        for kind in servers:
            do_memory = memory and kind == "uvicorn"
            if not (throughput or do_memory):
                continue
            for spec in specs:
                log(f"  (b/d) {kind}, {spec.key} ...")
                values: dict[tuple[int, str], float | None] = {}
                idle: float | None = None
                note = None
                server = client = None
                try:
                    spec.build()  # fail fast (and say why) for rows not available
                    server = Server(kind, spec.key, Path(tmp))
                    server.wait_ready()
                    client = ClientProcess(
                        f"ws://127.0.0.1:{server.port}/echo/", spec.frame
                    )
                    if do_memory:
                        idle = _idle_memory(server, client, sizes.idle_sockets)
                    if throughput:
                        for conns in sizes.conns:
                            cell = _measure(server, client, conns, sizes)
                            for metric, value in cell.items():
                                values[(conns, metric)] = value
                        client.command(cmd="close")
                except Unavailable as exc:
                    note = f"n/a ({exc})"
                except Exception as exc:
                    note = f"error: {type(exc).__name__}: {exc}"
                    if server is not None:
                        note += f" [server log: {server.tail()}]"
                finally:
                    if client is not None:
                        stop(client.proc)
                    if server is not None:
                        stop(server.proc)
                if throughput:
                    for conns in sizes.conns:
                        for metric, unit in METRICS:
                            rows.append(
                                Row(
                                    part="b",
                                    scenario=f"{kind}, {conns} connection"
                                    + ("s" if conns > 1 else ""),
                                    app=spec.key,
                                    label=spec.label,
                                    reference=spec.reference,
                                    metric=metric,
                                    unit=unit,
                                    value=values.get((conns, metric)),
                                    note=note,
                                )
                            )
                if do_memory:
                    rows.append(
                        Row(
                            part="d",
                            scenario=f"{sizes.idle_sockets} idle sockets",
                            app=spec.key,
                            label=spec.label,
                            reference=spec.reference,
                            metric="rss",
                            unit="KiB RSS/socket",
                            value=idle,
                            note=note,
                        )
                    )
    return rows
