"""Named channels on Redis Streams: each message handled by one reader, however many.

channels_redis cannot promise that. ``RedisChannelLayer.receive`` shares one
in-flight backup list among every reader of a channel, and each reader's clean-up
puts the others' messages back (duplicates); the pub/sub layer gives every message
to every subscribed process and drops what is sent while nobody listens. Here a
channel is a Redis stream read through one consumer group (the scripts are in
:mod:`.queue_scripts`):

- **One reader per message**: every reader is a consumer of the channel's group, and
  the group hands each entry to one of them.
- **FIFO per channel**: entries are handed out in the order they were sent (only a
  redelivery jumps the line).
- **Capacity** (the layer's ``capacity`` / ``channel_capacity``) counts the entries
  waiting plus those handed out but not yet acknowledged; the check and the add are
  one script, so concurrent senders cannot overshoot. A send beyond it raises
  ``ChannelFull`` (the runtime's sender waits for room first, as on the layer).
- **Expiry** (the layer's ``expiry``): an entry older than that is dropped when read,
  or at the next send; drops are counted in :attr:`StreamQueue.expired` and logged
  at most once per channel per ten seconds.
- **At most once** (``redeliver_after=None``, as 1.x): an entry leaves Redis when it
  is handed out, so a reader killed mid-message never sees it again.
- **Redeliver once** (``redeliver_after=seconds``): the entry stays until
  :meth:`StreamQueue.ack`; one unacknowledged for longer is claimed by another reader
  and delivered once more, never a third time.

Use one :class:`StreamQueue` per event loop (redis-py's connections belong to one).
"""

from __future__ import annotations

import fnmatch
import logging
import os
import re
import secrets
import socket
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import msgpack
from channels.exceptions import ChannelFull
from channels_redis.utils import _consistent_hash, create_pool, decode_hosts
from redis import asyncio as aioredis
from redis.exceptions import NoScriptError, ResponseError

from . import queue_scripts as lua
from .logs import Throttle

__all__ = ["Delivery", "StreamQueue"]

logger = logging.getLogger("generic_consumers")

GROUP = "generic_consumers"
# An entry read but never settled (its reader died between the two steps) goes to
# another reader after this long in at-most-once mode: nobody has run it.
RESCUE_AFTER = 5.0
BLOCK = 1.0  # seconds one blocking read waits before the reader looks again
# A reader that holds nothing and has not read for this long is a dead process's:
# the next reader to close removes it from the group.
STALE_READER_MS = 3_600_000
_dropped = Throttle(burst=1, window=10.0)


@dataclass(frozen=True)
class Delivery:
    """A message handed to this reader; give it back to :meth:`StreamQueue.ack`."""

    channel: str
    message: dict[str, Any]  # what was sent: the runtime's envelope dict
    entry_id: str
    deliveries: int  # 2 for a redelivery
    pending: bool = field(default=False)  # still in Redis until acknowledged


