"""Mass disconnect: N sockets in one group on one server process close at once.

Used by tests/test_redis.py, and runnable to compare approaches (see
docs/topics/deployment.rst)::

    python -m tests.storm                        # ours, default settings
    python -m tests.storm --settings '{"MEMBERSHIP_CONCURRENCY": 100000,
                                       "MEMBERSHIP_RETRIES": 0}'   # unbounded
    python -m tests.storm --native               # a Channels 4 consumer

It prints how many memberships Redis still holds once the closes have settled.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import time

from websockets.asyncio.client import connect

from .redis_server import RedisServer, raise_open_files_limit
from .servers import ServerProcess

GROUP_KEY = "asgi:group:room-storm"


async def open_sockets(url: str, count: int, parallel: int = 50) -> list:
    limit = asyncio.Semaphore(parallel)

    async def one():
        async with limit:
            return await connect(url, open_timeout=30, close_timeout=30)

    return await asyncio.gather(*(one() for _ in range(count)))


async def close_all(sockets: list) -> None:
    await asyncio.gather(*(ws.close() for ws in sockets), return_exceptions=True)


def members(redis_client) -> int:
    return redis_client.zcard(GROUP_KEY)


async def wait_for_members(redis_client, wanted: int, timeout: float) -> int:
    """Poll until the group has ``wanted`` members, or stops changing for 5 s."""
    deadline = time.monotonic() + timeout
    last, since = -1, time.monotonic()
    while time.monotonic() < deadline:
        count = members(redis_client)
        if count == wanted:
            return count
        if count != last:
            last, since = count, time.monotonic()
        elif time.monotonic() - since > 5:
            return count
        await asyncio.sleep(0.1)
    return members(redis_client)


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sockets", type=int, default=1000)
    parser.add_argument("--server", default="uvicorn", choices=["uvicorn", "daphne"])
    parser.add_argument("--settings", default="{}", help="GENERIC_CONSUMERS (JSON)")
    parser.add_argument("--native", action="store_true", help="Channels 4 consumer")
    args = parser.parse_args()
    raise_open_files_limit()
    redis_server = RedisServer().start()
    env = {
        "GC_TEST_REDIS_URL": redis_server.url,
        "GC_TEST_GENERIC_CONSUMERS": args.settings,
    }
    app = "tests.native_asgi:application" if args.native else "tests.asgi:application"
    server = ServerProcess(args.server, app=app, env=env).start()
    try:
        client = redis_server.client()
        sockets = await open_sockets(server.url + "/room/storm/", args.sockets)
        joined = await wait_for_members(client, args.sockets, 30)
        started = time.monotonic()
        await close_all(sockets)
        left = await wait_for_members(client, 0, 60)
        took = time.monotonic() - started
    finally:
        output = server.stop()
        redis_server.stop()
    errors = [line for line in output.splitlines() if "Error" in line]
    print(
        json.dumps(
            {
                "server": args.server,
                "native": args.native,
                "settings": json.loads(args.settings),
                "joined": joined,
                "left_behind": left,
                "seconds": round(took, 2),
                "error_lines": len(errors),
                "first_error": errors[0] if errors else None,
            }
        )
    )


if __name__ == "__main__":
    asyncio.run(main())
