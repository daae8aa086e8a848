"""The ASGI side: ``RoutingApplication`` and ``get_application()``."""

from __future__ import annotations

import asyncio
import weakref
from collections.abc import Sequence
from typing import Any

from django.core.exceptions import ImproperlyConfigured

from ._native import connect_content, with_native_routes
from .channel import Channel
from .conf import get_settings
from .delay import DELAY_CHANNEL
from .delay.worker import DelayWorker, in_database
from .layers import ChannelLayerWrapper, channel_layers
from .message import Message
from .middleware.stack import SocketStacks
from .routing import Router, router_for
from .runtime.counters import publisher
from .runtime.host import Match
from .runtime.mailbox import stop_readers
from .runtime.named import close as close_queues
from .runtime.refresher import start_refresher, stop_refresher
from .runtime.socket import WebsocketSocket
from .runtime.worker import consume_forever, named_channels, serve_channel_scope
from .sessions import release_channel_session

__all__ = ["RoutingApplication", "get_application"]


class RoutingApplication:
    """An ASGI 3 application that runs a 1.x routing.

    Serves the ``"websocket"`` scope (one socket per call), the ``"channel"`` scope that
    Channels' ``runworker`` opens for named channels, and ``"lifespan"``. Unless
    ``GENERIC_CONSUMERS["IN_PROCESS_WORKERS"]`` is off, it also consumes every named
    channel of its routing inside this process, starting on its first call of any
    scope (``get_application()`` also starts them on the first HTTP request).

    It is the runtime's :class:`~generic_consumers.runtime.host.Host`: it builds the
    1.x messages, matches them and cleans up sessions after a socket.
    """

    def __init__(self, routing: Any = None, layer: str | None = None) -> None:
        self._routing = routing
        self._layer_alias = layer
        self._router: Router | None = None
        self._delay: DelayWorker | None = None
        self._stacks = SocketStacks()  # GENERIC_CONSUMERS["MIDDLEWARE"] and routes'
        self._workers: weakref.WeakKeyDictionary[
            asyncio.AbstractEventLoop, list[asyncio.Task]
        ] = weakref.WeakKeyDictionary()

    @property
    def settings(self) -> dict[str, Any]:
        return get_settings()

    @property
    def layer(self) -> ChannelLayerWrapper:
        return channel_layers[self._layer_alias or self.settings["CHANNEL_LAYER"]]

    @property
    def router(self) -> Router:
        if self._router is None:
            routing = self._routing
            if routing is None:
                routing = self.settings["ROUTING"]
                if routing is None:
                    raise ImproperlyConfigured(
                        "RoutingApplication() needs a routing: pass one, or set "
                        "GENERIC_CONSUMERS['ROUTING'] to a dotted path."
                    )
            self._router = router_for(routing)
        return self._router

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        kind = scope["type"]
        if kind == "websocket":
            self.start_workers()
            # Frame middleware, if any applies, stands between the server and the
            # socket (see generic_consumers.middleware).
            wire = self._stacks.wire(self, self.router, receive, send)
            if wire is None:
                socket = WebsocketSocket(self, scope, receive, send)
            else:
                socket = WebsocketSocket(self, scope, wire.receive, wire.send, send)
                wire.socket = socket
            await socket.run()
        elif kind == "channel":
            self.start_workers()
            await serve_channel_scope(self, scope, receive)
        elif kind == "lifespan":
            await self._lifespan(receive, send)
        else:
            raise ValueError(
                "RoutingApplication serves 'websocket', 'channel' and 'lifespan' "
                f"scopes, not {kind!r}; mount it in a ProtocolTypeRouter "
                "(get_application() does that for you)."
            )

    # -- the runtime's Host ----------------------------------------------------------

    def message(
        self, channel: str, content: dict[str, Any], socket: WebsocketSocket | None
    ) -> Message:
        if socket is None:
            return Message(content, channel, self.layer)
        # Messages carry the wrapper even without a layer: Group and named channels then
        # say what is missing, while the socket's own replies never need the layer.
        wrapper = self.layer
        message = Message(content, channel, wrapper)
        message.scope = socket.scope
        # Every message of the socket shares one reply Channel, built once.
        if socket.shared is None:
            socket.shared = Channel(socket.reply_channel, channel_layer=wrapper)
        message._reply_channel = socket.shared
        return message

    def route(self, message: Message) -> Match | None:
        match = self.router.match(message)
        if (
            match is None
            and message.channel_name == DELAY_CHANNEL
            and self.settings["DELAY_CHANNEL"]
        ):
            return self.delay_worker.consume, {}
        return match

    def routes_handshake(self, scope: dict) -> bool:
        """Whether the routing has a ``websocket.connect`` consumer for this
        handshake (``get_application(native_after=...)`` serves the others)."""
        content = connect_content(scope)
        return self.route(self.message("websocket.connect", content, None)) is not None

    @property
    def delay_worker(self) -> DelayWorker:
        """The ``asgi.delay`` consumer of this application (see ``delay``)."""
        if self._delay is None:
            self._delay = DelayWorker(self.layer)
        return self._delay

    def named_channels(self) -> list[str]:
        """The named channels this application's workers consume: every routed one
        that is not ``websocket.*``, and ``asgi.delay`` unless ``DELAY_CHANNEL`` is
        off."""
        channels = set(self.router.channels)
        if self.settings["DELAY_CHANNEL"]:
            channels.add(DELAY_CHANNEL)
        return named_channels(channels)

    def worker_tasks(
        self, channels: list[str], drain_timeout: float = 0.0
    ) -> list[asyncio.Task]:
        """Start a worker for each of ``channels`` on this loop (and the delay
        channel's database poller when it is among them and the app is installed)."""
        loop = asyncio.get_running_loop()
        tasks = [
            loop.create_task(
                consume_forever(self, channel, drain_timeout=drain_timeout),
                name=f"worker:{channel}",
            )
            for channel in channels
        ]
        if DELAY_CHANNEL in channels and in_database():
            tasks.append(
                loop.create_task(
                    self.delay_worker.poll_forever(), name="worker:asgi.delay:due"
                )
            )
        return tasks

    async def socket_closed(self, socket: WebsocketSocket) -> None:
        await release_channel_session(socket.reply_channel, socket.thread)

    # -- in-process machinery ----------------------------------------------------------

    def start_workers(self) -> None:
        """Start this event loop's in-process machinery, once.

        That is the group membership refresher (always; see ``runtime.membership``)
        and, unless ``IN_PROCESS_WORKERS`` is off, a worker for every named channel of
        the routing.
        """
        loop = asyncio.get_running_loop()
        if loop in self._workers:
            return
        start_refresher()
        publisher.start()  # this process's counters, for manage.py socket_counters
        self._workers[loop] = []
        if self.settings["IN_PROCESS_WORKERS"]:
            self._workers[loop] = self.worker_tasks(self.named_channels())

    async def stop_workers(self) -> None:
        tasks = self._workers.pop(asyncio.get_running_loop(), [])
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self._delay is not None:
            self._delay.cancel()
        await stop_refresher()
        await stop_readers()  # sockets' reply readers; the sockets have gone
        await close_queues()  # this loop's named-channel streams, if any

    async def _lifespan(self, receive: Any, send: Any) -> None:
        while True:
            event = await receive()
            if event["type"] == "lifespan.startup":
                self.start_workers()
                await send({"type": "lifespan.startup.complete"})
            elif event["type"] == "lifespan.shutdown":
                await self.stop_workers()
                await send({"type": "lifespan.shutdown.complete"})
                return


