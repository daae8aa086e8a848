"""Sessions for consumers: per-socket *channel sessions* and the browser's HTTP session.

``@channel_session`` gives ``message.channel_session``: a Django session store keyed on
the socket's reply channel, so every message of that socket — and every message that
carries its ``reply_channel``, such as those a demultiplexer ``mapping`` forwards to a
named channel — sees the same data, in whichever process or thread it is handled. It is
saved after the consumer when modified and removed when the socket goes away.

``@http_session`` gives ``message.http_session``: the session of the handshake's session
cookie (``None`` without one). All decorators work on ``def`` and ``async def``
consumers, functions or methods.
"""

from __future__ import annotations

import hashlib
import logging
from importlib import import_module
from typing import Any, overload
from urllib.parse import parse_qs

from django.conf import settings
from django.http.cookie import parse_cookie

from ._decorate import F, Step, decorator
from ._headers import header_value
from .conf import get_settings
from .exceptions import ConsumeLater
from .message import Message
from .runtime.registry import sockets
from .runtime.threads import SyncThread, sync_threads

__all__ = [
    "channel_and_http_session",
    "channel_session",
    "enforce_ordering",
    "http_session",
    "session_for_reply_channel",
]

logger = logging.getLogger("generic_consumers")

SIGNED_COOKIES = "django.contrib.sessions.backends.signed_cookies"

# Reply channels of sockets in this process whose channel session exists: their
# messages skip the existence check, and the socket deletes the session when it goes.
_in_use: set[str] = set()


def _engine(path: str) -> Any:
    if path == SIGNED_COOKIES:
        raise ValueError(
            "Channel sessions cannot use the signed-cookie session engine: there is no "
            "cookie to store them in. Set CHANNEL_SESSION_ENGINE (or SESSION_ENGINE) "
            "to a server-side engine such as 'django.contrib.sessions.backends.db' or "
            "'django.contrib.sessions.backends.cache'."
        )
    return import_module(path)


def channel_session_key(reply_channel: str) -> str:
    """The fixed session key of a reply channel: ``"chn"`` + 29 hex digits of SHA-1."""
    return "chn" + hashlib.sha1(reply_channel.encode("utf-8")).hexdigest()[:29]


def session_for_reply_channel(reply_channel: str) -> Any:
    """The channel-session store of ``reply_channel`` (loaded lazily, on first access).

    Uses ``CHANNEL_SESSION_ENGINE`` when set, else ``SESSION_ENGINE``; the signed-cookie
    engine raises ``ValueError``.
    """
    path = getattr(settings, "CHANNEL_SESSION_ENGINE", None) or settings.SESSION_ENGINE
    return _store_class(path)(session_key=channel_session_key(reply_channel))


_store_classes: dict[str, type] = {}


def _store_class(path: str) -> type:
    """The engine's ``SessionStore``, keeping its fixed key when there is no row yet.

    Django's stores forget their key when loading finds nothing (a session id from a
    cookie that no longer exists must not be reused), so a channel session read before
    it is created would be saved under a random key. A reply channel's key is meant to
    be used before the row exists.
    """
    store = _store_classes.get(path)
    if store is None:
        base = _engine(path).SessionStore

        class ChannelSessionStore(base):  # type: ignore[valid-type,misc]
            row_missing = False

            def load(self) -> Any:
                key: Any = self.session_key
                data = super().load()
                if key is not None and self.session_key is None:
                    self._session_key = key
                    self.row_missing = True
                return data

            def save(self, must_create: bool = False) -> None:
                if self.row_missing and not must_create:
                    from django.contrib.sessions.backends.base import CreateError

                    try:  # the row is gone (or never was): make it, same key
                        super().save(must_create=True)
                    except CreateError:  # someone else made it meanwhile
                        super().save()
                else:
                    super().save(must_create=must_create)
                self.row_missing = False

        store = _store_classes[path] = ChannelSessionStore
    return store


def _http_store(session_key: str) -> Any:
    return import_module(settings.SESSION_ENGINE).SessionStore(session_key=session_key)


def _loaded(session: Any) -> Any:
    # Stores load on first access; do it here, in the thread the steps run in, so an
    # async consumer reading the session never does blocking I/O on the event loop.
    if session is not None:
        session.keys()
    return session


# -- channel session -------------------------------------------------------------------


def _enter_channel(message: Message) -> None:
    if getattr(message, "channel_session", None) is not None:
        return  # nested decorators share one store
    name = message.content.get("reply_channel")
    if not name:
        raise ValueError(
            f"channel_session needs a message with a reply_channel; {message!r} has "
            "none."
        )
    session = session_for_reply_channel(name)
    if name not in _in_use:
        if not session.exists(session.session_key):
            from django.contrib.sessions.backends.base import CreateError

            try:
                session.save(must_create=True)
            except CreateError:
                # Another consumer of this socket created it at the same moment.
                raise ConsumeLater() from None
        if name in sockets:
            _in_use.add(name)
    message.channel_session = _loaded(session)


