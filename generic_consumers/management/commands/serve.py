"""``manage.py serve``: the project on Uvicorn, N server processes + M workers.

Production serving in one command: ``--workers`` Uvicorn processes sharing one
listening socket, plus ``--named-workers`` ``runworkers`` processes for the named
channels, all on the configured channel layer. SIGTERM / SIGINT stop them all
cleanly (see ``generic_consumers._serve``). Daphne stays the ``runserver`` server.
"""

from __future__ import annotations

import importlib.util
import json
import os
import sys
from typing import Any

from django.conf import settings
from django.core.management.base import BaseCommand, CommandError, CommandParser

from ... import _serve
from ...conf import get_settings
from ...layers import channel_layers


def _positive(value: str) -> int:
    number = int(value)
    if number < 0:
        raise ValueError(value)
    return number


class Command(BaseCommand):
    help = (
        "Serve ASGI_APPLICATION on Uvicorn with N server processes and M "
        "runworkers processes, until SIGTERM or SIGINT."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        where = parser.add_mutually_exclusive_group()
        where.add_argument(
            "--bind",
            default=None,
            metavar="HOST:PORT",
            help="TCP address to listen on (default: 127.0.0.1:8000).",
        )
        where.add_argument(
            "--uds", default=None, metavar="PATH", help="UNIX socket to listen on."
        )
        parser.add_argument(
            "--workers",
            type=_positive,
            default=1,
            metavar="N",
            help="Server processes sharing the socket (default: 1).",
        )
        parser.add_argument(
            "--named-workers",
            type=_positive,
            default=0,
            metavar="M",
            help="runworkers processes for the named channels (default: 0).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        workers, named = options["workers"], options["named_workers"]
        if workers < 1:
            raise CommandError(f"--workers {workers!r}: at least 1 server process.")
        if importlib.util.find_spec("uvicorn") is None:
            raise CommandError(
                "manage.py serve runs Uvicorn, which is not installed: "
                'pip install "generic-consumers[server]" (or uvicorn).'
            )
        app = self._application()
        self._check_layer(workers, named)
        try:
            sock = _serve.listening_socket(options["bind"], options["uds"])
        except (OSError, ValueError) as exc:
            raise CommandError(f"Cannot listen: {exc}") from exc
        spec = {"app": app, "fd": sock.fileno(), "ws": "websockets-sansio"}
        children = [
            _serve.Child(
                f"server {i + 1}",
                [sys.executable, "-m", "generic_consumers._serve", json.dumps(spec)],
                pass_fds=(sock.fileno(),),
            )
            for i in range(workers)
        ]
        children += [
            _serve.Child(
                f"worker {i + 1}", [sys.executable, "-m", "django", "runworkers"]
            )
            for i in range(named)
        ]
        where = options["uds"] or options["bind"] or "127.0.0.1:8000"
        self.stdout.write(
            f"Serving {app} on {where}: {workers} server process(es), "
            f"{named} worker process(es)."
        )
        self.stdout.flush()
        status = _serve.Supervisor(children, self._env(), self._log).run()
        sock.close()
        if options["uds"]:
            os.unlink(options["uds"])
        if status:
            raise CommandError("A process kept exiting; everything was stopped.")
        self.stdout.write("Stopped.")

    def _log(self, text: str) -> None:
        self.stdout.write(text)
        self.stdout.flush()

    def _application(self) -> str:
        path = getattr(settings, "ASGI_APPLICATION", None)
        if not path or "." not in path:
            raise CommandError(
                f"ASGI_APPLICATION is {path!r}; set it to the dotted path of your "
                'application, e.g. "mysite.asgi.application".'
            )
        module, _, name = path.rpartition(".")
        return f"{module}:{name}"

    def _check_layer(self, workers: int, named: int) -> None:
        alias = get_settings()["CHANNEL_LAYER"]
        if alias not in channel_layers:
            raise CommandError(f"No channel layer {alias!r} in CHANNEL_LAYERS.")
        if (workers > 1 or named > 0) and channel_layers[alias].local_only():
            raise CommandError(
                f"Channel layer {alias!r} is in-memory, so each process would have "
                f"its own: with --workers {workers} --named-workers {named} a group "
                "message would reach only the sockets of the process that sent it, "
                "and a worker would never see a named-channel message. Configure "
                'channels_redis (pip install "generic-consumers[redis]"), or run '
                "one process: --workers 1 --named-workers 0."
            )
        if named and get_settings()["IN_PROCESS_WORKERS"]:
            self.stderr.write(
                "GENERIC_CONSUMERS['IN_PROCESS_WORKERS'] is on: the server processes "
                "consume named channels too, beside the --named-workers processes. "
                "Set it to False to leave them to the workers."
            )

    def _env(self) -> dict[str, str]:
        env = dict(os.environ)
        # The children import the project as this process did (manage.py's folder,
        # or the current one for python -m django).
        here = sys.path[0] or os.getcwd()
        env["PYTHONPATH"] = os.pathsep.join(
            p for p in (here, env.get("PYTHONPATH", "")) if p
        )
        env.setdefault("DJANGO_SETTINGS_MODULE", settings.SETTINGS_MODULE)
        return env
