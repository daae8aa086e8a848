"""The counters of every process of the project, for an operator.

Each server and worker process publishes its counts to a file (see
``generic_consumers.runtime.counters``); this module adds them up. Two readers:

* ``manage.py socket_counters`` prints them (``--json`` for scripts);
* with ``prometheus_client`` installed (``pip install generic-consumers[metrics]``),
  :class:`CountersCollector` is registered in its default registry when Django
  starts, so whatever already exposes that registry (``django-prometheus``,
  ``prometheus_client.start_http_server``) shows ``generic_consumers_*`` metrics;
  :func:`metrics_view` is a ready view for a site with nothing else.
"""

from __future__ import annotations

import json
import os
import socket
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .runtime.counters import COUNTS, REASONS, alive, counters, counters_dir

__all__ = [
    "CountersCollector",
    "ProcessCounts",
    "metrics_view",
    "read_processes",
    "register",
    "totals",
]


@dataclass
class ProcessCounts:
    """What one process last published."""

    host: str
    pid: int
    updated: float
    running: bool  # False once it exited, or (on this host) when it is gone
    counts: dict[str, int] = field(default_factory=dict)
    refusals: dict[str, int] = field(default_factory=dict)

    @property
    def sockets_open(self) -> int:
        if not self.running:
            return 0
        return self.counts.get("sockets_opened", 0) - self.counts.get(
            "sockets_closed", 0
        )


def read_processes(directory: Path | None = None) -> list[ProcessCounts]:
    """Every process's last counts in ``directory`` (default: ``counters_dir()``)."""
    directory = counters_dir() if directory is None else directory
    host = socket.gethostname()
    found = []
    for path in sorted(directory.glob("*.json")):
        try:
            record = json.loads(path.read_text())
            pid = int(record["pid"])
        except (OSError, ValueError, KeyError, TypeError):
            continue  # not ours, or deleted as we read
        running = not record.get("exited") and (
            record.get("host") != host or alive(pid)
        )
        found.append(
            ProcessCounts(
                host=str(record.get("host")),
                pid=pid,
                updated=float(record.get("updated") or 0),
                running=running,
                counts={k: int(record.get("counts", {}).get(k, 0)) for k in COUNTS},
                refusals={
                    k: int(record.get("refusals", {}).get(k, 0)) for k in REASONS
                },
            )
        )
    return found


def _this_process(processes: list[ProcessCounts]) -> list[ProcessCounts]:
    """``processes`` with this process's entry replaced by its live counts."""
    host, pid = socket.gethostname(), os.getpid()
    snapshot = counters.snapshot()
    live = ProcessCounts(host, pid, 0.0, True, **snapshot)
    others = [p for p in processes if (p.host, p.pid) != (host, pid)]
    if any(snapshot["counts"].values()) or any(snapshot["refusals"].values()):
        others.append(live)
    return others


def totals(processes: list[ProcessCounts]) -> dict[str, Any]:
    """The counts of ``processes`` added up, with the sockets open now."""
    return {
        "processes": sum(p.running for p in processes),
        "sockets_open": sum(p.sockets_open for p in processes),
        "counts": {k: sum(p.counts[k] for p in processes) for k in COUNTS},
        "refusals": {k: sum(p.refusals[k] for p in processes) for k in REASONS},
    }


class CountersCollector:
    """A ``prometheus_client`` collector of the project's counters, all processes.

    ``this_process``: use this process's live counts rather than its last published
    file (a server process that serves the metrics view itself is never stale).
    """

    def __init__(
        self, directory: Path | None = None, *, this_process: bool = True
    ) -> None:
        self.directory = directory
        self.this_process = this_process

    def collect(self) -> Iterator[Any]:
        from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily

        processes = read_processes(self.directory)
        if self.this_process:
            processes = _this_process(processes)
        summed = totals(processes)
        yield GaugeMetricFamily(
            "generic_consumers_sockets_open",
            "WebSocket connections open now, all processes",
            value=summed["sockets_open"],
        )
        yield GaugeMetricFamily(
            "generic_consumers_processes",
            "Server and worker processes publishing counters",
            value=summed["processes"],
        )
        for name in COUNTS:
            yield CounterMetricFamily(
                f"generic_consumers_{name}",
                name.replace("_", " ").capitalize(),
                value=summed["counts"][name],
            )
        refused = CounterMetricFamily(
            "generic_consumers_refused",
            "Frames and sockets refused, by reason (each one logged too)",
            labels=["reason"],
        )
        for reason in REASONS:
            refused.add_metric([reason], summed["refusals"][reason])
        yield refused


_registered: list[Any] = []


def register(registry: Any = None) -> bool:
    """Register :class:`CountersCollector` once (in ``prometheus_client``'s default
    registry unless given one); False when ``prometheus_client`` is not installed."""
    try:
        from prometheus_client import REGISTRY
    except ImportError:
        return False
    registry = REGISTRY if registry is None else registry
    if registry not in _registered:
        registry.register(CountersCollector())
        _registered.append(registry)
    return True


def metrics_view(request: Any) -> Any:
    """A Django view that serves the default registry in Prometheus's text format:
    ``path("metrics/", metrics_view)``. Keep it off the public internet."""
    from django.http import HttpResponse
    from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, generate_latest

    register()
    return HttpResponse(generate_latest(REGISTRY), content_type=CONTENT_TYPE_LATEST)
