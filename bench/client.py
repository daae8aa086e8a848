"""The WebSocket client process of parts (b) and (d), driven by JSON lines on stdin.

``python -m bench.client URL FRAME`` then, one command per line:

- ``{"cmd": "open", "n": N}``: open N more connections, one checked round trip each;
- ``{"cmd": "run", "conns": C, "seconds": S, "warmup": W}``: on the first C connections,
  closed-loop round trips for W seconds, then answer ``{"ready": true}`` and wait for
  ``go``; then S seconds measured, answered with counts and latency percentiles;
- ``{"cmd": "close"}``, ``{"cmd": "exit"}``.

Every answer is one JSON line on stdout. The process exits when stdin closes.
"""

from __future__ import annotations

import asyncio
import json
import sys
import time
from typing import Any

from websockets.asyncio.client import ClientConnection, connect

from .limits import raise_open_files

OPEN_BATCH = 50
TIMEOUT = 30.0


def _answer(**data: Any) -> None:
    sys.stdout.write(json.dumps(data) + "\n")
    sys.stdout.flush()


def _percentile(sorted_values: list[int], fraction: float) -> float:
    if not sorted_values:
        return 0.0
    index = min(len(sorted_values) - 1, round(fraction * (len(sorted_values) - 1)))
    return sorted_values[index] / 1000.0  # ns -> µs


class Client:
    def __init__(self, url: str, frame: str) -> None:
        self.url = url
        self.frame = frame
        self.expected = json.loads(frame)
        self.conns: list[ClientConnection] = []

    async def _open_one(self) -> ClientConnection:
        ws = await connect(
            self.url,
            compression=None,
            ping_interval=None,
            open_timeout=TIMEOUT,
            close_timeout=2,
        )
        await ws.send(self.frame)
        reply = await asyncio.wait_for(ws.recv(), TIMEOUT)
        if json.loads(reply) != self.expected:
            raise AssertionError(f"wrong echo {reply!r}")
        return ws

    async def open(self, n: int) -> None:
        for start in range(0, n, OPEN_BATCH):
            batch = min(OPEN_BATCH, n - start)
            self.conns += await asyncio.gather(
                *(self._open_one() for _ in range(batch))
            )

    async def _loop(self, ws: ClientConnection, until: float, lat: list[int]) -> int:
        frame, count = self.frame, 0
        clock = time.perf_counter_ns
        while time.perf_counter() < until:
            start = clock()
            await ws.send(frame)
            await ws.recv()
            lat.append(clock() - start)
            count += 1
        return count

    async def _burst(self, conns: int, seconds: float) -> tuple[int, float, list[int]]:
        lat: list[int] = []
        start = time.perf_counter()
        until = start + seconds
        counts = await asyncio.wait_for(
            asyncio.gather(*(self._loop(ws, until, lat) for ws in self.conns[:conns])),
            seconds + TIMEOUT,
        )
        return sum(counts), time.perf_counter() - start, lat

    async def run(
        self, conns: int, seconds: float, warmup: float, stdin: asyncio.StreamReader
    ) -> None:
        if len(self.conns) < conns:
            await self.open(conns - len(self.conns))
        await self._burst(conns, warmup)
        _answer(ready=True)
        line = await asyncio.wait_for(stdin.readline(), TIMEOUT)
        if line.strip() != b"go":
            raise RuntimeError(f"expected 'go', got {line!r}")
        total, elapsed, lat = await self._burst(conns, seconds)
        lat.sort()
        _answer(
            ok=True,
            round_trips=total,
            elapsed=elapsed,
            p50_us=_percentile(lat, 0.50),
            p99_us=_percentile(lat, 0.99),
        )

    async def close(self) -> None:
        conns, self.conns = self.conns, []
        await asyncio.gather(*(ws.close() for ws in conns), return_exceptions=True)


async def main(url: str, frame: str) -> None:
    loop = asyncio.get_running_loop()
    stdin = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(stdin), sys.stdin)
    client = Client(url, frame)
    try:
        while line := await stdin.readline():
            command = json.loads(line)
            try:
                if command["cmd"] == "open":
                    await client.open(command["n"])
                    _answer(ok=True, open=len(client.conns))
                elif command["cmd"] == "run":
                    await client.run(
                        command["conns"], command["seconds"], command["warmup"], stdin
                    )
                elif command["cmd"] == "close":
                    await client.close()
                    _answer(ok=True)
                elif command["cmd"] == "exit":
                    break
            except Exception as exc:
                _answer(ok=False, error=f"{type(exc).__name__}: {exc}")
    finally:
        await client.close()


if __name__ == "__main__":
    raise_open_files()
    asyncio.run(main(sys.argv[1], sys.argv[2]))
