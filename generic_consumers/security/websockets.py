"""Origin validation for WebSocket handshakes.

Browsers send the page's ``Origin`` with every handshake and let any page open a socket
to any site, cookies included; checking the origin is what stops another site from
talking to your consumers as your logged-in users.

Two ways to check it, with the same rules:

* :class:`OriginValidatorMiddleware`, ASGI middleware that ``get_application()`` puts in
  front of every WebSocket by default; rejected handshakes never reach a consumer.
* :func:`allowed_hosts_only` (the 1.x decorator, also named
  :class:`AllowedHostsOnlyOriginValidator`) for single connect consumers; subclass
  :class:`BaseOriginValidator` for a rule of your own.

The rules: an ``Origin`` whose host name (scheme and port ignored) does not match
``ALLOWED_HOSTS`` — with ``DEBUG`` and no ``ALLOWED_HOSTS``, ``localhost``,
``127.0.0.1`` and ``[::1]`` — is rejected (HTTP 403) with a warning naming it. A
handshake with no ``Origin`` (a non-browser client) is allowed, unless
``GENERIC_CONSUMERS["REQUIRE_ORIGIN"]`` is ``True``.
"""

from __future__ import annotations

import functools
import inspect
import logging
from collections.abc import Callable, Sequence
from typing import Any
from urllib.parse import urlsplit

from django.conf import settings
from django.http.request import validate_host

from .._decorate import find_message
from .._headers import header_value
from ..conf import get_settings
from ..exceptions import DenyConnection
from ..message import Message
from ..runtime.counters import counters

__all__ = [
    "AllowedHostsOnlyOriginValidator",
    "BaseOriginValidator",
    "OriginValidatorMiddleware",
    "allowed_hosts_only",
    "origin_allowed_by_hosts",
]

logger = logging.getLogger("generic_consumers.security")

CLOSE_POLICY_VIOLATION = 1008
# Django's own fallback for DEBUG with an empty ALLOWED_HOSTS.
DEBUG_HOSTS = (".localhost", "127.0.0.1", "[::1]")


def _allowed_hosts() -> Sequence[str]:
    hosts = settings.ALLOWED_HOSTS
    if settings.DEBUG and not hosts:
        return DEBUG_HOSTS
    return hosts


def origin_allowed_by_hosts(origin: str, hosts: Sequence[str] | None = None) -> bool:
    """Whether the host name of the ``origin`` URL matches ``hosts``.

    ``hosts`` defaults to ``ALLOWED_HOSTS`` (patterns as Django understands them:
    ``".example.com"``, ``"*"``). ``"null"`` and other origins without a host are
    refused.
    """
    try:
        hostname = urlsplit(origin).hostname
    except ValueError:
        return False
    if not hostname:
        return False
    if ":" in hostname:  # urlsplit drops the brackets of an IPv6 literal
        hostname = f"[{hostname}]"
    return validate_host(hostname, _allowed_hosts() if hosts is None else hosts)


def _problem(headers: Any, validate: Callable[[str], bool], rule: str) -> str | None:
    """Why a handshake with these headers must be rejected, or None."""
    raw = header_value(headers, b"origin")
    if not raw:
        if get_settings()["REQUIRE_ORIGIN"]:
            return "it has no Origin header and REQUIRE_ORIGIN is on"
        return None
    try:
        origin = raw.decode("ascii")
    except UnicodeDecodeError:
        return f"its Origin {raw!r} is not ASCII"
    if not validate(origin):
        return f"Origin {origin!r} {rule}"
    return None


def _log(path: Any, problem: str) -> None:
    counters.refused("origin")
    logger.warning("Rejected the WebSocket handshake for %r: %s.", path, problem)


