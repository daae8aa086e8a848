"""Delayed messages waiting in the database (when this app is installed)."""

from __future__ import annotations

from django.db import models


class DelayedMessage(models.Model):
    due_date = models.DateTimeField(db_index=True)
    channel_name = models.CharField(max_length=100)
    content = models.TextField(help_text="The message content, as JSON.")

    class Meta:
        ordering = ["due_date", "id"]

    def __str__(self) -> str:
        return f"{self.channel_name} at {self.due_date:%Y-%m-%d %H:%M:%S.%f}"
