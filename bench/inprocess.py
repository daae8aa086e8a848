"""Parts (a) and (c): applications driven in-process, no sockets, no server.

(a) round trips on one socket, round trips on 100 concurrent sockets, and connect+close
cycles; (c) group fan-out to many sockets on the in-memory layer and on Redis.
Each application runs on a fresh event loop with fresh channel-layer instances.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from channels.layers import channel_layers as channels4_layers

from generic_consumers.runtime.registry import sockets as local_sockets

from .apps import AppSpec, FanoutSpec, Unavailable
from .driver import Socket, bounded
from .report import Row

RUN_LIMIT = 120.0  # seconds any one measured run may take
FANOUT_LIMIT = 30.0  # seconds for sockets to connect, or to get every message
BATCH = 50  # fan-out sockets connected (and closed) at once


@dataclass(frozen=True)
class InProcessSizes:
    round_trips: int  # sequential round trips on one socket, per run
    sockets: int  # concurrent sockets
    per_socket: int  # round trips per concurrent socket, per run
    cycles: int  # connect+close cycles, per run
    repeats: int  # runs; the median is reported


def _fresh_layers() -> None:
    channels4_layers.backends.clear()
    local_sockets.clear()


async def _close_layers() -> None:
    for layer in list(channels4_layers.backends.values()):
        # Leave nothing (groups, messages) behind for the next row.
        await layer.flush()
        close = getattr(layer, "close_pools", None)
        if close is not None:
            await close()
    channels4_layers.backends.clear()


def _run(main: Callable[[], Awaitable[Any]]) -> Any:
    _fresh_layers()

    async def wrapped() -> Any:
        try:
            return await main()
        finally:
            await _close_layers()

    try:
        return asyncio.run(wrapped())
    finally:
        _fresh_layers()


async def _timed(func: Callable[[], Awaitable[Any]]) -> float:
    gc.collect()
    start = time.perf_counter()
    await bounded(func(), RUN_LIMIT)
    return time.perf_counter() - start


# -- (a) echo --


async def _echo_part(spec: AppSpec, sizes: InProcessSizes) -> dict[str, float]:
    app = spec.build()
    frame = spec.frame

    # Warm up (imports, lazy routing, thread pools) and check the echo.
    warm = Socket(app)
    await bounded(warm.connect(), 10)
    for _ in range(20):
        spec.check(await bounded(warm.round_trip(frame), 10))
    await bounded(warm.close(), 10)

    async def sequential() -> None:
        sock = Socket(app)
        await sock.connect()
        for _ in range(sizes.round_trips):
            await sock.round_trip(frame)
        await sock.close()

    sockets: list[Socket] = []

    async def concurrent() -> None:
        async def one(sock: Socket) -> None:
            for _ in range(sizes.per_socket):
                await sock.round_trip(frame)

        await asyncio.gather(*(one(sock) for sock in sockets))

    async def cycles() -> None:
        for _ in range(sizes.cycles):
            sock = Socket(app)
            await sock.connect()
            await sock.close()

    seq, conc, cyc = [], [], []
    for _ in range(sizes.repeats):
        # The sequential run includes one connect and close; negligible next to it.
        seq.append(await _timed(sequential) / sizes.round_trips)
        sockets[:] = [Socket(app) for _ in range(sizes.sockets)]
        await bounded(asyncio.gather(*(s.connect() for s in sockets)), 60)
        conc.append(await _timed(concurrent) / (sizes.sockets * sizes.per_socket))
        await bounded(asyncio.gather(*(s.close() for s in sockets)), 60)
        cyc.append(await _timed(cycles) / sizes.cycles)
    return {
        "seq": statistics.median(seq) * 1e6,
        "conc": statistics.median(conc) * 1e6,
        "cycle": statistics.median(cyc) * 1e6,
    }


def echo(specs: list[AppSpec], sizes: InProcessSizes, log: Any) -> list[Row]:
    rows: list[Row] = []
    scenarios = [
        ("seq", "1 socket, sequential round trips", "µs/round trip"),
        (
            "conc",
            f"{sizes.sockets} concurrent sockets, round trips",
            "µs/round trip",
        ),
        ("cycle", "connect + close cycles", "µs/cycle"),
    ]
    for spec in specs:
        log(f"  (a) {spec.key} ...")
        try:
            values = _run(lambda spec=spec: _echo_part(spec, sizes))
            error = None
        except Unavailable as exc:
            values, error = {}, f"n/a ({exc})"
        except Exception as exc:  # a broken row must not stop the run
            values, error = {}, f"error: {type(exc).__name__}: {exc}"
        for key, scenario, unit in scenarios:
            rows.append(
                Row(
                    part="a",
                    scenario=scenario,
                    app=spec.key,
                    label=spec.label,
                    reference=spec.reference,
                    metric="time",
                    unit=unit,
                    value=values.get(key),
                    note=error,
                )
            )
    return rows


# -- (c) group fan-out --


@dataclass(frozen=True)
class FanoutSizes:
    sockets: int
    messages: int  # sent to every group; every client must receive them all
    repeats: int


async def _fanout_part(
    spec: FanoutSpec, groups: list[str], sizes: FanoutSizes
) -> float:
    # Socket i joins groups[i % len(groups)]; every group gets every message, so every
    # socket must receive exactly ``sizes.messages`` frames per round.
    apps = [spec.build([group]) for group in groups]
    expected = sizes.messages
    counts = [0] * sizes.sockets
    state = {"complete": 0}
    done: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def counter(index: int) -> Callable[[dict[str, Any]], None]:
        def on_send(event: dict[str, Any]) -> None:
            counts[index] += 1
            if counts[index] == expected:
                state["complete"] += 1
                if state["complete"] == sizes.sockets and not done.done():
                    done.set_result(None)

        return on_send

    sockets = [
        Socket(apps[i % len(apps)], on_send=counter(i)) for i in range(sizes.sockets)
    ]
    for start in range(0, len(sockets), BATCH):
        batch = sockets[start : start + BATCH]
        await bounded(
            asyncio.gather(*(s.connect(watch=True) for s in batch)), FANOUT_LIMIT
        )
    texts = [f'{{"broadcast":{i}}}' for i in range(expected)]
    timings = []
    try:
        for _ in range(sizes.repeats + 1):  # the first round warms up, untimed
            counts[:] = [0] * sizes.sockets
            state["complete"] = 0
            done = asyncio.get_running_loop().create_future()
            gc.collect()
            start = time.perf_counter()
            for text in texts:
                for group in groups:
                    await spec.broadcast(group, text)
            try:
                await asyncio.wait_for(asyncio.shield(done), FANOUT_LIMIT)
            except TimeoutError:
                raise AssertionError(
                    f"only {state['complete']} of {sizes.sockets} sockets got all "
                    f"{expected} messages within {FANOUT_LIMIT} s"
                ) from None
            timings.append(time.perf_counter() - start)
            await asyncio.sleep(0.05)  # late duplicates would show up here
            if max(counts) != expected:
                raise AssertionError(f"a socket got {max(counts)} of {expected}")
    finally:
        for start in range(0, len(sockets), BATCH):
            batch = sockets[start : start + BATCH]
            await bounded(asyncio.gather(*(s.close() for s in batch)), FANOUT_LIMIT)
    return statistics.median(timings[1:]) * 1e3


def fanout(
    specs: list[FanoutSpec],
    sizes: FanoutSizes,
    layers: list[tuple[str, Callable[[], Any]]],
    log: Any,
) -> list[Row]:
    """``layers``: (name, context manager factory that switches CHANNEL_LAYERS)."""
    rows: list[Row] = []
    topologies = [
        (["bench-all"], f"{sizes.sockets} sockets in 1 group"),
        (
            [f"bench-{i}" for i in range(10)],
            f"{sizes.sockets} sockets in 10 groups of {sizes.sockets // 10}",
        ),
    ]
    for layer_name, switch in layers:
        for groups, scenario in topologies:
            for spec in specs:
                log(f"  (c) {layer_name}, {len(groups)} group(s), {spec.key} ...")
                value, note = None, None
                try:
                    with switch():
                        value = _run(
                            lambda spec=spec, groups=groups: _fanout_part(
                                spec, groups, sizes
                            )
                        )
                except Unavailable as exc:
                    note = f"n/a ({exc})"
                except Exception as exc:
                    note = f"error: {type(exc).__name__}: {exc}"
                rows.append(
                    Row(
                        part="c",
                        scenario=f"{layer_name}: {scenario}, "
                        f"{sizes.messages} messages each",
                        app=spec.key,
                        label=spec.label,
                        reference=spec.reference,
                        metric="time",
                        unit="ms until all delivered",
                        value=value,
                        note=note,
                    )
                )
    return rows
