"""The engine behind the 1.x API. Private: import the public modules instead.

One frame's path, crossing each part once::

    ASGI server ─event─> socket.WebsocketSocket      (handshake, ordering, retries)
                           │ host.message() / host.route()   (the public side, via Host)
                           ▼
                         outcome.consume()            (what a consumer's result means)
                           │ invoke.run_turn()        (loop or sticky thread, one Turn)
                           ▼
                         delivery.finish()            (the turn's sends, in order)
                           ├─> registry.sockets[...].deliver()  a socket of this process
                           └─> the channel layer      (envelope.wrap) ─> other processes
                                                       └─> worker.consume_forever()

Supporting parts: ``context`` (the per-turn context), ``threads`` (sticky sync
threads, ``run_blocking``), ``placement`` (loop or thread, decided once),
``replies`` (1.x reply content to ASGI events), ``membership`` (bounded group
changes) and ``refresher`` (re-adding live sockets' groups), ``outage`` (layer faults,
logged once), ``tasks`` (a socket's background tasks and keepalive pings, made on
first use), ``chain`` and ``frames`` (a frame middleware stack, and each socket's wire
through it, between the server and the socket).

The runtime never imports the public modules: what it needs from them (building a
``Message``, matching the routing, cleaning up sessions) comes through the ``Host``
protocol in ``host``, which ``generic_consumers.asgi.RoutingApplication`` implements.
"""
