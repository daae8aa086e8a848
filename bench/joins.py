"""Part (c), connect + join: sockets that join ten groups each, all connecting at once.

The costliest connect a site sees is a reconnect storm of sockets that each join
several groups of their own (a user's rooms, their own notifications). The figure is
the time per connection until every socket is accepted; afterwards, untimed, one
message to each socket's last group checks that the joins happened before the accept.
"""

from __future__ import annotations

import asyncio
import gc
import statistics
import time
from collections.abc import Callable
from typing import Any

from .apps import FanoutSpec, Unavailable
from .driver import Socket, bounded
from .inprocess import FANOUT_LIMIT, FanoutSizes, _run
from .report import Row

SOCKETS = 200
GROUPS = 10  # per socket, its own


async def _join_part(spec: FanoutSpec, repeats: int) -> float:
    groups = [[f"join-{i}-{k}" for k in range(GROUPS)] for i in range(SOCKETS)]
    apps = [spec.build(own) for own in groups]
    received = [0] * SOCKETS
    all_there = asyncio.Event()

    def counter(index: int) -> Callable[[dict[str, Any]], None]:
        def on_send(event: dict[str, Any]) -> None:
            received[index] += 1
            if sum(received) == SOCKETS:
                all_there.set()

        return on_send

    timings = []
    for _ in range(repeats + 1):  # the first round warms up, untimed
        received[:] = [0] * SOCKETS
        all_there.clear()
        gc.collect()
        start = time.perf_counter()
        sockets = [Socket(app, on_send=counter(i)) for i, app in enumerate(apps)]
        await bounded(
            asyncio.gather(*(s.connect(watch=True) for s in sockets)), FANOUT_LIMIT
        )
        timings.append(time.perf_counter() - start)
        try:
            for own in groups:
                await spec.broadcast(own[-1], '{"joined":true}')
            try:
                await asyncio.wait_for(all_there.wait(), FANOUT_LIMIT)
            except TimeoutError:
                pass  # reported below
            if sorted(set(received)) != [1]:
                raise AssertionError(
                    f"{received.count(0)} of {SOCKETS} sockets were accepted before "
                    "they joined their groups"
                )
        finally:
            await bounded(asyncio.gather(*(s.close() for s in sockets)), FANOUT_LIMIT)
    return statistics.median(timings[1:]) / SOCKETS * 1e6


def joins(
    specs: list[FanoutSpec],
    sizes: FanoutSizes,
    layers: list[tuple[str, Callable[[], Any]]],
    log: Any,
) -> list[Row]:
    """``layers``: (name, context manager factory that switches CHANNEL_LAYERS)."""
    rows: list[Row] = []
    repeats = max(sizes.repeats * 2, 3)  # short rounds: more of them
    for layer_name, switch in layers:
        for spec in specs:
            log(f"  (c) {layer_name}, connect + join, {spec.key} ...")
            value, note = None, None
            try:
                with switch():
                    value = _run(lambda spec=spec: _join_part(spec, repeats))
            except Unavailable as exc:
                note = f"n/a ({exc})"
            except Exception as exc:
                note = f"error: {type(exc).__name__}: {exc}"
            rows.append(
                Row(
                    part="c",
                    scenario=f"{layer_name}: {SOCKETS} sockets connecting at once, "
                    f"each joining {GROUPS} groups of its own",
                    app=spec.key,
                    label=spec.label,
                    reference=spec.reference,
                    metric="time",
                    unit="µs per connection",
                    value=value,
                    note=note,
                )
            )
    return rows
