"""Part (e): named-channel round trips through Redis, 1, 2 and 4 worker processes.

This process sends numbered messages to a named channel from ``senders`` tasks;
1, 2 or 4 worker processes answer each on this process's reply channel. Two rows,
measured in the same run on one throw-away ``redis-server``:

- ``gc-runworkers``: ``Channel(name).asend`` to ``manage.py runworkers`` processes
  (Redis Streams, ``NAMED_CHANNELS = "auto"``);
- ``c4-runworker``: ``channel_layer.send`` to Channels 4's ``runworker`` processes and a
  Channels 4 ``AsyncConsumer`` (channels_redis' own receive).

Figures: round trips per second until every message was answered once, and the
answers beyond the first per message (counted until ``QUIET`` seconds pass without
one). Worker processes are started here and stopped by their PIDs.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from django.test import override_settings

from .report import Row
from .servers import ROOT, _env, stop

QUIET = 1.0  # seconds without answers that end the duplicate count
READY_TIMEOUT = 60.0
RUN_LIMIT = 120.0  # seconds one measured run may take
PROCESSES = [1, 2, 4]


@dataclass(frozen=True)
class NamedSizes:
    messages: int
    senders: int


@dataclass(frozen=True)
class _Path:
    key: str
    label: str
    reference: str | None
    command: list[str]
    ready: str  # what a worker prints once it reads the channel


PATHS = [
    _Path(
        "c4-runworker",
        "Channels 4 runworker (channels_redis receive)",
        None,
        ["runworker", "bench.c4named"],
        "Running worker for channels",
    ),
    _Path(
        "gc-runworkers",
        "generic_consumers runworkers (Redis Streams)",
        "c4-runworker",
        ["runworkers", "--only-channels", "bench.named"],
        "Running workers",
    ),
]


def _start(path: _Path, url: str, count: int, logs: Path) -> list[subprocess.Popen]:
    env = _env(DJANGO_SETTINGS_MODULE="bench.named_settings", BENCH_REDIS_URL=url)
    procs = []
    for n in range(count):
        with (logs / f"{path.key}-{n}.log").open("wb") as log:
            procs.append(
                subprocess.Popen(
                    [sys.executable, "-m", "django", *path.command],
                    cwd=ROOT,
                    env=env,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                )
            )
    deadline = time.monotonic() + READY_TIMEOUT
    for n, proc in enumerate(procs):
        log_path = logs / f"{path.key}-{n}.log"
        while path.ready not in log_path.read_text(errors="replace"):
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"{path.key} worker never got ready:\n"
                    + (log_path.read_text(errors="replace"))
                )
            time.sleep(0.05)
    return procs


async def _round_trips(path: _Path, sizes: NamedSizes) -> tuple[float | None, int]:
    from generic_consumers import Channel, channel_layers

    layer = channel_layers["default"].raw
    reply = await layer.new_channel()

    if path.key == "gc-runworkers":

        async def send(n: int) -> None:
            await Channel("bench.named").asend({"n": n, "reply": reply})

        def number(message: dict[str, Any]) -> int:
            return message["content"]["n"]
    else:

        async def send(n: int) -> None:
            content = {"type": "bench.named", "n": n, "reply": reply}
            await layer.send("bench.c4named", content)

        def number(message: dict[str, Any]) -> int:
            return message["n"]

    async def run(first: int, count: int) -> tuple[float | None, Counter[int]]:
        todo = iter(range(first, first + count))

        async def sender() -> None:
            for n in todo:
                await send(n)

        answers: Counter[int] = Counter()
        started = time.perf_counter()
        sending = asyncio.ensure_future(
            asyncio.gather(*(sender() for _ in range(sizes.senders)))
        )
        elapsed = None
        deadline = started + RUN_LIMIT
        while time.perf_counter() < deadline:
            wait = QUIET if elapsed is not None else deadline - time.perf_counter()
            try:
                message = await asyncio.wait_for(layer.receive(reply), wait)
            except TimeoutError:
                break
            answers[number(message)] += 1
            if elapsed is None and len(answers) == count:
                elapsed = time.perf_counter() - started
        await sending
        return elapsed, answers

    await run(10**9, min(50, sizes.messages))  # warm-up: pools, imports
    elapsed, answers = await run(0, sizes.messages)
    duplicates = sum(answers.values()) - len(answers)
    from generic_consumers.runtime.named import close

    await close()  # this loop's stream connections
    await layer.flush()
    return (None if elapsed is None else sizes.messages / elapsed), duplicates


def _settings(url: str) -> Any:
    from .redisserver import redis_host

    config = {"hosts": [redis_host(url)], "capacity": 100_000}
    return override_settings(
        CHANNEL_LAYERS={
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": config,
            }
        },
        GENERIC_CONSUMERS={"ROUTING": [], "DELAY_CHANNEL": False},
    )


def _flush(url: str) -> None:
    import redis

    client = redis.Redis.from_url(url)
    client.flushall()
    client.close()


def run(sizes: NamedSizes, log: Callable[[str], None]) -> list[Row]:
    """The rows of part (e); "n/a" rows without redis-server."""
    from .redisserver import redis_server

    rows: list[Row] = []
    with redis_server() as url, tempfile.TemporaryDirectory() as tmp:
        for count in PROCESSES:
            scenario = f"{count} process{'es' if count > 1 else ''}"
            for path in PATHS:
                if url is None:
                    note = "n/a: redis-server not found; apt-get install redis-server"
                    for metric, unit in (("rt/s", "rt/s"), ("dup", "duplicates")):
                        rows.append(
                            Row(
                                "e",
                                scenario,
                                path.key,
                                path.label,
                                path.reference,
                                metric,
                                unit,
                                None,
                                note,
                            )
                        )
                    continue
                log(f"  {path.key}, {scenario}")
                _flush(url)
                procs = _start(path, url, count, Path(tmp))
                try:
                    with _settings(url):
                        rate, dups = asyncio.run(_round_trips(path, sizes))
                finally:
                    for proc in procs:
                        stop(proc)
                note = None if rate is not None else "timeout: not all answered"
                rows.append(
                    Row(
                        "e",
                        scenario,
                        path.key,
                        path.label,
                        path.reference,
                        "rt/s",
                        "rt/s",
                        rate,
                        note,
                    )
                )
                rows.append(
                    Row(
                        "e",
                        scenario,
                        path.key,
                        path.label,
                        path.reference,
                        "dup",
                        "duplicates",
                        float(dups),
                    )
                )
    return rows
