from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from demo.models import Presence

#: (username, password) of the demo users; two, so the chat has someone to talk to.
DEMO_USERS = [("demo", "demo-password"), ("alice", "alice-password")]


class Command(BaseCommand):
    help = (
        "Create the demo users (idempotent), clear stale presence, say how to log in."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--url", default="http://127.0.0.1:8000/", help="where the demo is served"
        )

    def handle(self, *args, **options):
        User = get_user_model()
        for username, password in DEMO_USERS:
            user, _ = User.objects.get_or_create(username=username)
            # Only when it changed: a new hash would log out every open session, and
            # the pages of a restarted demo could not reconnect.
            if not user.check_password(password):
                user.set_password(password)
                user.save()
        # Rows of sockets from a previous run that ended without a clean disconnect.
        Presence.objects.all().delete()
        logins = ", ".join(f"{name} / {password}" for name, password in DEMO_USERS)
        self.stdout.write(f"Demo users: {logins}  —  open {options['url']}")
