"""The 1.x synchronous test clients: ``Client``, ``WSClient`` and ``HttpClient``.

A client puts messages on the (in-memory) channel layer like a protocol server would,
and ``consume()`` runs the routed consumer right away, in the test's thread, through the
real routing and send buffering. Replies land on the client's reply channel, where
``receive()`` reads them.
"""

from __future__ import annotations

import copy
import json as jsonlib
import re
import string
import warnings
from importlib import import_module
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import ImproperlyConfigured
from django.core.serializers.json import DjangoJSONEncoder
from django.http import HttpRequest
from django.utils.crypto import get_random_string

from ..channel import Channel, Group
from ..layers import DEFAULT_CHANNEL_LAYER, ChannelLayerWrapper, channel_layers
from ..message import Message
from ._layers import receive_content
from ._ordering import keeper_for, wants_ordering
from ._run import call_consumer

__all__ = ["Client", "HttpClient", "WSClient"]

HeaderPairs = list[list[bytes]]


def _as_bytes(value: str | bytes) -> bytes:
    return value if isinstance(value, bytes) else str(value).encode("latin-1")


class Client:
    """Send messages, run the consumer they route to, and read what it sent back.

    ``reply_channel`` is the client's own channel (the alias plus five random letters,
    as in 1.x); everything a consumer sends to ``message.reply_channel`` lands there.
    """

    def __init__(self, alias: str = DEFAULT_CHANNEL_LAYER) -> None:
        self.alias = alias
        prefix = re.sub(r"[^a-zA-Z0-9\-_.]", "", alias) or "client"
        self.reply_channel = prefix + get_random_string(5, string.ascii_letters)

    @property
    def channel_layer(self) -> ChannelLayerWrapper:
        """The ``channel_layers[alias]`` wrapper (with its routing) the client uses."""
        return channel_layers[self.alias]

    def send(self, to: str, content: dict[str, Any] | None = None) -> None:
        """Put a copy of ``content`` on channel ``to`` now (``reply_channel`` added)."""
        content = copy.deepcopy(content) if content else {}
        content.setdefault("reply_channel", self.reply_channel)
        Channel(to, channel_layer=self.channel_layer).send(content, immediately=True)

    def consume(self, channel: str, fail_on_none: bool = True) -> Any:
        """Take the next message on ``channel``, run its consumer, flush its sends.

        Returns what the consumer returned: the instance for class-based consumers.
        With nothing to consume or no route for the message, raises ``AssertionError``
        (or returns None when ``fail_on_none`` is false). Exceptions from the consumer
        propagate, except ``ChannelSocketException``, whose ``run()`` is applied.
        """
        layer = self.channel_layer
        content = receive_content(layer.raw, channel)
        if content is None:
            if fail_on_none:
                raise AssertionError(f"No message on channel {channel!r} to consume.")
            return None
        message = Message(content, channel, layer)
        match = layer.router.match(message)
        if match is None:
            if fail_on_none:
                raise AssertionError(
                    f"No route matched {message!r} (path {content.get('path')!r}); "
                    f"add one for {channel!r} to the routing or use apply_routes()."
                )
            return None
        consumer, kwargs = match
        if "order" not in content or not wants_ordering(consumer, channel):
            return call_consumer(consumer, message, kwargs)
        keeper = keeper_for(layer)
        if not keeper.in_turn(channel, content):
            return None  # parked until the messages before it have been consumed
        try:
            return call_consumer(consumer, message, kwargs)
        finally:
            for parked_channel, parked in keeper.consumed(content):
                Channel(parked_channel, channel_layer=layer).send(
                    parked, immediately=True
                )

    def send_and_consume(
        self,
        channel: str,
        content: dict[str, Any] | None = None,
        fail_on_none: bool = True,
    ) -> Any:
        """:meth:`send` then :meth:`consume`; returns the consumer's result."""
        self.send(channel, content)
        return self.consume(channel, fail_on_none=fail_on_none)

    def receive(self) -> dict[str, Any] | None:
        """The next message content sent to the reply channel, or None."""
        return receive_content(self.channel_layer.raw, self.reply_channel)

    def get_next_message(self, channel: str) -> Message | None:
        """The next message on ``channel`` as a ``Message``, or None; not consumed."""
        content = receive_content(self.channel_layer.raw, channel)
        if content is None:
            return None
        return Message(content, channel, self.channel_layer)

    def get_consumer_by_channel(
        self, channel: str, content: dict[str, Any] | None = None
    ) -> Any:
        """The consumer a message on ``channel`` (with ``content``) routes to."""
        message = Message(dict(content or {}), channel, self.channel_layer)
        match = self.channel_layer.router.match(message)
        return match[0] if match else None

    def join_group(self, group_name: str) -> None:
        """Add the reply channel to the group ``group_name``."""
        Group(group_name, channel_layer=self.channel_layer).add(self.reply_channel)


