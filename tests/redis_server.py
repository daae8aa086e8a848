"""A real ``redis-server`` (and Django command processes) for tests/test_redis.py.

The server runs on a free loopback port with persistence off, so a restart forgets
everything, as a Redis without persistence does in production. Every process is
started and stopped by its own PID.
"""

from __future__ import annotations

import os
import resource
import shutil
import socket
import subprocess
import sys
import tempfile
import time

import pytest

from .servers import ROOT, end_process, free_port

INSTALL_HINT = "install it with: apt-get install redis-server"


def redis_binary() -> str:
    """The redis-server path; skips (or fails with REQUIRE_REDIS=1) when absent."""
    path = shutil.which("redis-server") or (
        "/usr/bin/redis-server" if os.path.exists("/usr/bin/redis-server") else None
    )
    if path is None:
        message = f"redis-server not found; {INSTALL_HINT}"
        if os.environ.get("REQUIRE_REDIS") == "1":
            pytest.fail(message + " (REQUIRE_REDIS=1 turns this skip into a failure)")
        pytest.skip(message)
    return path


def raise_open_files_limit(wanted: int = 8192) -> None:
    """Raise the soft RLIMIT_NOFILE (children inherit it) for many sockets."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = wanted if hard == resource.RLIM_INFINITY else min(wanted, hard)
    if soft != resource.RLIM_INFINITY and soft < target:
        resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))


def read_log(log) -> str:
    """What a child wrote so far to ``log``, without moving the shared file offset.

    (The child writes through a duplicate of the same descriptor: a seek here would
    make it overwrite its own output.)
    """
    fd = log.fileno()
    return os.pread(fd, os.fstat(fd).st_size, 0).decode(errors="replace")


class RedisServer:
    def __init__(self, port: int | None = None, *extra: str) -> None:
        self.binary = redis_binary()
        self.port = port or free_port()
        # More redis-server options, e.g. ("--replicaof", "127.0.0.1", "6379").
        self.extra = extra
        self.process: subprocess.Popen | None = None
        # Its working directory: a replica's full sync writes an RDB file there,
        # which must not land in the checkout.
        self.dir = tempfile.mkdtemp(prefix="gc-redis-")

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self, timeout: float = 15.0) -> RedisServer:
        os.makedirs(self.dir, exist_ok=True)
        self.process = subprocess.Popen(
            [
                self.binary,
                "--port",
                str(self.port),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--maxclients",
                "10000",
                "--dir",
                self.dir,
                *self.extra,
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(
                    f"redis-server exited with {self.process.returncode}"
                )
            try:
                with socket.create_connection(("127.0.0.1", self.port), 0.2) as sock:
                    sock.sendall(b"PING\r\n")
                    if sock.recv(16).startswith(b"+PONG"):
                        return self
            except OSError:
                pass
            time.sleep(0.05)
        self.stop()
        raise RuntimeError(f"redis-server did not answer on port {self.port}")

    def stop(self, sig: int | None = None) -> None:
        """Stop by PID: SIGTERM, or ``sig`` (SIGKILL: a crash, no goodbye)."""
        if self.process is not None:
            end_process(self.process, sig)
        self.process = None
        shutil.rmtree(self.dir, ignore_errors=True)

    def restart(self) -> None:
        self.stop()
        self.start()

    def client(self):
        import redis

        return redis.Redis(host="127.0.0.1", port=self.port)


class RedisSentinel:
    """A ``redis-sentinel`` watching one master (for Sentinel layer configs)."""

    def __init__(
        self,
        master_port: int,
        master_name: str,
        directory,
        *,
        quorum: int = 1,
        down_after_ms: int | None = None,
        failover_timeout_ms: int | None = None,
    ) -> None:
        # Debian ships redis-sentinel in a package of its own; redis-server runs as
        # a Sentinel just the same when it is given --sentinel.
        path = shutil.which("redis-sentinel")
        self.command = [path] if path else [redis_binary(), "--sentinel"]
        self.port = free_port()
        self.master_name = master_name
        # Sentinel rewrites its configuration file, so it gets its own.
        self.config = os.path.join(str(directory), f"sentinel-{self.port}.conf")
        with open(self.config, "w") as file:
            file.write(
                f"port {self.port}\nbind 127.0.0.1\ndaemonize no\n"
                f"sentinel monitor {master_name} 127.0.0.1 {master_port} {quorum}\n"
            )
            # Small values make a failover take seconds, not the default minutes.
            if down_after_ms is not None:
                file.write(
                    f"sentinel down-after-milliseconds {master_name} {down_after_ms}\n"
                )
            if failover_timeout_ms is not None:
                file.write(
                    f"sentinel failover-timeout {master_name} {failover_timeout_ms}\n"
                )
        self.process: subprocess.Popen | None = None

    def start(self, timeout: float = 15.0) -> RedisSentinel:
        import redis

        self.process = subprocess.Popen(
            [self.command[0], self.config, *self.command[1:]],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        client = redis.Redis(host="127.0.0.1", port=self.port, socket_timeout=0.5)
        deadline = time.monotonic() + timeout
        try:
            while time.monotonic() < deadline:
                if self.process.poll() is not None:
                    raise RuntimeError(
                        f"redis-sentinel exited with {self.process.returncode}"
                    )
                try:
                    if client.sentinel_get_master_addr_by_name(self.master_name):
                        return self
                except redis.RedisError:
                    pass
                time.sleep(0.05)
        finally:
            client.close()
        self.stop()
        raise RuntimeError(f"redis-sentinel did not answer on port {self.port}")

    def stop(self) -> None:
        if self.process is not None:
            end_process(self.process)
        self.process = None


class DjangoCommand:
    """``python -m django <args>`` with the test settings, output kept in a file."""

    def __init__(self, *args: str, env: dict[str, str] | None = None) -> None:
        self.args = args
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "PYTHONFAULTHANDLER": "1",
            **(env or {}),
        }
        self.process: subprocess.Popen | None = None

    def start(self) -> DjangoCommand:
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            [sys.executable, "-m", "django", *self.args],
            cwd=ROOT,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        return self

    def output(self) -> str:
        return read_log(self.log)

    def wait_for_output(self, text: str, timeout: float = 20.0) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if text in self.output():
                return
            if self.process is not None and self.process.poll() is not None:
                break
            time.sleep(0.1)
        raise RuntimeError(f"{self.args!r} never printed {text!r}:\n{self.output()}")

    def run(self, timeout: float = 30.0) -> str:
        """Run to completion; return the output (raise if it failed)."""
        self.start()
        assert self.process is not None
        code = self.process.wait(timeout)
        output = self.output()
        self.log.close()
        if code:
            raise RuntimeError(f"{self.args!r} exited with {code}:\n{output}")
        return output

    def alive(self) -> bool:
        return self.process is not None and self.process.poll() is None

    @property
    def pid(self) -> int:
        assert self.process is not None
        return self.process.pid

    def stop(self, sig: int | None = None) -> tuple[int | None, str]:
        """Stop by PID (SIGTERM unless ``sig``); return (exit code, output)."""
        if self.process is None:
            return None, ""
        code = end_process(self.process, sig, grace=20)
        self.process = None
        output = self.output()
        self.log.close()
        return code, output
