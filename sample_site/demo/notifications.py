"""The notifications demo: a group fed from anywhere, watched by an async consumer.

* ``notify()`` sends to the ``notifications`` group. It is a plain function: the view
  ``views.post_notification`` and the command ``manage.py notify`` both call it, from
  outside any consumer, so the send goes out at once.
* ``NotificationsConsumer`` (``/ws/notify/``) is an ``AsyncJsonWebsocketConsumer``: its
  handlers run on the event loop, with no thread hop. Every socket joins the group; a
  frame ``{"thumbnail": "...", "steps": n}`` starts a job on the named channel
  ``demo.thumbnails`` (see ``demo/thumbnails.py``), ``{"cancel": job}`` stops it.
"""

import uuid

from django.core.cache import cache
from django.utils import timezone

from generic_consumers import Channel, Group
from generic_consumers.generic.frames import encode_json
from generic_consumers.generic.websockets import AsyncJsonWebsocketConsumer

from .thumbnails import THUMBNAILS, cancel_key

NOTIFICATIONS = "notifications"
MAX_TEXT = 200


def notice(text, sender):
    """The 1.x reply content of one notice: a text frame every page understands."""
    notice = {"text": text[:MAX_TEXT], "sender": sender, "at": timezone.now()}
    return {"text": encode_json({"notice": notice})}


def notify(text, sender):
    """Push a notice to every open notifications page, from any code."""
    Group(NOTIFICATIONS).send(notice(text, sender))


class NotificationsConsumer(AsyncJsonWebsocketConsumer):
    """``/ws/notify/``: hears the group, and starts or cancels thumbnail jobs."""

    groups = [NOTIFICATIONS]

    async def receive(self, content, **kwargs):
        if not isinstance(content, dict):
            await self.send({"error": 'send {"thumbnail": "..."} or {"cancel": id}'})
        elif "cancel" in content:
            # The job may run in another process (runworkers): the cache is shared.
            await cache.aset(cancel_key(str(content["cancel"])), True, 600)
        elif isinstance(content.get("thumbnail"), str):
            job = uuid.uuid4().hex[:12]
            # Both sends wait for the end of this handler and go out in this order,
            # so the page hears "queued" before the worker can answer.
            await self.send({"job": job, "state": "queued"})
            await Channel(THUMBNAILS).asend(
                {
                    # The worker answers this socket through its reply channel.
                    "reply_channel": self.message.reply_channel.name,
                    "job": job,
                    "label": content["thumbnail"][:MAX_TEXT],
                    "steps": content.get("steps", 10),
                }
            )
        else:
            await self.send({"error": 'send {"thumbnail": "..."} or {"cancel": id}'})
