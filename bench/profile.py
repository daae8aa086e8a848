"""Keep one row busy in-process, to profile where its time goes.

``python -m bench.profile gc-sync`` runs 100 concurrent sockets doing round trips for
a few seconds under pyinstrument and prints its report (the event loop's thread only:
sync consumers' threads are not in it). For every thread, attach a sampling profiler
instead, e.g. ``py-spy record -o profile.svg -- python -m bench.profile gc-sync
--no-pyinstrument``.
"""

from __future__ import annotations

import argparse
import asyncio
import time

from .apps import APPS_BY_KEY
from .driver import Socket


async def _busy(key: str, seconds: float, sockets: int) -> int:
    spec = APPS_BY_KEY[key]
    app, frame = spec.build(), spec.frame
    conns = [Socket(app) for _ in range(sockets)]
    await asyncio.gather(*(s.connect() for s in conns))
    spec.check(await conns[0].round_trip(frame))
    until = time.perf_counter() + seconds

    async def loop(sock: Socket) -> int:
        count = 0
        while time.perf_counter() < until:
            await sock.round_trip(frame)
            count += 1
        return count

    total = sum(await asyncio.gather(*(loop(s) for s in conns)))
    await asyncio.gather(*(s.close() for s in conns))
    return total


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.profile")
    parser.add_argument("key", choices=sorted(APPS_BY_KEY))
    parser.add_argument("--seconds", type=float, default=5.0)
    parser.add_argument("--sockets", type=int, default=100)
    parser.add_argument("--no-pyinstrument", action="store_true")
    args = parser.parse_args()
    run = lambda: asyncio.run(_busy(args.key, args.seconds, args.sockets))  # noqa: E731
    if args.no_pyinstrument:
        total = run()
    else:
        from pyinstrument import Profiler

        profiler = Profiler(interval=0.0005)
        profiler.start()
        total = run()
        profiler.stop()
        print(profiler.output_text(unicode=True, color=False, show_all=False))
    print(f"{args.key}: {total} round trips in {args.seconds} s")


if __name__ == "__main__":
    main()
