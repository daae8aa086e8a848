"""Test-only: send 1.x content from a plain management command (no consumer)."""

import json

from django.core.management.base import BaseCommand

from generic_consumers import Channel, Group


class Command(BaseCommand):
    help = "Send {'text': TEXT} to a group or a channel."

    def add_arguments(self, parser):
        target = parser.add_mutually_exclusive_group(required=True)
        target.add_argument("--group")
        target.add_argument("--channel")
        parser.add_argument("text")
        parser.add_argument(
            "--json", action="store_true", help="TEXT is the whole content, as JSON"
        )

    def handle(self, *args, **options):
        if options["json"]:
            content = json.loads(options["text"])
        else:
            content = {"text": options["text"]}
        if options["group"]:
            Group(options["group"]).send(content)
        else:
            Channel(options["channel"]).send(content)
