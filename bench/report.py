"""Rows, ratios, the Markdown tables on stdout and ``bench/results.json``.

Every figure is reported with two ratios measured in the same run: divided by the
floor's figure (the raw ASGI app) and divided by the matching Channels 4 row's. A
ratio is always "this row ÷ that row" of the same figure, so for times, CPU and
memory below 1 is better, for round trips per second above 1 is better.
"""

from __future__ import annotations

import json
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

FLOOR = "raw"


@dataclass
class Row:
    part: str  # "a" to "e"
    scenario: str  # becomes the table (parts b, c) or the column (parts a, d)
    app: str
    label: str
    reference: str | None
    metric: str  # a short column name: "time", "rt/s", "p50", "p99", "cpu", "rss"
    unit: str
    value: float | None
    note: str | None = None
    vs_floor: float | None = None
    vs_channels4: float | None = None


PART_TITLES = {
    "a": "(a) In-process: the app driven through two asyncio queues",
    "b": "(b) Over sockets: separate server and client processes, loopback",
    "c": "(c) Group fan-out, in-process sockets",
    "d": "(d) Server memory per idle socket (Uvicorn)",
    "e": "(e) Named-channel round trips through Redis, by worker processes",
}
# Parts whose scenarios are columns of one table (the others get a table each).
COLUMN_PARTS = ("a", "d", "e")


def add_ratios(rows: list[Row]) -> None:
    index = {(r.part, r.scenario, r.metric, r.app): r for r in rows}
    for row in rows:
        if row.value is None:
            continue
        floor = index.get((row.part, row.scenario, row.metric, FLOOR))
        if floor is not None and floor.value:
            row.vs_floor = row.value / floor.value
        if row.reference:
            ref = index.get((row.part, row.scenario, row.metric, row.reference))
            if ref is not None and ref.value:
                row.vs_channels4 = row.value / ref.value


def _number(value: float) -> str:
    if abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 10:
        return f"{value:.1f}"
    return f"{value:.2f}"


def _ratio(value: float | None) -> str:
    return "–" if value is None else f"{value:.2f}×"


def _cell(row: Row | None, notes: list[str]) -> str:
    if row is None:
        return ""
    if row.value is None:
        note = row.note or "n/a"
        if note not in notes:
            notes.append(note)
        return f"{note.split(' ')[0].rstrip(':')} [{notes.index(note) + 1}]"
    return f"{_number(row.value)} ({_ratio(row.vs_floor)}, {_ratio(row.vs_channels4)})"


def _tables(rows: list[Row]) -> list[tuple[str, list[str], list[Row]]]:
    """(title, columns, rows) per table: a and d have scenarios as columns."""
    tables: dict[str, tuple[list[str], list[Row]]] = {}
    for row in rows:
        if row.part in COLUMN_PARTS:
            title, column = PART_TITLES[row.part], f"{row.scenario} [{row.unit}]"
        else:
            title, column = f"{PART_TITLES[row.part]} — {row.scenario}", row.unit
        columns, members = tables.setdefault(title, ([], []))
        if column not in columns:
            columns.append(column)
        members.append(row)
    return [(title, cols, members) for title, (cols, members) in tables.items()]


def _column(row: Row) -> str:
    if row.part in COLUMN_PARTS:
        return f"{row.scenario} [{row.unit}]"
    return row.unit


