"""``BaseConsumer``: a class instantiated per message that dispatches by channel."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, ClassVar

from ..message import Message
from ..routing import RouteClass, route_class

__all__ = ["AsyncBaseConsumer", "BaseConsumer"]


class BaseConsumer:
    """Map channels to methods with ``method_mapping``; one instance per message.

    Constructing the class handles the message, so the routing calls it like a function
    consumer. Override :meth:`get_handler` to wrap the handler (decorators).
    """

    method_mapping: ClassVar[dict[str, str]] = {}
    channel_session: bool = False
    channel_session_user: bool = False

    def __init__(self, message: Message, **kwargs: Any) -> None:
        self.message = message
        self.kwargs = kwargs
        self.dispatch(message, **kwargs)

    @classmethod
    def channel_names(cls) -> set[str]:
        """The channels this class consumes (the keys of ``method_mapping``)."""
        return set(cls.method_mapping)

    @classmethod
    def as_route(
        cls, attrs: dict[str, Any] | None = None, **filters: Any
    ) -> RouteClass:
        """A ``route_class`` for this class.

        ``attrs`` become class attributes of a subclass that keeps this class's name
        and docstring.
        """
        consumer: type = cls
        if attrs:
            assert isinstance(attrs, dict), f"attrs must be a dict, not {attrs!r}"
            consumer = type(
                cls.__name__,
                (cls,),
                {
                    "__module__": cls.__module__,
                    "__qualname__": cls.__qualname__,
                    "__doc__": cls.__doc__,
                    **attrs,
                },
            )
        return route_class(consumer, **filters)

    @classmethod
    def loop_safe_channels(cls) -> frozenset[str]:
        """Channels whose handler is library code that never blocks, so the runtime
        may run it on the event loop instead of a worker thread. None by default;
        ``WebsocketConsumer`` lists the events it handles with its defaults."""
        return frozenset()

    def get_handler(self, message: Message, **kwargs: Any) -> Callable[..., Any]:
        """The bound method for the message's channel, wrapped by the session flags."""
        name = self.method_mapping.get(message.channel_name)
        if name is None:
            raise KeyError(
                f"{type(self).__name__}.method_mapping has no entry for channel "
                f"{message.channel_name!r}."
            )
        if name.startswith("_"):
            raise ValueError(
                f"{type(self).__name__}.method_mapping maps {message.channel_name!r} "
                "to "
                f"{name!r}; handler names starting with '_' are refused."
            )
        handler = getattr(self, name)
        if self.channel_session_user:
            from ..auth import channel_session_user

            return channel_session_user(handler)
        if self.channel_session:
            from ..sessions import channel_session

            return channel_session(handler)
        return handler

    def dispatch(self, message: Message, **kwargs: Any) -> Any:
        """Call the handler for ``message``; runs once, from the constructor."""
        return self.get_handler(message, **kwargs)(message, **kwargs)


class AsyncBaseConsumer(BaseConsumer):
    """The async twin of :class:`BaseConsumer`: handlers are ``async def``.

    The runtime awaits the instance, which dispatches the message on the event loop
    (no thread hop). Everything else — ``method_mapping``, ``get_handler``,
    ``as_route`` — is inherited unchanged.
    """

    is_async: ClassVar[bool] = True

    def __init__(self, message: Message, **kwargs: Any) -> None:
        self.message = message
        self.kwargs = kwargs

    def __await__(self) -> Any:
        return self._consume().__await__()

    async def _consume(self) -> AsyncBaseConsumer:
        await self.dispatch(self.message, **self.kwargs)
        return self

    async def dispatch(self, message: Message, **kwargs: Any) -> Any:
        """Await the handler for ``message``; runs once, when the runtime awaits."""
        return await self.get_handler(message, **kwargs)(message, **kwargs)
