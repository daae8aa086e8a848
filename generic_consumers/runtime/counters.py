"""What this process has done, counted, and published for an operator to read.

The runtime counts as it goes (sockets, frames, refusals by reason, layer failures,
group operations) in :data:`counters`, one set per process. A server runs several
processes (``manage.py serve --workers N``, ``runworkers``), and the reader (a
Prometheus scrape, ``manage.py socket_counters``) is yet another one, so every
process writes its counts to a small JSON file of its own in :func:`counters_dir`,
every ``COUNTERS_INTERVAL`` seconds, from a daemon thread (:data:`publisher`): the
event loop never touches the disk. ``generic_consumers.metrics`` reads the files.

Counting is a dict increment (under a lock, except for the per-frame counts bumped
by the event loop alone): no I/O, nothing a socket waits for.
"""

from __future__ import annotations

import atexit
import json
import logging
import os
import socket
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from ..conf import get_settings

__all__ = ["COUNTS", "REASONS", "Counters", "counters", "counters_dir", "publisher"]

logger = logging.getLogger("generic_consumers.counters")

# Monotonic counts (Prometheus counters); ``sockets_open`` is opened - closed.
COUNTS = (
    "sockets_opened",  # WebSocket connections the runtime took on (at the handshake)
    "sockets_closed",  # ... and let go of, however they ended
    "frames_received",  # inbound text/bytes frames
    "frames_sent",  # outbound text/bytes frames handed to the server
    "consumer_errors",  # consumers (and stream consumers) that raised
    "layer_failures",  # channel layer operations that failed and were retried
    "layer_given_up",  # operations the layer failed for good (logged with the name)
    "channel_full_dropped",  # dropped: the channel stayed full (or a mailbox was)
    "group_adds",
    "group_discards",
    "group_sends",
)
# Why a frame or a socket was refused: one count per refusal, each also logged.
REASONS = (
    "frame_too_large",  # MAX_FRAME_SIZE, or MessageSizeMiddleware inbound
    "invalid_frame",  # not JSON, not the demultiplexer's shape, unknown stream
    "unrouted",  # no route for the path or the channel
    "origin",  # the handshake's Origin (or its absence) was refused
    "handshake_timeout",  # nothing accepted or rejected within CONNECT_TIMEOUT
    "outbound_buffer",  # a client that does not read: MAX_OUTBOUND_BUFFER
    "rate_limit",  # RateLimitMiddleware
    "outbound_too_large",  # MessageSizeMiddleware max_outbound_bytes
)


class Counters:
    """The counts of one process; safe to bump from the loop and from threads."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.counts = dict.fromkeys(COUNTS, 0)
        self.refusals = dict.fromkeys(REASONS, 0)

    def add(self, name: str, n: int = 1) -> None:
        with self._lock:
            self.counts[name] += n

    def bump(self, name: str) -> None:
        """``add(name)`` without the lock, for the per-frame counts: only the event
        loop's thread bumps those (one loop per server process), and the lock would
        be most of their cost. A snapshot may miss a bump in flight, never lose one."""
        self.counts[name] += 1

    def refused(self, reason: str) -> None:
        with self._lock:
            self.refusals[reason] += 1

    def snapshot(self) -> dict[str, Any]:
        """Plain dicts, copied: what the publisher writes and a reader sums."""
        with self._lock:
            return {"counts": dict(self.counts), "refusals": dict(self.refusals)}


counters = Counters()


def counters_dir() -> Path:
    """Where the processes of this project write their counts.

    ``COUNTERS_DIR`` if set; otherwise one directory per user and settings module
    under the system's temporary directory, so two projects on one machine never
    add up each other's counts.
    """
    configured = get_settings()["COUNTERS_DIR"]
    if configured:
        return Path(configured)
    project = os.environ.get("DJANGO_SETTINGS_MODULE") or "default"
    user = os.getuid() if hasattr(os, "getuid") else "user"
    return Path(tempfile.gettempdir()) / f"generic_consumers-{user}" / project


class Publisher:
    """Writes :data:`counters` to ``<counters_dir>/<host>-<pid>.json``, atomically,
    every ``COUNTERS_INTERVAL`` seconds (0: never), and once more at exit."""

    def __init__(self) -> None:
        self._started: float | None = None
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self.path: Path | None = None

    def start(self) -> None:
        """Start publishing, once per process; a no-op when the interval is 0."""
        with self._lock:
            if self._started is not None:
                return
            interval = get_settings()["COUNTERS_INTERVAL"]
            if not interval:
                return
            self._started = time.time()
            directory = counters_dir()
            try:
                directory.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                logger.warning("Cannot publish counters in %s: %s", directory, exc)
                return
            forget_dead_processes(directory)
            self.path = directory / f"{socket.gethostname()}-{os.getpid()}.json"
        self.write()
        self._thread = threading.Thread(
            target=self._run, args=(interval,), name="counters", daemon=True
        )
        self._thread.start()
        atexit.register(self.stop)

    def _run(self, interval: float) -> None:
        while not self._stopping.wait(interval):
            self.write()

    def stop(self) -> None:
        """Write a last time, marked exited, and stop (at exit, or in tests)."""
        if self._thread is None:
            return
        atexit.unregister(self.stop)
        self._stopping.set()
        self._thread.join()
        self._thread = None
        self.write(exited=True)

    def write(self, exited: bool = False) -> None:
        if self.path is None:
            return
        record = {
            "host": socket.gethostname(),
            "pid": os.getpid(),
            "started": self._started,
            "updated": time.time(),
            "exited": exited,
            **counters.snapshot(),
        }
        partial = self.path.with_suffix(".tmp")
        try:
            partial.write_text(json.dumps(record))
            partial.replace(self.path)  # a reader never sees half a file
        except OSError as exc:
            logger.warning("Cannot publish counters in %s: %s", self.path, exc)


def forget_dead_processes(directory: Path) -> None:
    """Delete the files of processes of this host that are gone.

    Their counts drop out of the totals: a counter that goes down is a restart to
    Prometheus (``rate()`` handles it), while files that outlive every restart
    would pile up forever.
    """
    host = socket.gethostname()
    for path in directory.glob(f"{host}-*.json"):
        pid = path.stem.rpartition("-")[2]
        if pid.isdigit() and not alive(int(pid)):
            path.unlink(missing_ok=True)


def alive(pid: int) -> bool:
    """Whether a process ``pid`` runs on this host (signal 0 only asks)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's, but there
    return True


publisher = Publisher()