def markdown(rows: list[Row], meta: dict[str, Any]) -> str:
    versions = ", ".join(f"{k} {v}" for k, v in meta.get("versions", {}).items())
    out = [
        "# generic_consumers benchmark",
        "",
        f"{meta['mode']} run, {meta['date']}, {meta.get('seconds', '?')} s; "
        f"{meta['machine']}; load average {meta.get('load_before', '?')} before, "
        f"{meta.get('load_after', '?')} after.",
        "",
        f"Versions: {versions}." if versions else "",
        "",
        "Each cell: figure (÷ floor, ÷ matching Channels 4 row), both measured in "
        "this run. For times, CPU and memory a ratio below 1 is better; for round "
        "trips per second, above 1.",
    ]
    for title, columns, members in _tables(rows):
        notes: list[str] = []
        apps: dict[str, str] = {}
        for row in members:
            apps.setdefault(row.app, row.label)
        by_cell = {(r.app, _column(r)): r for r in members}
        out += ["", f"## {title}", ""]
        out.append("| application | " + " | ".join(columns) + " |")
        out.append("| --- |" + " --- |" * len(columns))
        for app, label in apps.items():
            cells = [_cell(by_cell.get((app, column)), notes) for column in columns]
            out.append(f"| {label} | " + " | ".join(cells) + " |")
        if notes:
            out.append("")
            out += [
                f"[{i}] {' '.join(note.split())}  " for i, note in enumerate(notes, 1)
            ]
    extra = costs(rows)
    if extra:
        out += ["", "## What one addition costs (difference of two rows)", "", *extra]
    out += server_choice(rows)
    return "\n".join(out) + "\n"


# Rows that add one thing to another row: the difference is that thing's cost.
COSTS = {
    "gc-async-mw": ("gc-async", "one pass-through frame middleware"),
    "gc-async-ka": ("gc-async", "keepalive on (its per-socket timer)"),
}
LATENCIES = {"rt/s", "p50", "p99"}


def costs(rows: list[Row]) -> list[str]:
    """Lines saying what each row of ``COSTS`` adds, per figure of the same run (a
    round trip is one inbound and one outbound event through the middleware)."""
    index = {(r.part, r.scenario, r.metric, r.app): r for r in rows}
    lines = []
    for row in rows:
        # Times, CPU and memory add up; latency percentiles and rates do not.
        if row.app not in COSTS or row.value is None or row.metric in LATENCIES:
            continue
        base_key, what = COSTS[row.app]
        base = index.get((row.part, row.scenario, row.metric, base_key))
        if base is None or base.value is None:
            continue
        lines.append(
            f"- ({row.part}) {row.scenario}, {row.metric}: {what} adds "
            f"{_number(row.value - base.value)} {row.unit} "
            f"({_number(row.value)} vs {_number(base.value)})"
        )
    return lines


# The rows the server choice is argued from (docs/topics/deployment.rst).
CHOICE_APPS = ["raw", "gc-sync", "gc-async"]
CHOICE_SCENARIO = ", 50 connections"


def server_choice(rows: list[Row]) -> list[str]:
    """One row per server: its CPU per round trip for the floor and our consumers,
    one process, 50 clients (the whole process tree: Granian's worker included)."""
    cells: dict[str, dict[str, Row]] = {}
    for row in rows:
        if (
            row.part == "b"
            and row.metric == "cpu"
            and row.scenario.endswith(CHOICE_SCENARIO)
            and row.app in CHOICE_APPS
        ):
            server = row.scenario[: -len(CHOICE_SCENARIO)]
            cells.setdefault(server, {})[row.app] = row
    if not cells:
        return []
    labels = {r.app: r.label for by_app in cells.values() for r in by_app.values()}
    out = [
        "",
        "## (b) Choosing the server — server CPU µs/round trip, one process, "
        "50 connections",
        "",
        "| server | " + " | ".join(labels.get(a, a) for a in CHOICE_APPS) + " |",
        "| --- |" + " --- |" * len(CHOICE_APPS),
    ]
    for server, by_app in cells.items():
        values = [by_app.get(app) for app in CHOICE_APPS]
        shown = [
            "–" if r is None or r.value is None else _number(r.value) for r in values
        ]
        out.append(f"| {server} | " + " | ".join(shown) + " |")
    return out


def write_json(path: Path, rows: list[Row], meta: dict[str, Any]) -> None:
    path.write_text(
        json.dumps({"meta": meta, "rows": [asdict(r) for r in rows]}, indent=1) + "\n"
    )