class _StartingWorkers:
    """The outermost application: starts the in-process workers on the first call of
    any scope. Daphne sends no lifespan events, so without this a named channel sent
    to from a view would wait until the first WebSocket connects."""

    def __init__(self, inner: Any, sockets: RoutingApplication) -> None:
        self.inner = inner
        self.sockets = sockets

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        self.sockets.start_workers()
        await self.inner(scope, receive, send)


def get_application(
    routing: Any = None,
    *,
    check_origin: bool = True,
    native_before: Sequence[Any] = (),
    native_after: Sequence[Any] = (),
) -> Any:
    """The project's ASGI application: Django for HTTP, the routing for WebSockets.

    Use it in ``asgi.py`` as ``application = get_application()``; the routing defaults
    to ``GENERIC_CONSUMERS["ROUTING"]``. WebSocket handshakes go through
    :class:`~generic_consumers.security.websockets.OriginValidatorMiddleware` (origins
    must match ``ALLOWED_HOSTS``) unless ``check_origin=False``.

    ``native_before`` and ``native_after`` are Channels 4 URL patterns
    (``path("graphql/", Consumer.as_asgi())``) served beside the 1.x routing: the
    ``before`` ones are tried first, the ``after`` ones only for handshakes no 1.x
    ``websocket.connect`` route matches. With either, Channels'
    ``AuthMiddlewareStack`` wraps both kinds of socket once (inside the origin check).
    """
    from channels.routing import ProtocolTypeRouter
    from django.core.asgi import get_asgi_application

    from .security.websockets import OriginValidatorMiddleware

    http = get_asgi_application()  # sets Django up first
    sockets = RoutingApplication(routing)
    websocket: Any = sockets
    if native_before or native_after:
        websocket = with_native_routes(
            sockets, sockets.routes_handshake, native_before, native_after
        )
    if check_origin:
        websocket = OriginValidatorMiddleware(websocket)
    return _StartingWorkers(
        ProtocolTypeRouter(
            {
                "http": http,
                "websocket": websocket,
                "channel": sockets,
                "lifespan": sockets,
            }
        ),
        sockets,
    )
