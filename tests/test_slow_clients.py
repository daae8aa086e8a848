"""A client that never reads cannot grow the server: the outbound bound, end to end.

Real Daphne and Uvicorn processes; the slow client is a raw TCP socket that does the
WebSocket handshake and then never reads again (a small receive buffer, so the kernel
absorbs little). The app sends it thousands of 20 KB group messages while a client
in the same group reads them all.
"""

from __future__ import annotations

import asyncio
import base64
import json
import os
import socket
import struct
from pathlib import Path

import pytest
from websockets.asyncio.client import connect

from .servers import ServerProcess

pytestmark = pytest.mark.e2e

BOUND = 1024 * 1024  # bytes: the server's MAX_OUTBOUND_BUFFER in these tests
MESSAGES = 3000
SIZE = 20_000
BATCH = 20  # the producer keeps this far ahead of the fast reader
LINE = "MAX_OUTBOUND_BUFFER"


def rss_bytes(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) * 1024
    raise AssertionError("no VmRSS")  # pragma: no cover - Linux only


class SilentClient:
    """Completes the handshake on ``path``, then never reads (until asked to)."""

    def __init__(self, port: int, path: str) -> None:
        self.sock = socket.socket()
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 4096)
        self.sock.settimeout(10)
        self.sock.connect(("127.0.0.1", port))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall(
            (
                f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\n"
                "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                f"Origin: http://127.0.0.1:{port}\r\n\r\n"
            ).encode()
        )
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(1)  # byte by byte: read nothing past the head
            assert chunk, head
            head += chunk
        assert head.startswith(b"HTTP/1.1 101"), head

    def read_to_end(self) -> int | None:
        """Read every frame the server still sends: the close code, or None if the
        connection ended without a close frame (dropped after its close timeout)."""
        buffer = b""

        def need(n: int) -> bytes:
            nonlocal buffer
            while len(buffer) < n:
                chunk = self.sock.recv(1 << 16)
                if not chunk:
                    raise EOFError
                buffer += chunk
            data, buffer = buffer[:n], buffer[n:]
            return data

        try:
            while True:
                first, second = need(2)
                length = second & 0x7F
                if length == 126:
                    (length,) = struct.unpack("!H", need(2))
                elif length == 127:
                    (length,) = struct.unpack("!Q", need(8))
                payload = need(length)
                if first & 0x0F == 0x8:  # a close frame
                    return struct.unpack("!H", payload[:2])[0] if payload else 1005
        except (EOFError, ConnectionResetError):
            return None
        finally:
            self.sock.close()


@pytest.fixture(params=["daphne", "uvicorn", "uvicorn+middleware"])
def server(request):
    settings: dict = {"MAX_OUTBOUND_BUFFER": BOUND}
    kind = request.param
    if kind.endswith("+middleware"):
        # Frame middleware wraps the server's send: the bound still sees the server.
        kind = kind.removesuffix("+middleware")
        settings["MIDDLEWARE"] = ["generic_consumers.middleware.MessageSizeMiddleware"]
    env = {"GC_TEST_GENERIC_CONSUMERS": json.dumps(settings)}
    process = ServerProcess(kind, env=env).start()
    yield process
    output = process.stop()
    assert "Traceback" not in output, output


async def flood(server: ServerProcess, room: str, count: int) -> list[int]:
    """Send ``count`` group messages of SIZE bytes through a producer, the producer
    keeping at most BATCH ahead of a fast member; returns the seqs it received."""
    got: list[int] = []
    async with (
        connect(f"{server.url}/flood/{room}/", open_timeout=5, max_size=None) as fast,
        connect(f"{server.url}/flood/{room}/producer/", open_timeout=5) as producer,
    ):
        for start in range(0, count, BATCH):
            for seq in range(start, min(start + BATCH, count)):
                await producer.send(json.dumps({"seq": seq, "size": SIZE}))
            while len(got) < min(start + BATCH, count):
                message = json.loads(await asyncio.wait_for(fast.recv(), 30))
                assert len(message["pad"]) == SIZE
                got.append(message["seq"])
        # The fast client is still in its group after the slow one was closed.
        await producer.send(json.dumps({"seq": -1, "size": 0}))
        assert json.loads(await asyncio.wait_for(fast.recv(), 30))["seq"] == -1
    return got


async def test_a_client_that_never_reads_is_closed_past_the_bound(server):
    pid = server.process.pid
    # Warm up the process (imports, first sockets) so growth is the slow client's.
    assert await flood(server, "warm", 200) == list(range(200))
    before = rss_bytes(pid)
    slow = SilentClient(server.port, "/flood/red/")
    try:
        got = await flood(server, "red", MESSAGES)
        grown = rss_bytes(pid) - before
        # Fast clients lose nothing, in order.
        assert got == list(range(MESSAGES))
        # 60 MB went to the silent client; the server held no more than a few bounds.
        assert grown < 20 * BOUND, f"the server grew by {grown / 1e6:.1f} MB"
        code = await asyncio.to_thread(slow.read_to_end)
    finally:
        slow.sock.close()
    # Closed with 1008 (policy; Daphne sends it as 4008, see replies.send_event), or
    # dropped after the server's close timeout.
    assert code in (1008, 4008, None), code
    output = server.output()
    # Daphne's root handler repeats each record with a timestamp: count the
    # project's own handler's lines (tests/settings.py), which every server has.
    lines = [x for x in output.splitlines() if x.startswith("Closing socket")]
    assert len(lines) == 1, output[-3000:]
    assert LINE in lines[0] and "'/flood/red/'" in lines[0] and "1008" in lines[0]
