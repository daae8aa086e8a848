"""What the demos store: chat history and who is connected to the dashboard.

Both live in the database, not in process memory, so the demos stay right when
``REDIS_URL`` spreads the sockets over several server processes.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone


class ChatMessage(models.Model):
    """One line said in a chat room."""

    room = models.CharField(max_length=50, db_index=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    text = models.CharField(max_length=500)
    sent_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sent_at", "id"]

    def __str__(self):
        return f"{self.user} in {self.room}: {self.text}"

    def as_json(self):
        """The payload every chat socket receives for this line."""
        return {
            "room": self.room,
            "user": self.user.get_username(),
            "text": self.text,
            "sent_at": self.sent_at,
        }


def presence_refresh():
    """Seconds between two refreshes of an open dashboard's ``seen``
    (``settings.PRESENCE_REFRESH``, 15 s by default)."""
    return getattr(settings, "PRESENCE_REFRESH", 15.0)


def presence_expiry():
    """How old a ``seen`` may be before its row stops counting: three refreshes
    missed, so one slow refresh never drops anybody."""
    return timedelta(seconds=3 * presence_refresh())


class Presence(models.Model):
    """One open dashboard socket, keyed by its reply channel.

    The socket's disconnect deletes its row, but a server that crashes (or is killed)
    runs no disconnect: its rows stay behind. So every open dashboard refreshes
    ``seen`` (a background task of its socket, see ``demo/dashboard.py``), rows not
    refreshed for ``presence_expiry()`` no longer count, and ``expire()`` deletes them.
    """

    reply_channel = models.CharField(max_length=200, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    connected_at = models.DateTimeField(auto_now_add=True)
    seen = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self):
        return f"{self.user} on {self.reply_channel}"

    @classmethod
    def live(cls):
        """The rows of sockets that refreshed lately."""
        return cls.objects.filter(seen__gte=timezone.now() - presence_expiry())

    @classmethod
    def online(cls):
        """Usernames with at least one open dashboard, sorted."""
        names = cls.live().values_list("user__username", flat=True).distinct()
        return sorted(names)

    @classmethod
    def expire(cls):
        """Delete the rows nobody refreshed lately (left by a crashed server);
        returns how many there were."""
        stale = cls.objects.filter(seen__lt=timezone.now() - presence_expiry())
        deleted, _ = stale.delete()
        return deleted
