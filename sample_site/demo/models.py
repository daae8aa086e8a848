"""What the demos store: chat history and who is connected to the dashboard.

Both live in the database, not in process memory, so the demos stay right when
``REDIS_URL`` spreads the sockets over several server processes.
"""

from django.conf import settings
from django.db import models


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

    def __str__(self):
        return f"{self.user} on {self.reply_channel}"

    @classmethod
    def online(cls):
        """Usernames with at least one open dashboard, sorted."""
        names = cls.objects.values_list("user__username", flat=True).distinct()
        return sorted(names)
