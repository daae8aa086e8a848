"""``ChannelLiveServerTestCase``: tests against the project served by a real Daphne."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time
from typing import Any, ClassVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.db import connections
from django.test import TransactionTestCase

__all__ = ["ChannelLiveServerTestCase"]


def _free_port(host: str) -> int:
    with socket.socket() as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class ChannelLiveServerTestCase(TransactionTestCase):
    """Starts Daphne serving ``ASGI_APPLICATION`` in a subprocess, once per class.

    ``live_server_url`` (http) and ``live_server_ws_url`` (ws) point at it. The server
    uses the test database, which must therefore be a file (SQLite's default test
    database lives in memory: set ``DATABASES[...]["TEST"]["NAME"]``). Named channels
    are consumed by the server's in-process workers; the server and the test share
    channel layers only if they are out-of-process ones (Redis). Set ``routing`` to a
    dotted path to serve another routing than ``GENERIC_CONSUMERS["ROUTING"]``.
    """

    host: ClassVar[str] = "127.0.0.1"
    routing: ClassVar[str | None] = None
    startup_timeout: ClassVar[float] = 20.0

    _server: ClassVar[subprocess.Popen | None] = None
    _server_log: ClassVar[Any] = None
    _port: ClassVar[int] = 0

    @classmethod
    def _databases(cls) -> dict[str, str]:
        names = {}
        for alias in connections:
            connection = connections[alias]
            in_memory = getattr(connection, "is_in_memory_db", None)
            if in_memory is not None and in_memory():
                raise ImproperlyConfigured(
                    "ChannelLiveServerTestCase cannot share the in-memory test "
                    f"database {alias!r} with a server process; set "
                    f"DATABASES[{alias!r}]['TEST']['NAME'] to a file name."
                )
            names[alias] = str(connection.settings_dict["NAME"])
        return names

    @classmethod
    def _start_server(cls) -> None:
        cls._port = _free_port(cls.host)
        env = dict(os.environ)
        env["GC_LIVE_SERVER"] = json.dumps(
            {"databases": cls._databases(), "routing": cls.routing}
        )
        env["DJANGO_SETTINGS_MODULE"] = settings.SETTINGS_MODULE
        env["PYTHONPATH"] = os.pathsep.join(p for p in sys.path if p)
        cls._server_log = tempfile.TemporaryFile()
        cls._server = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "generic_consumers.test._live_server",
                cls.host,
                str(cls._port),
            ],
            env=env,
            stdout=cls._server_log,
            stderr=subprocess.STDOUT,
        )
        deadline = time.monotonic() + cls.startup_timeout
        while time.monotonic() < deadline:
            if cls._server.poll() is not None:
                break
            try:
                socket.create_connection((cls.host, cls._port), timeout=0.5).close()
                return
            except OSError:
                time.sleep(0.05)
        log = cls._stop_server()
        raise RuntimeError(f"The live server did not start on port {cls._port}:\n{log}")

    @classmethod
    def _stop_server(cls) -> str:
        server, cls._server = cls._server, None
        if server is not None:
            server.terminate()
            try:
                server.wait(5)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
        log = ""
        if cls._server_log is not None:
            cls._server_log.seek(0)
            log = cls._server_log.read().decode(errors="replace")[-4000:]
            cls._server_log.close()
            cls._server_log = None
        return log

    def __call__(self, result: Any = None) -> Any:
        # Started lazily, once the test database exists, and kept for the class.
        if type(self)._server is None:
            type(self)._start_server()
        return super().__call__(result)

    @classmethod
    def tearDownClass(cls) -> None:
        cls._stop_server()
        super().tearDownClass()

    @property
    def live_server_url(self) -> str:
        return f"http://{self.host}:{self._port}"

    @property
    def live_server_ws_url(self) -> str:
        return f"ws://{self.host}:{self._port}"
