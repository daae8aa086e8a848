"""``python -m bench`` (``make bench``): every part, side by side, in one run.

Prints Markdown tables on stdout (progress goes to stderr) and writes
``bench/results.json``. ``--quick`` finishes in under two minutes.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import os
import platform
import sys
import time
from importlib import metadata
from pathlib import Path
from typing import Any

from .limits import raise_open_files

PACKAGES = [
    "Django",
    "channels",
    "channels-redis",
    "asgiref",
    "uvicorn",
    "daphne",
    "granian",
    "websockets",
    "channelsmultiplexer",
]


def _log(text: str) -> None:
    print(text, file=sys.stderr, flush=True)


def _machine() -> str:
    model = "unknown CPU"
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                model = line.split(":", 1)[1].strip()
                break
    return (
        f"{os.cpu_count()} × {model}, Python {platform.python_version()}, "
        f"{platform.system()} {platform.release()}"
    )


def _versions() -> dict[str, str]:
    versions = {}
    for name in PACKAGES:
        try:
            versions[name] = metadata.version(name)
        except metadata.PackageNotFoundError:
            versions[name] = "not installed"
    return versions


def _load() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def parse_args(argv: list[str] | None = None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument(
        "--quick",
        action="store_true",
        help="fewer iterations and connections, no 200-connection runs (< 2 min)",
    )
    parser.add_argument(
        "--parts",
        default="abcde",
        help="which parts to run, e.g. 'ab' (default: abcde)",
    )
    parser.add_argument(
        "--apps",
        default="",
        help="comma-separated row keys to run (default: all), e.g. raw,c4-sync,gc-sync",
    )
    parser.add_argument(
        "--servers",
        default="uvicorn,granian,daphne",
        help="servers for part (b) (default: uvicorn,granian,daphne)",
    )
    parser.add_argument(
        "--json",
        type=Path,
        default=Path(__file__).resolve().parent / "results.json",
        help="where to write the results (default: bench/results.json)",
    )
    return parser.parse_args(argv)


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    raise_open_files()
    from . import apps, inprocess, joins, named, redisserver, report, servers

    wanted = {key for key in args.apps.split(",") if key}
    unknown = wanted - set(apps.APPS_BY_KEY)
    if unknown:
        _log(f"Unknown row(s) {sorted(unknown)}; choose from {list(apps.APPS_BY_KEY)}")
        return 2
    # The floor and the Channels 4 references always run: ratios need them.
    keep = wanted | {"raw"} | {apps.APPS_BY_KEY[k].reference or "raw" for k in wanted}

    def chosen(specs: list[Any]) -> list[Any]:
        return [s for s in specs if not wanted or s.key in keep]

    if args.quick:
        echo_sizes = inprocess.InProcessSizes(300, 100, 5, 50, 3)
        socket_sizes = servers.SocketSizes([1, 50], 0.5, 0.2, 200)
        fanout_sizes = inprocess.FanoutSizes(200, 2, 1)
        named_sizes = named.NamedSizes(500, 20)
    else:
        echo_sizes = inprocess.InProcessSizes(2000, 100, 20, 300, 3)
        socket_sizes = servers.SocketSizes([1, 50, 200], 3.0, 0.5, 1000)
        fanout_sizes = inprocess.FanoutSizes(1000, 3, 3)
        named_sizes = named.NamedSizes(3000, 20)

    started = time.monotonic()
    meta: dict[str, Any] = {
        "mode": "quick" if args.quick else "full",
        "date": datetime.datetime.now().astimezone().isoformat(timespec="seconds"),
        "machine": _machine(),
        "load_before": _load(),
        "versions": _versions(),
        "sizes": {
            "in_process": vars(echo_sizes),
            "sockets": vars(socket_sizes),
            "fanout": vars(fanout_sizes),
            "named": vars(named_sizes),
        },
    }
    rows: list[report.Row] = []
    parts = set(args.parts)
    if "a" in parts:
        _log("(a) in-process echo")
        rows += inprocess.echo(chosen(apps.APPS), echo_sizes, _log)
    if "b" in parts or "d" in parts:
        _log("(b)/(d) server processes")
        rows += servers.run(
            chosen(apps.APPS),
            socket_sizes,
            servers=[s for s in args.servers.split(",") if s],
            throughput="b" in parts,
            memory="d" in parts,
            log=_log,
        )
    if "c" in parts:
        _log("(c) group fan-out")
        with redisserver.redis_server() as url:
            layers = [
                ("in-memory layer", contextlib.nullcontext),
                ("channels_redis", redisserver.layer_switch(url)),
            ]
            fanout_apps = chosen(apps.FANOUT_APPS)
            rows += inprocess.fanout(fanout_apps, fanout_sizes, layers, _log)
            rows += joins.joins(fanout_apps, fanout_sizes, layers, _log)
    if "e" in parts:
        _log("(e) named-channel round trips through Redis")
        rows += named.run(named_sizes, _log)
    # Parts in reading order, whatever order they ran in.
    rows.sort(key=lambda row: row.part)
    report.add_ratios(rows)
    meta["load_after"] = _load()
    meta["seconds"] = round(time.monotonic() - started, 1)
    print(report.markdown(rows, meta))
    report.write_json(args.json, rows, meta)
    _log(f"Wrote {args.json} in {meta['seconds']} s.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