def _leave_channel(message: Message, ok: bool) -> None:
    session = message.channel_session
    key = channel_session_key(message.content["reply_channel"])
    if session.session_key != key:
        # flush() (a logout) deleted it: leave it deleted. Otherwise the row vanished
        # (expired, cleared) or cycle_key() moved it: store it under the fixed key.
        if session.is_empty():
            return
        if session.session_key:
            session.delete()
        session._session_key = key
        from django.contrib.sessions.backends.base import CreateError

        try:
            session.save(must_create=True)
        except CreateError:
            session.save()
    elif session.modified:
        session.save()
    session.modified = False


_CHANNEL = Step("channel_session", _enter_channel, _leave_channel)


async def release_channel_session(
    reply_channel: str, thread: SyncThread | None = None
) -> None:
    """Delete the channel session of a socket that went away (never raises).

    Called by the socket's cleanup; costs nothing when no channel session was used.
    """
    if reply_channel not in _in_use:
        return
    _in_use.discard(reply_channel)
    try:
        await sync_threads.run(
            thread or sync_threads.pick(),
            lambda: session_for_reply_channel(reply_channel).delete(),
        )
    except Exception:
        logger.exception("Could not delete the channel session of %r", reply_channel)


# -- HTTP session ----------------------------------------------------------------------


def _query_session_key(query_string: Any) -> str | None:
    if isinstance(query_string, bytes):
        query_string = query_string.decode("latin-1")
    if not query_string:
        return None
    values = parse_qs(query_string).get("session_key")
    return values[0] if values else None


def _find_http_session(message: Message) -> Any:
    if get_settings()["SESSION_KEY_IN_QUERY"]:
        key = _query_session_key(message.content.get("query_string"))
        if key:
            return _http_store(key)
    scope = message.scope
    if (
        scope is not None
        and "session" in scope
        and message.channel_name == "websocket.connect"
    ):
        # Channels' SessionMiddleware already made it: reuse, do not load twice.
        session = scope["session"]
        return session if session.session_key else None
    cookie = header_value(message.content.get("headers"), b"cookie")
    if cookie is None:
        return None
    key = parse_cookie(cookie.decode("latin-1")).get(settings.SESSION_COOKIE_NAME)
    return _http_store(key) if key else None


def _enter_http(message: Message) -> None:
    if not hasattr(message, "http_session"):
        message.http_session = _loaded(_find_http_session(message))


def _leave_http(message: Message, ok: bool) -> None:
    session = message.http_session
    if ok and session is not None and session.modified and not session.is_empty():
        session.save()
        session.modified = False


_HTTP = Step("http_session", _enter_http, _leave_http)


def _enter_bridge(message: Message) -> None:
    # Remember the HTTP session key in the channel session on connect; rebuild the
    # HTTP session from it on later messages, which carry no cookie.
    name = settings.SESSION_COOKIE_NAME
    channel, http = message.channel_session, message.http_session
    if http is not None:
        if http.session_key and channel.get(name) != http.session_key:
            channel[name] = http.session_key
    elif channel.get(name):
        message.http_session = _loaded(_http_store(channel[name]))


_BRIDGE = Step("channel_and_http_session", _enter_bridge)

# -- the decorators --------------------------------------------------------------------

_channel_session = decorator("channel_session", (_CHANNEL,))
_http_session = decorator("http_session", (_HTTP,))
_channel_and_http_session = decorator("http_session", (_HTTP, _CHANNEL, _BRIDGE))


def channel_session(func: F) -> F:
    """Give the consumer ``message.channel_session``.

    The store is keyed on the reply channel, created on first use, saved after the
    consumer when modified (and not emptied by ``flush()``), and deleted when the socket
    goes away.
    """
    return _channel_session(func)


def http_session(func: F) -> F:
    """Give the consumer ``message.http_session``.

    The session named by the handshake's session cookie, or ``None`` (no cookie, or a
    message that is not a connect). ``?session_key=`` is honoured only with
    ``GENERIC_CONSUMERS["SESSION_KEY_IN_QUERY"]``, and then wins over the cookie. Saved
    after the consumer returns when modified; never created.
    """
    return _http_session(func)


def channel_and_http_session(func: F) -> F:
    """Both sessions, with the HTTP one on every message of the socket.

    On connect the HTTP session key is kept in the channel session; later messages get
    ``message.http_session`` rebuilt from it.
    """
    return _channel_and_http_session(func)


@overload
def enforce_ordering(func: F, *, slight: bool = False) -> F: ...
@overload
def enforce_ordering(func: None = None, *, slight: bool = False) -> Any: ...
def enforce_ordering(func: Any = None, *, slight: bool = False) -> Any:
    """Accepted for 1.x code: a socket's messages already run one at a time, in order.

    Works as ``@enforce_ordering`` and ``@enforce_ordering()``; implies
    :func:`channel_session` as it did. ``slight=True`` (removed in 1.0) raises.
    """
    if slight:
        raise ValueError(
            "enforce_ordering(slight=True) was removed in Channels 1.0; per-socket "
            "ordering is always strict here, so drop the argument."
        )
    if func is None:
        return enforce_ordering
    wrapped = channel_session(func)
    # The 1.x test client parks messages sent out of order for such consumers.
    wrapped._generic_consumers_ordered = True
    return wrapped
