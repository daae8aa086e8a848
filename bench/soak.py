"""``python -m bench.soak`` (``make soak``): load, faults and hostile input, checked.

Against a real redis-server and real server processes on loopback (every process
started here and stopped by its PID):

1. **Cycles**: 10,000 connect/disconnect cycles on Uvicorn, 20 at a time: 80 % echo
   a frame and hop through a named channel, 10 % abort the TCP connection, 10 % hit
   a consumer that raises (in connect, receive or disconnect). Twenty watcher sockets
   get a group broadcast every 0.2 s throughout, and Redis is restarted halfway.
2. **Fuzz**: 100,000 frames drawn by the Hypothesis strategies of
   ``tests/strategies.py`` (the ones ``tests/test_fuzz.py`` uses), 100 per socket:
   each is echoed back exactly or refused with a log line.
3. **Slow readers**: on Uvicorn and on Daphne, a client that never reads shares a
   group with one that does, while 3000 × 20 KB group messages go out.

It prints one line per check, its figure and its threshold, and exits 1 if a check
failed. ``--quick`` runs a tenth of it.
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import concurrent.futures
import json
import os
import re
import sys
import tempfile
import time
from dataclasses import dataclass, field
from typing import Any

from websockets.asyncio.client import connect
from websockets.exceptions import ConnectionClosed, InvalidStatus

from tests.redis_server import RedisServer, raise_open_files_limit, read_log
from tests.servers import ServerProcess

from .soak_routing import RAISED

CYCLE_PARALLEL = 20
FUZZ_PARALLEL = 10
FRAMES_PER_SOCKET = 100
WATCHERS = 20
BROADCAST_PERIOD = 0.2
CHUNK = 2000  # fuzzed frames drawn per background job
RSS_SLACK = 0.10  # the server's RSS after the run, over its RSS before
SLOW_RSS_MB = 20.0  # what one client that never reads may cost the server
TRACEBACK = "Traceback (most recent call last)"
SLOW_AHEAD = 50  # group messages the slow-reader run sends ahead of the fast reader
REPLY_TIMEOUT = 30.0


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


@dataclass
class Check:
    name: str
    figure: str
    threshold: str
    ok: bool


@dataclass
class Sizes:
    cycles: int
    frames: int
    slow_messages: int
    slow_size: int = 20_000


@dataclass
class Tally:
    """What the clients saw."""

    ok_cycles: int = 0
    lost: int = 0  # replies that never came (echo or named channel)
    wrong: int = 0  # replies that came back different
    failures: list[str] = field(default_factory=list)  # unexpected client errors
    raised: int = 0  # cycles that hit a raising consumer
    lost_at: list[float] = field(default_factory=list)  # when lost hops were sent


class Soak:
    def __init__(self, sizes: Sizes, seed: int, logs: str) -> None:
        self.sizes = sizes
        self.seed = seed
        self.logs = logs
        self.checks: list[Check] = []

    def keep_log(self, name: str, output: str) -> None:
        path = os.path.join(self.logs, f"{name}.log")
        with open(path, "w") as file:
            file.write(output)
        _log(f"server log: {path}")

    def check(self, name: str, ok: bool, figure: Any, threshold: str) -> None:
        self.checks.append(Check(name, str(figure), threshold, ok))
        print(
            f"{'PASS' if ok else 'FAIL'}  {name}: {figure} (threshold: {threshold})",
            flush=True,
        )

    # -- the run ---------------------------------------------------------------------

    async def run(self) -> int:
        raise_open_files_limit()
        started = time.monotonic()
        # Hypothesis draws the frames in another process while the cycles run.
        pool = concurrent.futures.ProcessPoolExecutor(max_workers=1)
        chunks = [
            pool.submit(_draw, min(CHUNK, self.sizes.frames - start), self.seed + n)
            for n, start in enumerate(range(0, self.sizes.frames, CHUNK))
        ]
        redis = RedisServer().start()
        try:
            env = _env(redis.url)
            server = ServerProcess("uvicorn", env=env).start()
            try:
                await self.cycles_and_restart(server, redis)
                await self.fuzz(server, chunks)
                await self.memory(server)
            finally:
                self.keep_log("uvicorn-main", server.stop())
            for kind in ("uvicorn", "daphne"):
                await self.slow_reader(kind, env)
        finally:
            pool.shutdown(cancel_futures=True)
            redis.stop()
        failed = [c for c in self.checks if not c.ok]
        print(
            f"{len(self.checks) - len(failed)} of {len(self.checks)} checks passed "
            f"in {time.monotonic() - started:.0f} s",
            flush=True,
        )
        return 1 if failed else 0

    # -- 1. cycles, watchers and a Redis restart --------------------------------------

    async def cycles_and_restart(self, server: ServerProcess, redis: RedisServer):
        url = server.url
        tally = Tally()
        # Warm up first (imports, the sync threads and their memory arenas, the
        # Redis pool), so the baseline is a process that has served every kind.
        # 1000 at least: what the server holds (after malloc_trim) still steps up by
        # about 9 MB in the first 1000 cycles, then stays flat (1k and 10k runs alike).
        warm = max(1000, self.sizes.cycles // 10)
        warm_up = iter(range(warm))

        async def warmer() -> None:
            for i in warm_up:
                await cycle(url, _kind(i), 10**9 + i, tally)

        await asyncio.gather(*(warmer() for _ in range(CYCLE_PARALLEL)))
        await fuzz_socket(url, [], tally)
        self.baseline = await server_stats(url, trim=True)
        log_from = len(read_log(server.log))
        _log(f"baseline after {warm} warm-up cycles: {self.baseline}")
        tally = Tally()
        watchers = [await _connect(url + "/soak/watch/") for _ in range(WATCHERS)]
        seen: list[set[int]] = [set() for _ in watchers]
        readers = [
            asyncio.ensure_future(_collect(ws, into))
            for ws, into in zip(watchers, seen, strict=True)
        ]
        await _wait_for_groups(redis, WATCHERS, 10)
        sent: dict[int, float] = {}
        speaking = asyncio.Event()
        speaker = asyncio.ensure_future(_speak(watchers[0], sent, speaking))
        restart: asyncio.Future | None = None
        total = self.sizes.cycles
        counter = iter(range(total))

        async def cycler() -> None:
            nonlocal restart
            for i in counter:
                if i == total // 2:
                    _log(f"{i} cycles done; restarting Redis")
                    restart = asyncio.ensure_future(_restart(redis))
                await cycle(url, _kind(i), i, tally)
                if i and i % 1000 == 0:
                    stats = await server_stats(url)
                    _log(f"{i} cycles; server RSS {stats['rss'] / 2**20:.0f} MB")

        began = time.monotonic()
        await asyncio.gather(*(cycler() for _ in range(CYCLE_PARALLEL)))
        elapsed = time.monotonic() - began
        times = await restart if restart is not None else RestartTimes(0, 0, 0, 0)
        speaking.set()
        await speaker
        last = max(sent)
        for _ in range(300):  # up to 15 s for the last broadcasts
            if all(last in s for s in seen):
                break
            await asyncio.sleep(0.05)
        lost = [n for n in sent if not all(n in s for s in seen)]
        closed = sum(1 for ws in watchers if ws.close_code is not None)
        await asyncio.gather(*(ws.close() for ws in watchers))
        await asyncio.gather(*readers, return_exceptions=True)
        # What a Redis without persistence takes with it: messages it held when it
        # stopped (sent up to a second before), and broadcasts to a group it forgot,
        # until the servers have re-added their members.
        with_redis = [t for t in tally.lost_at if times.stop - 1 <= t < times.stopped]
        forgotten = [n for n in lost if times.stop - 1 <= sent[n] < times.restored]
        if lost or tally.lost_at:
            _log(
                "lost hops were sent at "
                f"{[round(t - times.stop, 2) for t in tally.lost_at[:20]]} s, lost "
                f"broadcasts at {[round(sent[n] - times.stop, 2) for n in lost[:20]]}"
                " s from the start of the Redis restart, missed by "
                f"{[sum(1 for s in seen if n not in s) for n in lost[:20]]} watchers"
            )
        _log(
            f"Redis restart: stopped in {times.stopped - times.stop:.2f} s, started "
            f"in {times.back - times.stopped:.2f} s, the watchers' group was whole "
            f"again {times.restored - times.back:.2f} s later"
        )
        self.check(
            f"cycles: {total} in {elapsed:.0f} s, unexpected client errors",
            not tally.failures,
            f"{len(tally.failures)} {tally.failures[:3]}",
            "0",
        )
        self.check(
            "cycles: lost replies (echo, and a hop through a named channel)",
            tally.lost == len(with_redis) and tally.wrong == 0,
            f"{tally.lost - len(with_redis)} lost, {tally.wrong} wrong of "
            f"{2 * tally.ok_cycles} (and {len(with_redis)} in Redis when it stopped)",
            "0",
        )
        self.check(
            "Redis restart: lost broadcasts to the watchers",
            len(lost) == len(forgotten),
            f"{len(lost) - len(forgotten)} of {len(sent)} × {WATCHERS} watchers (and "
            f"{len(forgotten)} sent while Redis was down or had forgotten the group)",
            "0",
        )
        self.check(
            "Redis restart: group memberships back after Redis was",
            times.restored - times.back <= 1.0,
            f"{times.restored - times.back:.2f} s",
            "at most 1 s",
        )
        self.check("Redis restart: watcher sockets closed", closed == 0, closed, "0")
        log = read_log(server.log)[log_from:]
        starts = log.count("Channel layer unreachable")
        ends = log.count("Channel layer reachable again")
        # A restart quick enough that every failed operation worked on its retry is
        # no outage: one INFO line says so instead of the start and end lines.
        mended = log.count("worked on retry")
        self.check(
            "Redis restart: outage log lines (starts / ends, or one 'mended' line)",
            (starts == ends == 1) or (starts == ends == 0 and mended == 1),
            f"{starts} / {ends}" + (f", {mended} mended" if mended else ""),
            "1 / 1, or 0 / 0 and 1 mended",
        )
        tags = set(re.findall(re.escape(RAISED) + r" in \w+ (t\d+)", log))
        self.check(
            "cycles: raising consumers logged",
            len(tags) == tally.raised,
            f"{len(tags)} of {tally.raised}",
            "every one",
        )
        _log(f"after the cycles: {await server_stats(url)}")
        left = await _wait_for_groups(redis, 0, 30)
        self.check("cycles: group memberships left in Redis", left == 0, left, "0")
        await self._tasks_back("cycles", url)

    async def _tasks_back(self, phase: str, url: str) -> None:
        now = await server_stats(url)
        # Closes settle within seconds; the listener of an aborted socket can take
        # longer (the Redis client's blocking read ends first).
        for _ in range(150):
            if now["tasks"] <= self.baseline["tasks"]:
                break
            await asyncio.sleep(0.2)
            now = await server_stats(url)
        self.check(
            f"{phase}: asyncio tasks leaked",
            now["tasks"] <= self.baseline["tasks"],
            now["tasks"] - self.baseline["tasks"],
            "0",
        )
        self.check(
            f"{phase}: sockets left in the registry",
            now["sockets"] <= self.baseline["sockets"],
            now["sockets"] - self.baseline["sockets"],
            "0",
        )

    # -- 2. fuzzed frames --------------------------------------------------------------

    async def fuzz(self, server: ServerProcess, chunks: list) -> None:
        url = server.url
        log_from = len(read_log(server.log))
        frames: list[Any] = []
        began = time.monotonic()
        for future in chunks:
            frames.extend(await asyncio.wrap_future(future))
        _log(f"{len(frames)} frames drawn ({time.monotonic() - began:.0f} s waited)")
        batches = [
            frames[i : i + FRAMES_PER_SOCKET]
            for i in range(0, len(frames), FRAMES_PER_SOCKET)
        ]
        tally = Tally()
        closed: list[int | None] = []
        limit = asyncio.Semaphore(FUZZ_PARALLEL)

        async def one(batch: list[Any]) -> None:
            async with limit:
                code = await fuzz_socket(url, batch, tally)
                if code is not None:
                    closed.append(code)

        began = time.monotonic()
        await asyncio.gather(*(one(batch) for batch in batches))
        elapsed = time.monotonic() - began
        refused = sum(1 for frame in frames if frame.refused)
        await asyncio.sleep(1)  # the last closes' log lines
        log = read_log(server.log)[log_from:]
        logged = log.count("refused a frame") + sum(
            int(n) for n in re.findall(r"(\d+) similar line\(s\) for socket", log)
        )
        self.check(
            f"fuzz: {len(frames)} frames in {elapsed:.0f} s, lost or wrong echoes",
            tally.lost == 0 and tally.wrong == 0 and not tally.failures,
            f"{tally.lost} lost, {tally.wrong} wrong of {len(frames) - refused}"
            + (f", errors {tally.failures[:3]}" if tally.failures else ""),
            "0",
        )
        self.check("fuzz: sockets the server closed", not closed, f"{len(closed)}", "0")
        self.check(
            "fuzz: refusals logged",
            logged == refused,
            f"{logged} of {refused}",
            "every one",
        )
        self.check(
            "fuzz: tracebacks in the server log",
            # Not "Traceback" alone: a fuzzed stream may be named so.
            TRACEBACK not in log,
            log.count(TRACEBACK),
            "0",
        )
        await self._tasks_back("fuzz", url)

    async def memory(self, server: ServerProcess) -> None:
        # RSS alone overstates what the server holds: glibc keeps the memory freed by
        # closed sockets (permessage-deflate's zlib buffers above all) for reuse, so
        # RSS climbs to a plateau under churn. malloc_trim hands that back; what RSS
        # is left is memory something still holds. Both figures are printed.
        now = await server_stats(server.url)
        _log(f"after the fuzz: {now}")
        trimmed = await server_stats(server.url, trim=True)
        grown = trimmed["rss"] / self.baseline["rss"] - 1
        self.check(
            "server memory held after the run (RSS after malloc_trim), over the "
            "baseline",
            grown <= RSS_SLACK,
            f"{grown:+.1%} ({self.baseline['rss'] / 2**20:.0f} -> "
            f"{trimmed['rss'] / 2**20:.0f} MB; RSS before the trim "
            f"{now['rss'] / 2**20:.0f} MB)",
            f"within {RSS_SLACK:.0%}",
        )

    # -- 3. slow readers ---------------------------------------------------------------

    async def slow_reader(self, kind: str, env: dict[str, str]) -> None:
        count, size = self.sizes.slow_messages, self.sizes.slow_size
        server = ServerProcess(kind, env=env).start()
        try:
            pid = server.process.pid if server.process else 0
            url = server.url
            fast = await _connect(url + "/soak/slow/member/", max_size=None)
            slow, slow_writer = await _never_reading(server.port, "/soak/slow/member/")
            go = await _connect(url + "/soak/slow/go/")
            await asyncio.sleep(0.5)  # both memberships are in Redis
            before = peak = _rss(pid)
            got = 0
            deadline = time.monotonic() + 120
            while got < count and time.monotonic() < deadline:
                # The producer stays SLOW_AHEAD messages ahead of the fast reader: a
                # burst past a reply channel's capacity (channels_redis: 100) is
                # dropped by the layer for any reader, slow or not.
                if got % SLOW_AHEAD == 0:
                    batch = min(SLOW_AHEAD, count - got)
                    await go.send(
                        json.dumps({"count": batch, "size": size, "start": got})
                    )
                try:
                    await asyncio.wait_for(fast.recv(), 5)
                except TimeoutError:
                    break
                got += 1
                if got % 100 == 0:
                    peak = max(peak, _rss(pid))
            await asyncio.sleep(1)
            peak = max(peak, _rss(pid))
            slow_closed = slow.at_eof() or _peer_closed(slow)
            await fast.close()
            await go.close()
            slow_writer.close()
        finally:
            self.keep_log(f"{kind}-slow-reader", server.stop())
        grown = (peak - before) / 2**20
        self.check(
            f"slow reader [{kind}]: messages lost by the fast client",
            got == count,
            f"{count - got} of {count}",
            "0",
        )
        self.check(
            f"slow reader [{kind}]: server RSS growth with one client not reading",
            grown <= SLOW_RSS_MB,
            f"{grown:.0f} MB ({count} × {size // 1000} KB sent; slow socket "
            f"{'closed by the server' if slow_closed else 'still open'})",
            f"at most {SLOW_RSS_MB:.0f} MB",
        )


# -- clients -----------------------------------------------------------------------


# Options for every client connection (--no-compression sets compression=None).
CLIENT_OPTIONS: dict[str, Any] = {}


def _connect(url: str, **options: Any) -> Any:
    return connect(url, **{**CLIENT_OPTIONS, **options})


def _kind(i: int) -> str:
    """10 % aborted, 10 % raising, the rest echo and hop."""
    return "abort" if i % 10 == 0 else "raise" if i % 10 == 5 else "ok"


async def cycle(url: str, kind: str, i: int, tally: Tally) -> None:
    try:
        if kind == "ok":
            await _ok_cycle(url, i, tally)
        elif kind == "abort":
            ws = await _connect(url + "/soak/cycle/", open_timeout=REPLY_TIMEOUT)
            await ws.send(json.dumps({"stream": "echo", "payload": {"i": i}}))
            ws.transport.abort()  # no close frame, no FIN: a vanished client
        else:
            tally.raised += 1
            await _raising_cycle(url, i)
    except Exception as exc:  # reported as a check
        tally.failures.append(f"{kind} #{i}: {exc!r}")


async def _ok_cycle(url: str, i: int, tally: Tally) -> None:
    async with _connect(url + "/soak/cycle/", open_timeout=REPLY_TIMEOUT) as ws:
        await ws.send(json.dumps({"stream": "echo", "payload": {"i": i}}))
        began = time.monotonic()
        await ws.send(json.dumps({"stream": "work", "payload": {"n": i}}))
        tally.ok_cycles += 1
        expected = {"echo": {"i": i}, "work": {"done": i}}
        for _ in range(2):
            try:
                frame = json.loads(await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT))
            except TimeoutError:
                tally.lost += 1
                tally.lost_at.append(began)
                continue
            if expected.pop(frame.get("stream"), None) != frame.get("payload"):
                tally.wrong += 1


async def _raising_cycle(url: str, i: int) -> None:
    when = ("connect", "receive", "disconnect")[(i // 10) % 3]
    target = f"{url}/soak/raise/{when}/t{i}/"
    try:
        async with _connect(target, open_timeout=REPLY_TIMEOUT) as ws:
            if when == "receive":
                await ws.send("{}")
                # The consumer raised: nothing comes back, the socket stays open.
                await ws.send("{}")
            elif when == "disconnect":
                await ws.send("{}")
                await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT)
    except InvalidStatus as exc:  # a connect consumer that raised rejects
        if when != "connect" or exc.response.status_code != 403:
            raise


async def fuzz_socket(url: str, batch: list[Any], tally: Tally) -> int | None:
    """Send ``batch`` on one socket; check the echoes. The close code if it closed."""
    try:
        async with _connect(
            url + "/soak/fuzz/", open_timeout=REPLY_TIMEOUT, max_size=None
        ) as ws:
            expected = [frame.echo for frame in batch if not frame.refused]
            for frame in batch:
                await ws.send(frame.text if frame.text is not None else frame.data)
            for echo in expected:
                try:
                    reply = json.loads(await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT))
                except TimeoutError:
                    tally.lost += len(expected)
                    return None
                if reply != {"stream": "echo", "payload": echo}:
                    tally.wrong += 1
    except ConnectionClosed as exc:
        return exc.rcvd.code if exc.rcvd else -1
    except Exception as exc:
        tally.failures.append(repr(exc))
    return None


async def _collect(ws: Any, into: set[int]) -> None:
    try:
        async for frame in ws:
            into.add(json.loads(frame)["n"])
    except ConnectionClosed:
        pass


async def _speak(ws: Any, sent: dict[int, float], stop: asyncio.Event) -> None:
    n = 0
    while not stop.is_set():
        sent[n] = time.monotonic()
        await ws.send(json.dumps({"n": n}))
        n += 1
        try:
            await asyncio.wait_for(stop.wait(), BROADCAST_PERIOD)
        except TimeoutError:
            pass


async def _never_reading(
    port: int, path: str
) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
    """A WebSocket handshake on a raw TCP connection that is never read again."""
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    key = base64.b64encode(os.urandom(16)).decode()
    writer.write(
        (
            f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
            "Upgrade: websocket\r\nConnection: Upgrade\r\n"
            f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        ).encode()
    )
    head = await asyncio.wait_for(reader.readuntil(b"\r\n\r\n"), REPLY_TIMEOUT)
    if b" 101 " not in head.split(b"\r\n", 1)[0]:
        raise RuntimeError(f"slow client refused: {head[:100]!r}")
    # The stream reads until its buffer is full, then stops: TCP pushes back. (The
    # writer must stay referenced: collecting it closes the connection.)
    return reader, writer


def _peer_closed(reader: asyncio.StreamReader) -> bool:
    transport = getattr(reader, "_transport", None)
    return transport is None or transport.is_closing()


async def server_stats(url: str, trim: bool = False) -> dict[str, int]:
    async with _connect(url + "/soak/stats/", open_timeout=REPLY_TIMEOUT) as ws:
        await ws.send("trim" if trim else "?")
        return json.loads(await asyncio.wait_for(ws.recv(), REPLY_TIMEOUT))


@dataclass
class RestartTimes:
    stop: float  # monotonic: the stop began
    stopped: float  # redis-server had exited
    back: float  # it answered again
    restored: float  # the watchers' group was whole again


async def _restart(redis: RedisServer) -> RestartTimes:
    stop = time.monotonic()
    await asyncio.to_thread(redis.stop)
    stopped = time.monotonic()
    await asyncio.to_thread(redis.start)
    back = time.monotonic()
    await _wait_for_groups(redis, WATCHERS, 60, key="asgi:group:soak-watch")
    return RestartTimes(stop, stopped, back, time.monotonic())


async def _wait_for_groups(
    redis: RedisServer, wanted: int, within: float, key: str = "asgi:group:*"
) -> int:
    """Poll until the groups matching ``key`` hold ``wanted`` members in all."""
    client = redis.client()
    try:
        deadline = time.monotonic() + within
        while True:
            total = sum(client.zcard(name) for name in client.keys(key))
            if total == wanted or time.monotonic() > deadline:
                return total
            await asyncio.sleep(0.2)
    finally:
        client.close()


def _rss(pid: int) -> int:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    return 0


def _draw(count: int, seed: int) -> list[Any]:
    from tests.strategies import demux_frames, draw_many

    return draw_many(demux_frames(), count, seed)


def _env(redis_url: str) -> dict[str, str]:
    return {
        "GC_TEST_REDIS_URL": redis_url,
        "GC_TEST_ROUTING": "bench.soak_routing.channel_routing",
        "GC_TEST_GENERIC_CONSUMERS": json.dumps({"GROUP_REFRESH_INTERVAL": 2}),
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="a tenth of the run")
    parser.add_argument("--seed", type=int, default=2026, help="for the fuzzed frames")
    parser.add_argument(
        "--logs",
        default=None,
        help="directory for the server logs (default: a new temporary one)",
    )
    parser.add_argument(
        "--no-compression",
        action="store_true",
        help="clients do not offer permessage-deflate",
    )
    parser.add_argument("--cycles", type=int, help="override the number of cycles")
    parser.add_argument("--frames", type=int, help="override the number of frames")
    args = parser.parse_args(argv)
    sizes = (
        Sizes(cycles=1000, frames=10_000, slow_messages=600)
        if args.quick
        else Sizes(cycles=10_000, frames=100_000, slow_messages=3000)
    )
    if args.no_compression:
        CLIENT_OPTIONS["compression"] = None
    sizes.cycles = args.cycles or sizes.cycles
    sizes.frames = args.frames or sizes.frames
    logs = args.logs or tempfile.mkdtemp(prefix="soak-")
    os.makedirs(logs, exist_ok=True)
    return asyncio.run(Soak(sizes, args.seed, logs).run())


if __name__ == "__main__":
    sys.exit(main())
