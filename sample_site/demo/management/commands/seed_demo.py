from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

DEMO_USER = ("demo", "demo-password")


class Command(BaseCommand):
    help = "Create the demo user (idempotent) and say how to log in."

    def handle(self, *args, **options):
        username, password = DEMO_USER
        User = get_user_model()
        user, _ = User.objects.get_or_create(username=username)
        user.set_password(password)
        user.save()
        self.stdout.write(
            f"Demo user: {username} / {password}  —  open http://127.0.0.1:8000/"
        )
