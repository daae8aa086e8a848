"""Models for the binding tests (and the 1.x test-module port)."""

from django.db import models


class IntegerValue(models.Model):
    """The model of the 1.x data-binding docs, plus a room (groups) and a secret
    field (whitelist)."""

    name = models.CharField(max_length=100)
    value = models.IntegerField(default=0)
    room = models.CharField(max_length=50, default="lobby")
    secret = models.CharField(max_length=100, blank=True, default="")

    def __str__(self) -> str:
        return self.name

    def label(self) -> str:
        return f"{self.name}={self.value}"
