"""``manage.py inspect_routing``: print the routing table."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from ...conf import get_settings
from ...routing import Router
from ...runtime.placement import is_async_consumer


def consumer_path(consumer: Any) -> str:
    """``module.qualname`` of a consumer (function, class or bound classmethod)."""
    module = getattr(consumer, "__module__", None)
    name = getattr(consumer, "__qualname__", None)
    if module and name:
        return f"{module}.{name}"
    return repr(consumer)


def routing_table(router: Router, in_process_workers: bool) -> list[dict[str, str]]:
    """One row per (route, channel), in matching order."""
    rows = []
    for prefixes, leaf in router.root.routes():
        filters = " ".join(
            [f"include({prefix})" for prefix in prefixes]
            + [f"{key}={regex.pattern!r}" for key, regex in leaf.filters]
        )
        for channel in sorted(leaf.channels):
            if channel.startswith("websocket."):
                runs = "socket"
            elif in_process_workers:
                runs = "in-process worker"
            else:
                runs = f"needs a worker: runworkers --only-channels {channel}"
            rows.append(
                {
                    "channel": channel,
                    "filters": filters or "-",
                    "consumer": consumer_path(leaf.consumer),
                    "kind": "async" if is_async_consumer(leaf.consumer) else "sync",
                    "runs": runs,
                }
            )
    return rows


class Command(BaseCommand):
    help = (
        "Print the routing table: channel, filters (include prefixes first), "
        "consumer, sync/async, and where it is consumed."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--routing",
            help="Dotted path of the routing (default: GENERIC_CONSUMERS['ROUTING']).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        settings = get_settings()
        routing = options["routing"] or settings["ROUTING"]
        if routing is None:
            raise CommandError(
                "No routing: set GENERIC_CONSUMERS['ROUTING'] or pass --routing."
            )
        try:
            router = Router(routing)
        except Exception as exc:
            raise CommandError(f"Cannot load the routing {routing!r}: {exc}") from exc
        rows = routing_table(router, settings["IN_PROCESS_WORKERS"])
        columns = ["channel", "filters", "consumer", "kind", "runs"]
        widths = {
            c: max([len(c)] + [len(row[c]) for row in rows]) for c in columns[:-1]
        }

        def line(values: dict[str, str]) -> str:
            cells = [values[c].ljust(widths[c]) for c in columns[:-1]]
            return "  ".join([*cells, values["runs"]]).rstrip()

        self.stdout.write(line({c: c.upper() for c in columns}))
        for row in rows:
            self.stdout.write(line(row))
        if not rows:
            self.stdout.write("(no routes)")
