"""Process supervision for ``manage.py serve``: server and worker processes.

The supervisor binds the listening socket once (TCP or a UNIX socket) and hands its
descriptor to every server process, so N processes accept on one socket (as Uvicorn's
own ``--workers`` does); the kernel gives each connection to one of them. It also
starts the ``runworkers`` processes, restarts a child that dies, and on SIGTERM or
SIGINT asks every child once (SIGTERM) to finish what it is doing and waits for them
all: Uvicorn closes its sockets (code 1012) and lets their disconnect consumers run,
``runworkers`` lets in-flight messages finish. A child still alive after the grace
period is killed. Children run in their own session (a terminal's Ctrl-C reaches the
supervisor only, so no child sees two signals) and, on Linux, get SIGTERM if the
supervisor itself dies, so nothing is left behind even after ``kill -9``.

``python -m generic_consumers._serve SPEC`` is the server child's entry point.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

__all__ = ["Child", "Supervisor", "listening_socket", "server_child"]

# Seconds children get to finish after the stop signal, before SIGKILL: above
# Uvicorn's graceful timeout below and runworkers' 10 s drain.
GRACE = 30.0
SERVER_GRACEFUL_TIMEOUT = 15
# More restarts than this within RESTART_WINDOW seconds: the child is broken, not
# unlucky; everything stops and ``serve`` exits with an error.
MAX_RESTARTS = 5
RESTART_WINDOW = 60.0
POLL = 0.2


def listening_socket(bind: str | None, uds: str | None) -> socket.socket:
    """The socket every server process accepts on (``HOST:PORT`` or a UNIX path)."""
    if uds is not None:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(uds)  # a stale socket file from a previous run
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.bind(uds)
    else:
        host, port = split_bind(bind or "127.0.0.1:8000")
        family = socket.AF_INET6 if ":" in host else socket.AF_INET
        sock = socket.socket(family, socket.SOCK_STREAM)
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.bind((host, port))
    sock.listen(2048)
    sock.set_inheritable(True)
    return sock


def split_bind(bind: str) -> tuple[str, int]:
    host, sep, port = bind.rpartition(":")
    if not sep or not port.isdigit():
        raise ValueError(f"--bind {bind!r} is not HOST:PORT; try 127.0.0.1:8000")
    return host.strip("[]") or "0.0.0.0", int(port)


def _die_with_parent() -> None:
    """In the child, before exec: SIGTERM when the supervisor goes (Linux only)."""
    with contextlib.suppress(Exception):
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(1, signal.SIGTERM)  # PR_SET_PDEATHSIG


@dataclass
class Child:
    """One supervised process: ``argv`` is started again when it dies."""

    name: str
    argv: list[str]
    pass_fds: tuple[int, ...] = ()
    process: subprocess.Popen | None = None
    restarts: list[float] = field(default_factory=list)

    def start(self, env: dict[str, str]) -> None:
        self.process = subprocess.Popen(
            self.argv,
            env=env,
            pass_fds=self.pass_fds,
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,
        )

    @property
    def pid(self) -> int | None:
        return None if self.process is None else self.process.pid


class Supervisor:
    """Runs ``children`` until SIGTERM / SIGINT, then stops them all."""

    def __init__(
        self,
        children: list[Child],
        env: dict[str, str],
        log: Callable[[str], None],
        grace: float = GRACE,
    ) -> None:
        self.children = children
        self.env = env
        self.log = log
        self.grace = grace
        self._stop: int | None = None

    def _signalled(self, signum: int, frame: Any) -> None:
        self._stop = signum

    def run(self) -> int:
        """Start every child and supervise; the exit status for ``serve``."""
        previous = {
            sig: signal.signal(sig, self._signalled)
            for sig in (signal.SIGTERM, signal.SIGINT)
        }
        status = 0
        try:
            for child in self.children:
                child.start(self.env)
                self.log(f"Started {child.name} (pid {child.pid}).")
            while self._stop is None:
                if not self._watch():
                    status = 1
                    break
                time.sleep(POLL)
            else:
                self.log(f"{signal.Signals(self._stop).name}: stopping every process.")
        finally:
            self.stop()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return status

    def _watch(self) -> bool:
        """Restart children that died; False when one keeps dying."""
        now = time.monotonic()
        for child in self.children:
            process = child.process
            if process is None or process.poll() is None:
                continue
            child.restarts = [t for t in child.restarts if now - t < RESTART_WINDOW]
            if len(child.restarts) >= MAX_RESTARTS:
                self.log(
                    f"{child.name} exited with {process.returncode} "
                    f"{MAX_RESTARTS + 1} times within {RESTART_WINDOW:.0f} s; "
                    "stopping. Its output above says why."
                )
                return False
            child.restarts.append(now)
            self.log(f"{child.name} exited with {process.returncode}; restarting it.")
            child.start(self.env)
            self.log(f"Started {child.name} (pid {child.pid}).")
        return True

    def stop(self) -> None:
        """SIGTERM every live child once, wait up to ``grace``, then SIGKILL."""
        live = [c.process for c in self.children if c.process is not None]
        for process in live:
            if process.poll() is None:
                with contextlib.suppress(ProcessLookupError):
                    process.send_signal(signal.SIGTERM)
        deadline = time.monotonic() + self.grace
        for process in live:
            try:
                process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                self.log(f"pid {process.pid} did not stop in {self.grace} s; killed.")
                process.kill()
                process.wait()


def server_child(spec: dict[str, Any]) -> None:
    """One Uvicorn server on the inherited socket ``spec["fd"]`` (in the child)."""
    import uvicorn

    sock = socket.socket(fileno=spec["fd"])  # family detected from the descriptor
    config = uvicorn.Config(
        spec["app"],
        lifespan="on",
        ws=spec.get("ws", "auto"),
        log_level=spec.get("log_level", "info"),
        access_log=False,
        timeout_graceful_shutdown=SERVER_GRACEFUL_TIMEOUT,
    )
    uvicorn.Server(config).run(sockets=[sock])


if __name__ == "__main__":
    server_child(json.loads(sys.argv[1]))
