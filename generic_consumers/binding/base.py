"""``Binding``: push model changes to groups and apply changes sent by clients.

Outbound, a binding watches its model's save and delete signals. The groups that saw the
object before the change (``group_names`` of the stored row: the values the instance
was loaded with or last saved with, so no query is needed) and after it are compared:
groups that lose it get ``delete``, groups that keep it ``update``, groups that gain it
``create``. Payloads are serialised when the change happens and sent once the
transaction commits, so a rolled-back change is never announced.

Inbound, ``Binding.consumer`` is a consumer (for a demultiplexer's ``consumers`` or a
route) that checks ``has_permission`` and runs ``create`` / ``update`` / ``delete``.
"""

from __future__ import annotations

import copy
import inspect
import logging
from collections.abc import Callable, Iterable
from typing import Any, ClassVar

from django.apps import apps
from django.core.exceptions import ImproperlyConfigured
from django.db import transaction
from django.db.models import signals
from django.db.models.base import ModelState

from ..channel import Group
from ..message import Message

__all__ = [
    "CREATE",
    "DELETE",
    "UPDATE",
    "Binding",
    "BindingConfigurationError",
    "BindingRegistry",
    "registry",
]

logger = logging.getLogger("generic_consumers")

CREATE = "create"
UPDATE = "update"
DELETE = "delete"
ACTIONS = (CREATE, UPDATE, DELETE)


class BindingConfigurationError(ImproperlyConfigured, ValueError):
    """A binding declared wrongly; a ``ValueError`` too, as 1.x raised one."""


# Where pre_save/pre_delete leave the groups that saw the object before the change.
_BEFORE = "_generic_consumers_binding_groups"
# The field values an instance had in the database when it was loaded or last saved.
_STORED = "_generic_consumers_binding_stored"


class BindingRegistry:
    """Every concrete ``Binding`` subclass, and which are connected to their model.

    ``register_all()`` runs at app ready; from then on a new subclass registers as soon
    as it is declared. ``unregister_all()`` disconnects everything (tests).
    """

    def __init__(self) -> None:
        self.declared: list[type[Binding]] = []
        self.registered: set[type[Binding]] = set()
        self.ready = False

    def declare(self, binding: type[Binding]) -> None:
        self.declared.append(binding)
        if self.ready and not binding.is_abstract():
            binding.register()

    def register_all(self) -> None:
        self.ready = True
        for binding in self.declared:
            if not binding.is_abstract():
                binding.register()

    def unregister_all(self) -> None:
        for binding in list(self.registered):
            binding.unregister()


registry = BindingRegistry()


def after_commit(using: str | None, func: Callable[[], None]) -> None:
    """Run ``func`` once the current transaction on ``using`` commits.

    Inside a Django ``TestCase`` the test's own wrapping transaction never commits; when
    it is the only transaction open (apart from blocks without a savepoint, such as the
    one ``delete()`` opens), the change counts as committed and ``func`` runs now.
    """
    connection = transaction.get_connection(using)
    blocks = connection.atomic_blocks
    if (
        blocks
        and blocks[0]._from_testcase
        and all(block._from_testcase or not block.savepoint for block in blocks)
    ):
        func()
    else:
        transaction.on_commit(func, using=using)