class OriginValidatorMiddleware:
    """ASGI middleware: reject WebSocket handshakes from origins not allowed.

    ``get_application()`` applies it (turn it off with
    ``get_application(check_origin=False)``). To use it yourself::

        application = OriginValidatorMiddleware(RoutingApplication(routing))

    ``allowed_hosts`` defaults to ``ALLOWED_HOSTS``, read on every handshake. Override
    :meth:`validate_origin` for another rule. Scopes other than ``"websocket"`` pass
    through untouched.
    """

    def __init__(
        self, application: Any, allowed_hosts: Sequence[str] | None = None
    ) -> None:
        self.application = application
        self.allowed_hosts = allowed_hosts

    def validate_origin(self, origin: str) -> bool:
        """True when ``origin`` (the header's value) may open a socket."""
        return origin_allowed_by_hosts(origin, self.allowed_hosts)

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope["type"] == "websocket":
            problem = _problem(
                scope.get("headers"), self.validate_origin, "is not in ALLOWED_HOSTS"
            )
            if problem is not None:
                _log(scope.get("path"), problem)
                event = await receive()
                if event["type"] == "websocket.connect":
                    # A close before the accept: the server answers 403.
                    await send(
                        {"type": "websocket.close", "code": CLOSE_POLICY_VIOLATION}
                    )
                return
        await self.application(scope, receive, send)


class BaseOriginValidator:
    """Decorator for connect consumers: raise ``DenyConnection`` for a bad ``Origin``.

    Subclass it and implement :meth:`validate_origin`. Works on functions, on methods,
    on the handler ``get_handler()`` returns, and on ``async def`` consumers.
    """

    #: Completes "Origin '...' ..." in the log line of a rejection.
    rule = "was refused by validate_origin()"

    def __new__(cls, func: Callable[..., Any]) -> Any:
        if inspect.iscoroutinefunction(func) and not issubclass(cls, _AsyncValidator):
            # The runtime tells async consumers by their coroutine __call__.
            cls = _async_variant(cls)
        return super().__new__(cls)

    def __init__(self, func: Callable[..., Any]) -> None:
        self.func = func
        # updated=(): never copy the attributes of a session decorator's wrapper.
        functools.update_wrapper(self, func, updated=())

    def __get__(self, instance: Any, owner: Any = None) -> Any:
        # Used in a class body, bind like a method.
        if instance is None:
            return self
        return functools.partial(self, instance)

    def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.check(find_message(args, type(self).__name__))
        return self.func(*args, **kwargs)

    def check(self, message: Message) -> None:
        """Raise ``DenyConnection`` (and log why) if the handshake is refused."""
        problem = _problem(
            message.content.get("headers"),
            lambda origin: self.validate_origin(message, origin),
            self.rule,
        )
        if problem is not None:
            _log(message.content.get("path"), problem)
            raise DenyConnection(problem)

    def validate_origin(self, message: Message, origin: str) -> bool:
        """True when ``origin`` (the header's value) may open a socket."""
        raise NotImplementedError(
            f"{type(self).__name__} must implement validate_origin(message, origin) "
            "and return True for origins that may connect (see "
            "AllowedHostsOnlyOriginValidator)."
        )


class _AsyncValidator(BaseOriginValidator):
    async def __call__(self, *args: Any, **kwargs: Any) -> Any:
        self.check(find_message(args, type(self).__name__))
        return await self.func(*args, **kwargs)


_async_variants: dict[type, type] = {}


def _async_variant(cls: type) -> type:
    variant = _async_variants.get(cls)
    if variant is None:
        variant = _async_variants[cls] = type(
            cls.__name__,
            (_AsyncValidator, cls),
            {"__module__": cls.__module__, "__qualname__": cls.__qualname__},
        )
    return variant


class AllowedHostsOnlyOriginValidator(BaseOriginValidator):
    """Allow origins whose host name matches ``ALLOWED_HOSTS`` (1.x's decorator)."""

    rule = "is not in ALLOWED_HOSTS"

    def validate_origin(self, message: Message, origin: str) -> bool:
        return origin_allowed_by_hosts(origin)


allowed_hosts_only = AllowedHostsOnlyOriginValidator
