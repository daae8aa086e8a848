"""``manage.py notify TEXT``: push a notice to every open notifications page."""

from django.core.management.base import BaseCommand, CommandError

from generic_consumers import channel_layers
from generic_consumers.conf import get_settings

from ...notifications import notify


class Command(BaseCommand):
    help = "Send TEXT to the notifications group (needs a shared layer: REDIS_URL)."

    def add_arguments(self, parser):
        parser.add_argument("text")

    def handle(self, *args, **options):
        alias = get_settings()["CHANNEL_LAYER"]
        if channel_layers[alias].local_only():
            # This process's in-memory layer is not the server's: nobody would hear.
            raise CommandError(
                f"Channel layer {alias!r} is in-memory, so the running server cannot "
                "see this process's sends. Serve and run this with REDIS_URL set."
            )
        notify(options["text"], sender="manage.py notify")
        self.stdout.write("Sent.")