class Binding:
    """Base class of data bindings; see :class:`~.websockets.WebsocketBinding`.

    Set ``model`` (a class or ``"app_label.ModelName"``) and ``fields`` or ``exclude``
    (``"__all__"`` or ``["__all__"]`` for every field). ``model = None`` in a class body
    marks an abstract binding.
    """

    model: ClassVar[Any] = None
    fields: ClassVar[Any] = None
    exclude: ClassVar[Any] = None
    channel_session_user: ClassVar[bool] = True
    channel_session: ClassVar[bool] = False
    model_label: ClassVar[str] = ""

    message: Message
    kwargs: dict[str, Any]
    user: Any
    signal_kwargs: dict[str, Any] | None = None

    # How this class's group_names is called, decided once when the class is made:
    # 1.x's classmethod group_names(cls, instance), or 0.17's method
    # group_names(self, instance, action).
    _groups_take_action: ClassVar[bool] = False

    def __init_subclass__(cls, **kwargs: Any) -> None:
        super().__init_subclass__(**kwargs)
        cls._groups_take_action = _takes_action(cls)
        registry.declare(cls)

    # -- registration ----------------------------------------------------------------

    @classmethod
    def is_abstract(cls) -> bool:
        return "model" in cls.__dict__ and cls.__dict__["model"] is None

    @classmethod
    def register(cls) -> None:
        """Connect to the model's signals (done for you at app ready)."""
        if cls in registry.registered:
            return
        cls.check_configuration()
        for signal, receiver in cls._receivers():
            signal.connect(
                receiver,
                sender=cls.model,
                weak=False,
                dispatch_uid=cls._uid(signal),
            )
        registry.registered.add(cls)

    @classmethod
    def unregister(cls) -> None:
        """Disconnect from the model's signals; ``register()`` connects again."""
        if cls not in registry.registered:
            return
        for signal, _ in cls._receivers():
            signal.disconnect(sender=cls.model, dispatch_uid=cls._uid(signal))
        registry.registered.discard(cls)

    @classmethod
    def _uid(cls, signal: Any) -> str:
        return f"generic_consumers.binding:{id(cls)}:{id(signal)}"

    @classmethod
    def _receivers(cls) -> list[tuple[Any, Callable[..., None]]]:
        return [
            (signals.post_init, cls.post_init_receiver),
            (signals.pre_save, cls.pre_save_receiver),
            (signals.post_save, cls.post_save_receiver),
            (signals.pre_delete, cls.pre_delete_receiver),
            (signals.post_delete, cls.post_delete_receiver),
        ]

    @classmethod
    def check_configuration(cls) -> None:
        """Resolve ``model`` and check the class; raises ImproperlyConfigured."""
        if cls.model is None:
            raise ImproperlyConfigured(
                f"{cls.__qualname__} needs a model (a model class or 'app.Model'); "
                "set model = None in the class body for an abstract binding."
            )
        if isinstance(cls.model, str):
            cls.model = apps.get_model(cls.model)
        if cls.fields is None and cls.exclude is None:
            raise BindingConfigurationError(
                f"{cls.__qualname__} needs fields or exclude (fields = '__all__' "
                "sends every field)."
            )
        meta = cls.model._meta
        cls.model_label = f"{meta.app_label}.{meta.model_name}"

    # -- outbound --------------------------------------------------------------------

    @classmethod
    def post_init_receiver(cls, instance: Any, **kwargs: Any) -> None:
        if instance.pk is not None and _STORED not in instance.__dict__:
            _remember_stored(instance)

    @classmethod
    def pre_save_receiver(
        cls, instance: Any, using: str | None = None, **kwargs: Any
    ) -> None:
        before: set[str] = set()
        if cls._groups_take_action:
            return  # 0.17 style: the groups of the action, no diff (post_save)
        if not instance._state.adding and instance.pk is not None:
            stored = _stored_view(instance)
            if stored is None:  # not loaded through the ORM: ask the database
                stored = (
                    cls.model._default_manager.using(using)
                    .filter(pk=instance.pk)
                    .first()
                )
            if stored is not None:
                before = set(cls.group_names(stored))
        instance.__dict__.setdefault(_BEFORE, {})[cls] = before

    @classmethod
    def post_save_receiver(
        cls, instance: Any, using: str | None = None, **kwargs: Any
    ) -> None:
        _remember_stored(instance)
        if cls._groups_take_action:
            # 0.17: the action's groups get that action (create or update).
            action = CREATE if kwargs.get("created") else UPDATE
            groups = cls._groups_for(instance, action)
            before = set() if action == CREATE else groups
            cls.send_changes(instance, before, groups, using, kwargs)
            return
        before = instance.__dict__.get(_BEFORE, {}).pop(cls, set())
        cls.send_changes(
            instance, before, set(cls.group_names(instance)), using, kwargs
        )

    @classmethod
    def pre_delete_receiver(
        cls, instance: Any, using: str | None = None, **kwargs: Any
    ) -> None:
        instance.__dict__.setdefault(_BEFORE, {})[cls] = cls._groups_for(
            instance, DELETE
        )

    @classmethod
    def post_delete_receiver(
        cls, instance: Any, using: str | None = None, **kwargs: Any
    ) -> None:
        before = instance.__dict__.get(_BEFORE, {}).pop(cls, set())
        cls.send_changes(instance, before, set(), using, kwargs)

    @classmethod
    def _groups_for(cls, instance: Any, action: str) -> set[str]:
        if cls._groups_take_action:
            return set(cls().group_names(instance, action))  # type: ignore[call-arg]
        return set(cls.group_names(instance))

    @classmethod
    def send_changes(
        cls,
        instance: Any,
        before: set[str],
        after: set[str],
        using: str | None,
        signal_kwargs: dict[str, Any],
    ) -> None:
        """Serialise now, send after commit: delete, then update, then create."""
        outgoing: list[tuple[list[str], dict[str, Any]]] = []
        for action, groups in (
            (DELETE, before - after),
            (UPDATE, before & after),
            (CREATE, after - before),
        ):
            if not groups:
                continue
            self = cls()
            self.signal_kwargs = signal_kwargs
            payload = self.serialize(instance, action)
            if payload == {}:
                continue  # serialize() returning {} suppresses the message
            outgoing.append((sorted(groups), self.encode(self.stream, payload)))
        if outgoing:
            after_commit(using, lambda: cls._send(outgoing))

    @classmethod
    def _send(cls, outgoing: list[tuple[list[str], dict[str, Any]]]) -> None:
        for groups, content in outgoing:
            for name in groups:
                Group(name).send(content)

    @classmethod
    def group_names(cls, instance: Any) -> Iterable[str]:
        """The groups that should see ``instance`` as it is now."""
        raise NotImplementedError(f"{cls.__qualname__} must define group_names().")

    stream: ClassVar[str | None] = None

    def serialize(self, instance: Any, action: str) -> dict[str, Any]:
        raise NotImplementedError

    def encode(self, stream: str | None, payload: dict[str, Any]) -> dict[str, Any]:
        raise NotImplementedError

    # -- inbound ---------------------------------------------------------------------

    @classmethod
    def consumer(cls, message: Message, **kwargs: Any) -> None:
        """A consumer applying the client's create/update/delete to the model."""
        handler = cls.get_handler()
        handler(message, **kwargs)

    @classmethod
    def get_handler(cls) -> Callable[..., Any]:
        """``trigger_inbound`` wrapped by the session decorators the flags ask for."""
        handler: Callable[..., Any] = cls.trigger_inbound
        try:
            if cls.channel_session_user:
                from ..auth import channel_session_user

                handler = channel_session_user(handler)
            elif cls.channel_session:
                from ..sessions import channel_session

                handler = channel_session(handler)
        except ImportError:  # pragma: no cover - sessions/auth not installed
            logger.debug("generic_consumers sessions/auth unavailable; no user")
        return handler

    @classmethod
    def trigger_inbound(cls, message: Message, **kwargs: Any) -> None:
        if message.channel_name in ("websocket.connect", "websocket.disconnect"):
            return  # a demultiplexer forwards these to every stream
        self = cls()
        self.message = message
        self.kwargs = kwargs
        action, pk, data = self.deserialize(message)
        self.user = getattr(message, "user", None) or _anonymous()
        self.run_action(action, pk, data)

    def run_action(self, action: str, pk: Any, data: Any) -> None:
        if action not in ACTIONS:
            logger.warning(
                "%s refused unknown action %r", type(self).__qualname__, action
            )
            self.reply_error(action, pk, "unknown action")
        elif not self.has_permission(self.user, action, pk):
            self.reply_error(action, pk, "permission denied")
        elif action == CREATE:
            self.create(data or {})
        else:
            try:
                if action == UPDATE:
                    self.update(pk, data or {})
                else:
                    self.delete(pk)
            except self.model.DoesNotExist:
                self.reply_error(action, pk, "not found")

    def reply_error(self, action: Any, pk: Any, error: str) -> None:
        """Tell the client its action was refused; a no-op in the base class."""

    def deserialize(self, message: Message) -> tuple[Any, Any, Any]:
        raise NotImplementedError

    def has_permission(self, user: Any, action: str, pk: Any) -> bool:
        """Whether ``user`` may apply ``action`` to object ``pk`` (None on create)."""
        raise NotImplementedError(
            f"{type(self).__qualname__} must define has_permission()."
        )

    def create(self, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def update(self, pk: Any, data: dict[str, Any]) -> Any:
        raise NotImplementedError

    def delete(self, pk: Any) -> None:
        """Delete the object ``pk``; a missing one is not an error."""
        for instance in self.model._default_manager.filter(pk=pk):
            instance.delete()  # one by one, so the delete signals fire


def _anonymous() -> Any:
    from django.contrib.auth.models import AnonymousUser

    return AnonymousUser()


def _remember_stored(instance: Any) -> None:
    """Note the values ``instance`` has in the database now (loaded or just saved)."""
    values = instance.__dict__
    instance.__dict__[_STORED] = {
        field.attname: values[field.attname]
        for field in instance._meta.concrete_fields
        if field.attname in values
    }


def _stored_view(instance: Any) -> Any:
    """A copy of ``instance`` with the values it was loaded or last saved with, or
    None when they are not known. Related objects are not copied: they belong to the
    new values (a deferred field is loaded from the database when read)."""
    stored = instance.__dict__.get(_STORED)
    if stored is None or stored.get(instance._meta.pk.attname) != instance.pk:
        return None
    view = copy.copy(instance)
    view.__dict__.update(stored)
    view.__dict__.pop("_prefetched_objects_cache", None)
    view._state = ModelState()
    view._state.adding = False
    view._state.db = instance._state.db
    return view


def _takes_action(binding: type) -> bool:
    """Whether ``binding.group_names`` is 0.17's ``(self, instance, action)``."""
    static = inspect.getattr_static(binding, "group_names", None)
    if static is None or isinstance(static, classmethod | staticmethod):
        return False
    try:
        parameters = inspect.signature(static).parameters
    except (TypeError, ValueError):
        return False
    return len(parameters) == 3
