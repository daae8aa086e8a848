"""Real ASGI server processes for end-to-end tests: Daphne and Uvicorn on loopback."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def server_command(kind: str, app: str, port: int) -> list[str]:
    if kind == "daphne":
        return [sys.executable, "-m", "daphne", "-b", "127.0.0.1", "-p", str(port), app]
    if kind == "uvicorn":
        return [
            sys.executable,
            "-m",
            "uvicorn",
            app,
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--ws",
            "websockets",
            "--lifespan",
            "on",
            "--log-level",
            "warning",
        ]
    raise ValueError(f"unknown server {kind!r}")


def end_process(
    process: subprocess.Popen, sig: int | None = None, grace: float = 10.0
) -> int | None:
    """Stop ``process`` (one we started) by PID: ``sig`` (SIGTERM by default), then
    SIGKILL after ``grace`` seconds. Returns its exit code."""
    if process.poll() is None:
        if sig is None:
            process.terminate()
        else:
            process.send_signal(sig)
        try:
            process.wait(grace)
        except subprocess.TimeoutExpired:
            # Stuck: Python processes we start run with PYTHONFAULTHANDLER, so
            # SIGABRT writes every thread's stack to their log before they die.
            process.send_signal(signal.SIGABRT)
            try:
                process.wait(5)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(5)
    return process.returncode


class ServerProcess:
    """One server process; ``stop()`` ends it by PID (only what we started)."""

    def __init__(
        self,
        kind: str,
        app: str = "tests.asgi:application",
        port: int | None = None,
        env: dict[str, str] | None = None,
        cwd: Path = ROOT,
    ):
        self.kind = kind
        self.cwd = cwd
        self.app = app
        self.port = port or free_port()
        self.env = {
            **os.environ,
            "PYTHONPATH": str(ROOT),
            "DJANGO_SETTINGS_MODULE": "tests.settings",
            "PYTHONFAULTHANDLER": "1",
            **(env or {}),
        }
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"ws://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> ServerProcess:
        # A file, not a pipe: a chatty server can never block on a full pipe.
        self.log = tempfile.TemporaryFile()
        self.process = subprocess.Popen(
            server_command(self.kind, self.app, self.port),
            cwd=self.cwd,
            env=self.env,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"{self.kind} exited early:\n{self.stop()}")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.1)
        output = self.stop()
        raise RuntimeError(f"{self.kind} did not listen on {self.port}:\n{output}")

    def output(self) -> str:
        """What the process printed so far."""
        self.log.flush()
        position = self.log.tell()
        self.log.seek(0)
        text = self.log.read().decode(errors="replace")
        self.log.seek(position)
        return text

    def stop(self) -> str:
        """Stop the process (by its PID) and return what it printed."""
        if self.process is None:
            return ""
        end_process(self.process)
        self.process = None
        self.log.seek(0)
        output = self.log.read().decode(errors="replace")
        self.log.close()
        return output
