"""What the demos store: chat history and who is connected to the dashboard.

Both live in the database, not in process memory, so the demos stay right when
``REDIS_URL`` spreads the sockets over several server processes.
"""

from datetime import timedelta

from django.conf import settings
from django.db import models
from django.utils import timezone

# A dashboard's row is refreshed while its socket is open (demo.dashboard); one not
# refreshed for this long was left by a server that crashed and is not counted.
PRESENCE_EXPIRY = timedelta(seconds=60)


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


class Presence(models.Model):
    """One open dashboard socket, keyed by its reply channel."""

    reply_channel = models.CharField(max_length=200, unique=True)
    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE)
    connected_at = models.DateTimeField(auto_now_add=True)
    seen = models.DateTimeField(default=timezone.now, db_index=True)

    def __str__(self):
        return f"{self.user} on {self.reply_channel}"

    @classmethod
    def live(cls):
        """Rows refreshed within PRESENCE_EXPIRY: sockets that are still open."""
        return cls.objects.filter(seen__gte=timezone.now() - PRESENCE_EXPIRY)

    @classmethod
    def online(cls):
        """Usernames with at least one open dashboard, sorted."""
        names = cls.live().values_list("user__username", flat=True).distinct()
        return sorted(names)

    @classmethod
    def seen_now(cls, reply_channel, user):
        """Record (or refresh) the open dashboard on ``reply_channel``."""
        cls.objects.update_or_create(
            reply_channel=reply_channel,
            defaults={"user": user, "seen": timezone.now()},
        )

    @classmethod
    def touch(cls, reply_channel):
        """Refresh an open dashboard's row (never recreates one already deleted)."""
        cls.objects.filter(reply_channel=reply_channel).update(seen=timezone.now())

    @classmethod
    def forget_expired(cls):
        """Delete the rows crashed servers left behind."""
        cls.objects.filter(seen__lt=timezone.now() - PRESENCE_EXPIRY).delete()
