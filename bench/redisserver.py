"""A throw-away ``redis-server`` on a free loopback port, for the Redis rows of (c)."""

from __future__ import annotations

import contextlib
import os
import shutil
import socket
import subprocess
import time
from collections.abc import Callable, Iterator
from typing import Any

from django.test import override_settings

from .apps import Unavailable
from .servers import free_port, stop


@contextlib.contextmanager
def redis_server() -> Iterator[str | None]:
    """Yield ``redis://127.0.0.1:<port>/0``, or None when no redis-server is installed.

    Nothing is persisted (``--save "" --appendonly no``); the process is stopped by its
    PID on the way out.
    """
    binary = shutil.which("redis-server")
    if binary is None and os.path.exists("/usr/bin/redis-server"):
        binary = "/usr/bin/redis-server"
    if binary is None:
        yield None
        return
    port = free_port()
    proc = subprocess.Popen(
        [
            binary,
            "--port",
            str(port),
            "--bind",
            "127.0.0.1",
            "--save",
            "",
            "--appendonly",
            "no",
        ],
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                    conn.sendall(b"PING\r\n")
                    if conn.recv(16).startswith(b"+PONG"):
                        break
            except OSError:
                pass
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError("redis-server did not start")
            time.sleep(0.05)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(proc)


def redis_host(url: str) -> dict[str, Any]:
    """A channels_redis host entry that survives redis-py 8.

    redis-py 8 gives every connection a 5 s socket timeout by default, the same as
    channels_redis's BZPOPMIN timeout, so an idle receive can fail with "Timeout
    reading from ..."; no socket timeout restores redis-py 5's behaviour. Its pools
    also stop at 100 connections and then fail (``MaxConnectionsError``) instead of
    waiting, which a burst of connecting sockets reaches; the bench allows more.
    """
    return {"address": url, "socket_timeout": None, "max_connections": 2000}


def layer_switch(url: str | None) -> Callable[[], Any]:
    """A context-manager factory that points ``CHANNEL_LAYERS`` at ``url``."""

    def switch() -> Any:
        if url is None:
            raise Unavailable("redis-server not found; apt-get install redis-server")
        return override_settings(
            CHANNEL_LAYERS={
                "default": {
                    "BACKEND": "channels_redis.core.RedisChannelLayer",
                    "CONFIG": {"hosts": [redis_host(url)]},
                }
            }
        )

    return switch
