"""``manage.py socket_counters``: what the server and worker processes counted.

Reads the files each process publishes every ``COUNTERS_INTERVAL`` seconds (see
``generic_consumers.metrics``): one row per process, then the totals.
"""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from ...metrics import ProcessCounts, read_processes, totals
from ...runtime.counters import COUNTS, REASONS, counters_dir


class Command(BaseCommand):
    help = (
        "Print the counters of every server and worker process of this project "
        "(sockets, frames, refusals by reason, layer failures, group operations)."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--json",
            action="store_true",
            help="Print the processes and totals as JSON.",
        )
        parser.add_argument(
            "--dir",
            default=None,
            help="Read this directory (default: GENERIC_CONSUMERS['COUNTERS_DIR']).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        directory = Path(options["dir"]) if options["dir"] else counters_dir()
        processes = read_processes(directory) if directory.is_dir() else []
        summed = totals(processes)
        if options["json"]:
            self.stdout.write(
                json.dumps(
                    {
                        "directory": str(directory),
                        "processes": [vars(p) for p in processes],
                        "totals": summed,
                    },
                    indent=2,
                )
            )
            return
        if not processes:
            self.stdout.write(
                f"No counters in {directory}: no server or worker process has "
                "published any (is COUNTERS_INTERVAL 0, or COUNTERS_DIR another "
                "directory?)."
            )
            return
        self.stdout.write(f"Counters in {directory}:")
        for process in processes:
            self.stdout.write(_process_line(process))
        self.stdout.write(
            f"total: {summed['processes']} running, {summed['sockets_open']} sockets "
            "open"
        )
        width = max(map(len, COUNTS + REASONS)) + 2
        for name in COUNTS:
            self.stdout.write(f"  {name:<{width}}{summed['counts'][name]}")
        for reason in REASONS:
            self.stdout.write(
                f"  {'refused ' + reason:<{width + 8}}{summed['refusals'][reason]}"
            )


def _process_line(process: ProcessCounts) -> str:
    state = "running" if process.running else "gone"
    age = max(0.0, time.time() - process.updated)
    return (
        f"  {process.host} pid {process.pid} ({state}, published {age:.0f} s ago): "
        f"{process.sockets_open} sockets open, "
        f"{process.counts['frames_received']} frames in, "
        f"{process.counts['frames_sent']} out"
    )
