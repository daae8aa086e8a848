"""A native Channels 4 consumer beside the 1.x routing: the notifications, natively.

``NativeNotifications`` is a plain ``channels`` ``AsyncJsonWebsocketConsumer``, not a
1.x consumer: ``sample_site/asgi.py`` mounts it with
``get_application(native_before=[...])``, so ``/ws/native/notify/`` is served by it and
every other socket by the 1.x routing, in one application.

Groups are shared. It joins the channel-layer group ``notifications``, which
``notify()`` (a view, ``manage.py notify``) sends to with the 1.x ``Group``: a 1.x group
message arrives as an event of type ``generic_consumers.message`` carrying the 1.x
content, handled by ``generic_consumers_message``. What this socket says goes to every
1.x notifications page, and back to the native ones, with ``await Group(...).asend()``.
Channels' ``AuthMiddlewareStack``, which ``get_application`` adds for native routes,
puts the page's user in ``scope["user"]``.
"""

from channels.generic.websocket import AsyncJsonWebsocketConsumer

from generic_consumers import Group

from .notifications import NOTIFICATIONS, notice


class NativeNotifications(AsyncJsonWebsocketConsumer):
    """``/ws/native/notify/``: hears the ``notifications`` group, and speaks to it."""

    async def connect(self):
        await self.channel_layer.group_add(NOTIFICATIONS, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(NOTIFICATIONS, self.channel_name)

    async def generic_consumers_message(self, event):
        """A 1.x ``Group("notifications").send({"text": ...})`` reaching this socket."""
        content = event["content"]
        if "text" in content:
            await self.send(text_data=content["text"])

    async def receive_json(self, content, **kwargs):
        text = content.get("text") if isinstance(content, dict) else None
        if not isinstance(text, str) or not text.strip():
            await self.send_json({"error": 'send {"text": "..."}'})
            return
        user = self.scope["user"]
        sender = user.get_username() if user.is_authenticated else "a visitor"
        await Group(NOTIFICATIONS).asend(notice(text.strip(), f"{sender} (native)"))