class WSClient(Client):
    """A WebSocket client: messages shaped like the runtime's, with headers and cookies.

    ``websocket.connect`` carries ``path``, ``query_string``, ``headers`` (a list of
    ``[name, value]`` byte pairs, with a ``cookie`` header holding :meth:`get_cookies`),
    ``client``, ``server``, ``subprotocols`` and ``order`` 0; ``websocket.receive``
    carries ``path``, ``order`` and ``text`` or ``bytes``; ``websocket.disconnect``
    carries ``path``, ``code`` and ``order``. ``order`` counts up per connection.
    With ``ordered=True`` a manual ``order`` is refused (1.x).
    """

    def __init__(
        self,
        alias: str = DEFAULT_CHANNEL_LAYER,
        ordered: bool = False,
        headers: dict[Any, Any] | list[Any] | None = None,
    ) -> None:
        super().__init__(alias)
        self.ordered = ordered
        self.order = 0
        self._headers: HeaderPairs = []
        self._cookies: dict[str, str] = {}
        for name, value in (
            headers.items() if isinstance(headers, dict) else headers or ()
        ):
            self.set_header(name, value)

    # -- headers and cookies ---------------------------------------------------------

    def set_header(self, name: str | bytes, value: str | bytes) -> None:
        """Send header ``name`` on connect (replacing it); cookies: set_cookie."""
        key = _as_bytes(name).lower()
        if key == b"cookie":
            raise ValueError("Use set_cookie() to send cookies, not set_header().")
        self._headers = [pair for pair in self._headers if pair[0] != key]
        self._headers.append([key, _as_bytes(value)])

    def set_cookie(self, key: str, value: str) -> None:
        self._cookies[key] = value

    def get_cookies(self) -> dict[str, str]:
        """The cookies sent on connect (with the session cookie once there is one)."""
        return dict(self._cookies)

    @property
    def headers(self) -> dict[str, bytes]:
        """The connect headers as 1.x gave them: ``{name: value}``, values bytes, with
        a ``cookie`` entry holding :meth:`get_cookies` when there are any. (The
        connect message itself carries them as ``[name, value]`` byte pairs, as
        servers send them.)"""
        return {name.decode("latin-1"): value for name, value in self._header_pairs()}

    def _header_pairs(self) -> HeaderPairs:
        pairs = [list(pair) for pair in self._headers]
        if self._cookies:
            cookie = "; ".join(f"{k}={v}" for k, v in self._cookies.items())
            pairs.append([b"cookie", cookie.encode("latin-1")])
        return pairs

    # -- sessions and users ----------------------------------------------------------

    @property
    def session(self) -> Any:
        """The HTTP session of this client (its cookie is sent on connect).

        Like ``django.test.Client.session``: a new store loaded on each access, created
        (and its cookie set) on first use. Save it after changing it.
        """
        if not apps.is_installed("django.contrib.sessions"):
            raise ImproperlyConfigured(
                "WSClient.session needs 'django.contrib.sessions' in INSTALLED_APPS."
            )
        engine = import_module(settings.SESSION_ENGINE)
        key = self._cookies.get(settings.SESSION_COOKIE_NAME)
        if key:
            return engine.SessionStore(key)
        session = engine.SessionStore()
        session.save()
        self._cookies[settings.SESSION_COOKIE_NAME] = session.session_key
        return session

    @property
    def channel_session(self) -> Any:
        """The channel session of the reply channel (needs ``.sessions``)."""
        try:
            from ..sessions import session_for_reply_channel
        except ImportError as exc:
            raise ImproperlyConfigured(
                f"WSClient.channel_session needs generic_consumers.sessions: {exc}"
            ) from exc
        return session_for_reply_channel(self.reply_channel)

    def login(self, **credentials: Any) -> bool:
        """Authenticate with ``credentials`` and log the session in; True on success."""
        from django.contrib.auth import authenticate

        user = authenticate(**credentials)
        if (
            user is None
            or not getattr(user, "is_active", True)
            or not apps.is_installed("django.contrib.sessions")
        ):
            return False
        self._login(user, getattr(user, "backend", None))
        return True

    def force_login(self, user: Any, backend: str | None = None) -> None:
        """Log ``user`` in without credentials (first ``AUTHENTICATION_BACKENDS``)."""
        if backend is None:
            from django.contrib.auth import load_backend

            backend = next(
                path
                for path in settings.AUTHENTICATION_BACKENDS
                if hasattr(load_backend(path), "get_user")
            )
        self._login(user, backend)

    def _login(self, user: Any, backend: str | None) -> None:
        from django.contrib.auth import login

        request = HttpRequest()
        request.session = self.session
        login(request, user, backend)
        request.session.save()
        self._cookies[settings.SESSION_COOKIE_NAME] = str(request.session.session_key)

    def logout(self) -> None:
        """Drop the session (and its cookie)."""
        key = self._cookies.pop(settings.SESSION_COOKIE_NAME, None)
        if key:
            engine = import_module(settings.SESSION_ENGINE)
            engine.SessionStore(key).delete()

    # -- messages --------------------------------------------------------------------

    def send(
        self,
        to: str,
        content: dict[str, Any] | None = None,
        text: Any = None,
        path: str = "/",
    ) -> None:
        """Send a message shaped like the runtime's; ``text`` that is not a string is
        JSON-encoded, a query string in ``path`` goes to ``query_string``."""
        content = self._get_content(content, text, path, to=to)
        Channel(to, channel_layer=self.channel_layer).send(content, immediately=True)

    def _get_content(
        self,
        content: dict[str, Any] | None = None,
        text: Any = None,
        path: str = "/",
        *,
        to: str = "websocket.receive",
    ) -> dict[str, Any]:
        """The message :meth:`send` would send to ``to`` (1.x's helper, same first
        arguments), counting ``order`` as sending it would."""
        content = copy.deepcopy(content) if content else {}
        content.setdefault("reply_channel", self.reply_channel)
        path, _, query = path.partition("?")
        if to.startswith("websocket."):
            content.setdefault("path", path)
        if to == "websocket.connect":
            content.setdefault("headers", self._header_pairs())
            content.setdefault("query_string", query.encode("latin-1"))
            content.setdefault("client", ["127.0.0.1", 50000])
            content.setdefault("server", ["testserver", 80])
            content.setdefault("subprotocols", [])
        elif to == "websocket.disconnect":
            content.setdefault("code", 1000)
        if text is not None:
            content["text"] = (
                text
                if isinstance(text, str)
                else jsonlib.dumps(text, cls=DjangoJSONEncoder)
            )
        if "order" in content:
            if self.ordered:
                raise ValueError(
                    "Do not set 'order' by hand on an ordered WSClient; it counts "
                    "messages itself."
                )
        elif to == "websocket.connect":
            self.order = content["order"] = 0
        elif to == "websocket.receive":
            self.order += 1
            content["order"] = self.order
        elif to == "websocket.disconnect":
            content["order"] = self.order + 1
        return content

    def consume(
        self, channel: str, fail_on_none: bool = True, check_accept: bool = True
    ) -> Any:
        """:meth:`Client.consume`; after ``websocket.connect``, with ``check_accept``,
        the first reply must be ``{"accept": True}`` (else ``AssertionError``)."""
        result = super().consume(channel, fail_on_none=fail_on_none)
        if channel == "websocket.connect" and check_accept:
            reply = super().receive()
            if reply != {"accept": True}:
                raise AssertionError(
                    f"Connection rejected: the first reply was {reply!r}, not "
                    "{'accept': True}. Pass check_accept=False for consumers that "
                    "close or send data first."
                )
        return result

    def send_and_consume(  # type: ignore[override]
        self,
        channel: str,
        content: dict[str, Any] | None = None,
        text: Any = None,
        path: str = "/",
        fail_on_none: bool = True,
        check_accept: bool = True,
    ) -> Any:
        self.send(channel, content, text, path)
        return self.consume(
            channel, fail_on_none=fail_on_none, check_accept=check_accept
        )

    def receive(self, json: bool = True) -> Any:
        """The next reply: with ``json``, a text frame comes back decoded; otherwise
        the text; a reply without text (``{"accept": True}``) comes back whole."""
        content = super().receive()
        if content is None:
            return None
        if "text" in content:
            text = content["text"]
            return jsonlib.loads(text) if json and isinstance(text, str) else text
        return content


class HttpClient(WSClient):
    """Deprecated 1.x name of :class:`WSClient`."""

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        warnings.warn(
            "HttpClient is deprecated; use WSClient.", DeprecationWarning, stacklevel=2
        )
        super().__init__(*args, **kwargs)
