"""``WebsocketBinding``: data binding over the multiplexer's stream framing.

Outbound messages are text frames ``{"stream": stream, "payload": {"action", "pk",
"data", "model"}}`` sent to each group; inbound frames carry ``{"action", "pk",
"data"}`` as the payload of ``stream``.
"""

from __future__ import annotations

import json
import logging
from typing import Any, ClassVar

from django.core import serializers
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder

from ..generic.websockets import WebsocketMultiplexer
from ..message import Message
from .base import Binding

__all__ = ["WebsocketBinding", "WebsocketBindingWithMembers"]

logger = logging.getLogger("generic_consumers")


def _is_all(value: Any) -> bool:
    return value == "__all__" or (
        isinstance(value, list | tuple) and list(value) == ["__all__"]
    )


class WebsocketBinding(Binding):
    """Bind a model to WebSocket clients on the stream ``stream``.

    Define ``group_names(instance)`` (classmethod) and ``has_permission(user, action,
    pk)``. Inbound ``create`` and ``update`` only ever set the whitelisted fields
    (``fields`` / ``exclude``); the primary key is never taken from the client.
    A refused action is answered on the stream with
    ``{"action": ..., "pk": ..., "error": "permission denied"}`` (or ``"not found"``,
    ``"unknown action"``).
    """

    model: ClassVar[Any] = None
    stream: ClassVar[str | None] = None
    strict_ordering: ClassVar[bool] = False
    slight_ordering: ClassVar[bool] = False

    @classmethod
    def check_configuration(cls) -> None:
        super().check_configuration()
        if not cls.stream:
            raise ImproperlyConfigured(f"{cls.__qualname__} needs a stream name.")

    # -- fields ----------------------------------------------------------------------

    @classmethod
    def _field_names(cls) -> list[str]:
        """The concrete, non-primary-key fields the whitelist allows."""
        names = [
            field.name
            for field in cls.model._meta.get_fields()
            if getattr(field, "concrete", False)
            and not getattr(field, "primary_key", False)
            and not getattr(field, "auto_created", False)
        ]
        if cls.fields is not None and not _is_all(cls.fields):
            allowed = [cls.fields] if isinstance(cls.fields, str) else cls.fields
            names = [name for name in names if name in allowed]
        if cls.exclude is not None:
            if _is_all(cls.exclude):
                return []
            excluded = [cls.exclude] if isinstance(cls.exclude, str) else cls.exclude
            names = [name for name in names if name not in excluded]
        return names

    # -- outbound --------------------------------------------------------------------

    def encode(self, stream: str | None, payload: dict[str, Any]) -> dict[str, Any]:
        """The multiplexer's framing, so clients demultiplex binding frames too."""
        return WebsocketMultiplexer.encode(stream or "", payload)

    def serialize(self, instance: Any, action: str) -> dict[str, Any]:
        """The payload sent to groups for ``action``; return ``{}`` to send nothing."""
        dumped = json.loads(
            serializers.serialize("json", [instance], fields=self._field_names())
        )[0]
        return {
            "action": action,
            "pk": dumped["pk"],
            "data": self.serialize_data(instance, dumped["fields"]),
            "model": self.model_label,
        }

    def serialize_data(self, instance: Any, data: dict[str, Any]) -> dict[str, Any]:
        """Hook to change the ``data`` of outbound payloads."""
        return data

    # -- inbound ---------------------------------------------------------------------

    @classmethod
    def trigger_inbound(cls, message: Message, **kwargs: Any) -> None:
        if cls.slight_ordering:
            raise ValueError(
                "slight_ordering is no longer supported; ordering is always strict."
            )
        super().trigger_inbound(message, **kwargs)

    def deserialize(self, message: Message) -> tuple[Any, Any, Any]:
        """``(action, pk, data)`` from the frame's JSON text (demultiplexer
        ``consumers``) or from the message itself (``mapping`` channels)."""
        if "text" in message:
            payload = json.loads(message["text"])
        else:
            payload = message.content
        if not isinstance(payload, dict):
            return None, None, None
        return payload.get("action"), payload.get("pk"), payload.get("data")

    def create(self, data: dict[str, Any]) -> Any:
        instance = self.model()
        self._apply(instance, data)
        return instance

    def update(self, pk: Any, data: dict[str, Any]) -> Any:
        instance = self.model._default_manager.get(pk=pk)
        self._apply(instance, data)
        return instance

    def _apply(self, instance: Any, data: dict[str, Any]) -> None:
        allowed = set(self._field_names())
        meta = self.model._meta
        many: dict[str, Any] = {}
        ignored = sorted(str(name) for name in data if name not in allowed)
        if ignored:
            logger.info(
                "%s ignored fields outside its whitelist: %s",
                type(self).__qualname__,
                ", ".join(ignored),
            )
        for name, value in data.items():
            if name not in allowed:
                continue
            field = meta.get_field(name)
            if field.many_to_many:
                many[name] = value
            elif field.is_relation:
                setattr(instance, field.attname, value)
            else:
                setattr(instance, name, field.to_python(value))
        instance.save()
        for name, value in many.items():
            getattr(instance, name).set(value)

    def reply(self, payload: dict[str, Any]) -> None:
        """Send ``payload`` to the client on this binding's stream."""
        multiplexer = self.kwargs.get("multiplexer")
        if multiplexer is not None:
            multiplexer.send(payload)
        elif self.message.reply_channel is not None:
            self.message.reply_channel.send(self.encode(self.stream, payload))

    def reply_error(self, action: Any, pk: Any, error: str) -> None:
        self.reply({"action": action, "pk": pk, "error": error})


class WebsocketBindingWithMembers(WebsocketBinding):
    """A ``WebsocketBinding`` that also sends ``send_members``: attribute paths (dots
    allowed, sent with ``__``), called when callable, JSON-encoded with Django's
    encoder."""

    model: ClassVar[Any] = None
    send_members: ClassVar[list[str]] = []

    def serialize_data(self, instance: Any, data: dict[str, Any]) -> dict[str, Any]:
        data = dict(data)
        for path in self.send_members:
            value = instance
            for part in path.split("."):
                value = getattr(value, part)
            if callable(value):
                value = value()
            data[path.replace(".", "__")] = json.loads(
                json.dumps(value, cls=DjangoJSONEncoder)
            )
        return data
