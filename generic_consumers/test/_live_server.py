"""The server process of ``ChannelLiveServerTestCase``: Daphne serving the project.

Run as ``python -m generic_consumers.test._live_server HOST PORT``. The parent passes
the test databases (and an optional routing) in the ``GC_LIVE_SERVER`` environment
variable as JSON, so this process serves the data the test writes.
"""

from __future__ import annotations

import json
import os
import sys


def main(argv: list[str]) -> None:
    host, port = argv[0], argv[1]
    overrides = json.loads(os.environ.get("GC_LIVE_SERVER", "{}"))

    from django.conf import settings

    for alias, name in overrides.get("databases", {}).items():
        settings.DATABASES[alias]["NAME"] = name
    if overrides.get("routing"):
        settings.GENERIC_CONSUMERS = {
            **getattr(settings, "GENERIC_CONSUMERS", {}),
            "ROUTING": overrides["routing"],
        }

    import django

    django.setup()
    from daphne.cli import CommandLineInterface

    module, _, attr = settings.ASGI_APPLICATION.rpartition(".")
    CommandLineInterface().run(["-b", host, "-p", port, f"{module}:{attr}"])


if __name__ == "__main__":  # pragma: no cover - runs in the subprocess
    main(sys.argv[1:])
