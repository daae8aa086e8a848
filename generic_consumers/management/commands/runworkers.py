"""``manage.py runworkers``: consume the routing's named channels in this process.

The 1.x ``runworker`` behaviour (every routed channel that is not ``websocket.*``,
narrowed with ``--only-channels`` / ``--exclude-channels``), on the resilient loop the
server processes use: a Redis outage or restart is waited out, not fatal.
"""

from __future__ import annotations

import asyncio
import fnmatch
import signal
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...asgi import RoutingApplication
from ...layers import channel_layers
from ...runtime.counters import publisher
from ...runtime.named import close as close_queues

# Seconds messages already being handled get to finish after SIGTERM / SIGINT.
DRAIN_TIMEOUT = 10.0


def select_channels(
    channels: list[str], only: list[str], exclude: list[str]
) -> list[str]:
    """Apply the ``--only-channels`` / ``--exclude-channels`` fnmatch patterns."""
    if only:
        channels = [c for c in channels if any(fnmatch.fnmatchcase(c, p) for p in only)]
    return [c for c in channels if not any(fnmatch.fnmatchcase(c, p) for p in exclude)]


class Command(BaseCommand):
    help = (
        "Run workers for every named (non-websocket) channel of "
        "GENERIC_CONSUMERS['ROUTING'] until SIGTERM or SIGINT."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--layer",
            default=None,
            help="Channel layer alias (default: GENERIC_CONSUMERS['CHANNEL_LAYER']).",
        )
        parser.add_argument(
            "--only-channels",
            action="append",
            default=[],
            metavar="GLOB",
            help="Consume only channels matching this pattern (repeatable).",
        )
        parser.add_argument(
            "--exclude-channels",
            action="append",
            default=[],
            metavar="GLOB",
            help="Do not consume channels matching this pattern (repeatable).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        app = RoutingApplication(layer=options["layer"])
        routed = app.named_channels()
        channels = select_channels(
            routed, options["only_channels"], options["exclude_channels"]
        )
        if not channels:
            raise CommandError(
                "No channels to consume: the routing has named channels "
                f"{routed!r}, and --only-channels / --exclude-channels left none."
            )
        alias = options["layer"] or app.settings["CHANNEL_LAYER"]
        if alias not in channel_layers:
            raise CommandError(f"No channel layer {alias!r} in CHANNEL_LAYERS.")
        if channel_layers[alias].local_only():
            # 1.x refused too: an in-memory layer lives in one process, so a worker
            # process could never see what the server processes send.
            raise CommandError(
                f"Channel layer {alias!r} is in-memory: a separate worker process "
                "cannot see the server's messages. Use channels_redis for dedicated "
                "workers, or keep GENERIC_CONSUMERS['IN_PROCESS_WORKERS'] on."
            )
        asyncio.run(self._run(app, channels, alias))
        self.stdout.write("Workers stopped.")

    async def _run(
        self, app: RoutingApplication, channels: list[str], alias: str
    ) -> None:
        loop = asyncio.get_running_loop()
        stop = asyncio.Event()
        for sig in (signal.SIGTERM, signal.SIGINT):
            loop.add_signal_handler(sig, stop.set)
        # Announced only now: a supervisor (or a test) that signals as soon as it
        # reads this line must reach our handlers, not the default ones.
        self.stdout.write(
            f"Running workers on layer {alias!r} for channels: {', '.join(channels)}"
        )
        self.stdout.flush()
        tasks = app.worker_tasks(channels, drain_timeout=DRAIN_TIMEOUT)
        publisher.start()
        await stop.wait()
        # Cancel until every worker is gone: a client library may swallow one
        # cancellation (asyncio's timeout race), and a worker must never outlive its
        # stop signal. Each worker gives in-flight messages DRAIN_TIMEOUT to finish.
        pending = set(tasks)
        while pending:
            for task in pending:
                task.cancel()
            _, pending = await asyncio.wait(pending, timeout=DRAIN_TIMEOUT + 1)
        await close_queues()