class StreamQueue:
    """Named channels on Redis Streams (the module docstring lists the promises).

    ``hosts`` takes the layer's ``CONFIG["hosts"]`` forms (URLs, pairs, keyword dicts,
    Sentinel dicts); a channel lives on one of them, picked by a hash of its name.
    """

    def __init__(
        self,
        hosts: Any = None,
        *,
        prefix: str = "asgi",
        capacity: int = 100,
        channel_capacity: dict[Any, int] | None = None,
        expiry: float = 60,
        redeliver_after: float | None = None,
        symmetric_encryption_keys: Any = None,
        max_connections: int = 200,
        consumer: str | None = None,
    ) -> None:
        if redeliver_after is not None and not 0 < redeliver_after < expiry:
            raise ValueError(
                f"redeliver_after={redeliver_after!r} must be above 0 and below the "
                f"layer's expiry ({expiry!r} s): an expired message is dropped, so a "
                "later claim could never redeliver it."
            )
        self.prefix = f"{prefix}:stream:"
        self.capacity = capacity
        self._capacities = [
            # glob strings or compiled patterns, as channels_redis reads them
            (p if hasattr(p, "match") else re.compile(fnmatch.translate(p)), n)
            for p, n in (channel_capacity or {}).items()
        ]
        self.expiry_ms = int(expiry * 1000)
        self.ttl_ms = max(2 * self.expiry_ms, 120_000)
        self.mode = "once" if redeliver_after is None else "twice"
        self.idle_ms = int(1000 * (redeliver_after or RESCUE_AFTER))
        self.consumer = consumer or (
            f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"
        )
        self.read: set[str] = set()  # channels polled: left on close
        self.expired: Counter[str] = Counter()
        self.given_up: Counter[str] = Counter()
        self._serializer = None
        if symmetric_encryption_keys:
            from channels_redis.serializers import registry

            self._serializer = registry.get_serializer(
                "msgpack", symmetric_encryption_keys=symmetric_encryption_keys
            )
        self._clients = []
        for host in decode_hosts(hosts):
            host = {"max_connections": max_connections, **host}
            self._clients.append(aioredis.Redis(connection_pool=create_pool(host)))

    # -- sending -----------------------------------------------------------------------

    async def send(self, channel: str, message: dict[str, Any]) -> None:
        """Queue ``message`` on ``channel`` now; ChannelFull when it is at capacity."""
        key, client = self._locate(channel)
        capacity = self.capacity_for(channel)
        args = [GROUP, capacity, self.expiry_ms, self.ttl_ms, self._encode(message)]
        added, trimmed = await self._run(client, lua.SEND, key, args)
        self._count_expired(channel, trimmed)
        if not added:
            raise ChannelFull(
                f"Named channel {channel!r} is full ({capacity} messages waiting or "
                "being handled). Is a worker consuming it? Raise its capacity "
                "(the layer's channel_capacity) or add workers."
            )

    def capacity_for(self, channel: str) -> int:
        for pattern, capacity in self._capacities:
            if pattern.match(channel):
                return capacity
        return self.capacity

    # -- reading -----------------------------------------------------------------------

    async def poll(self, channel: str, wait: float = BLOCK) -> Delivery | None:
        """The next message on ``channel``, or None after about ``wait`` seconds.

        Cancelling it is safe: a message the server handed out as the wait was
        cancelled is still pending, and is rescued by a reader after RESCUE_AFTER
        (or ``redeliver_after``) seconds.
        """
        key, client = self._locate(channel)
        self.read.add(channel)
        args = [GROUP, self.consumer, self.mode, self.idle_ms, self.expiry_ms]
        found, expired, given_up, *entry = await self._run(
            client, lua.TAKE, key, [*args, self.ttl_ms]
        )
        self._count_expired(channel, expired)
        if given_up:
            self.given_up[channel] += given_up
            logger.warning(
                "Gave up on %d message(s) on named channel %r: delivered twice, and "
                "neither delivery was acknowledged within REDELIVER_AFTER.",
                given_up,
                channel,
            )
        if found:
            eid, payload, deliveries = entry
            return self._delivery(channel, eid, payload, int(deliveries))
        return await self._wait(channel, key, client, wait)

    async def ack(self, delivery: Delivery) -> None:
        """Call when the handler of ``delivery`` finished, however it finished.

        Only redeliver-once mode has anything to do: the entry leaves Redis now
        instead of being delivered again after ``redeliver_after``.
        """
        if delivery.pending:
            key, client = self._locate(delivery.channel)
            args = [GROUP, self.consumer, delivery.entry_id]
            await self._run(client, lua.ACK, key, args)

    async def close(self) -> None:
        """Leave the groups of the channels read (unless holding a message), and
        close the connection pools."""
        for channel in sorted(self.read):
            key, client = self._locate(channel)
            args = [GROUP, self.consumer, STALE_READER_MS]
            try:
                await self._run(client, lua.FORGET, key, args)
            except Exception as exc:  # Redis is down: the next close prunes us
                logger.debug("Could not leave the group of %r: %r", channel, exc)
        for client in self._clients:
            await client.aclose(close_connection_pool=True)

    async def _wait(self, channel: str, key: str, client: Any, wait: float):
        command: list[Any] = ["XREADGROUP", "GROUP", GROUP, self.consumer, "COUNT", 1]
        command += ["BLOCK", max(1, int(wait * 1000)), "STREAMS", key, ">"]
        try:
            reply = await client.execute_command(*command)
        except ResponseError as exc:  # the idle key expired, or was deleted
            if "NOGROUP" in str(exc) or "UNBLOCKED" in str(exc):
                return None
            raise
        if not reply:
            return None
        # [[key, [(id, fields)]]] over RESP2, {key: [[(id, fields)]]} over RESP3
        entries = list(reply.values())[0][0] if isinstance(reply, dict) else reply[0][1]
        eid, fields = entries[0]
        eid = eid.decode() if isinstance(eid, bytes) else eid
        args = [GROUP, self.consumer, self.mode, eid, self.expiry_ms]
        status = await self._run(client, lua.SETTLE, key, args)
        if status == 2:
            self._count_expired(channel, 1)
        if status != 1:
            return None
        return self._delivery(channel, eid, fields[b"d"], 1)

    # -- helpers -----------------------------------------------------------------------

    def _locate(self, channel: str) -> tuple[str, Any]:
        if not isinstance(channel, str) or not channel or "!" in channel:
            raise ValueError(
                f"{channel!r} is not a named channel; reply channels (with '!') go "
                "through the channel layer."
            )
        client = self._clients[_consistent_hash(channel, len(self._clients))]
        return self.prefix + channel, client

    async def _run(self, client: Any, script: lua.Script, key: str, args: list) -> Any:
        try:
            return await client.evalsha(script.sha, 1, key, *args)
        except NoScriptError:
            # A fresh server (a restart, a failover) has an empty script cache.
            return await client.eval(script.source, 1, key, *args)

    def _encode(self, message: dict[str, Any]) -> bytes:
        if self._serializer is not None:
            return self._serializer.serialize(message)
        return msgpack.packb(message, use_bin_type=True)

    def _delivery(self, channel: str, eid: Any, payload: bytes, n: int) -> Delivery:
        if self._serializer is not None:
            message = self._serializer.deserialize(payload)
        else:
            message = msgpack.unpackb(payload, raw=False, strict_map_key=False)
        eid = eid.decode() if isinstance(eid, bytes) else str(eid)
        return Delivery(channel, message, eid, n, pending=self.mode == "twice")

    def _count_expired(self, channel: str, count: int) -> None:
        if count:
            self.expired[channel] += count
            _dropped.log(
                logger,
                logging.WARNING,
                channel,
                "Dropped %d expired message(s) on named channel %r (older than the "
                "layer's expiry, %s s). Is a worker consuming it, and keeping up?",
                count,
                channel,
                self.expiry_ms / 1000,
            )
