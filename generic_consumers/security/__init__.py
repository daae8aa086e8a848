"""Handshake security: checking the ``Origin`` of WebSocket handshakes.

See :mod:`generic_consumers.security.websockets`.
"""

__all__: list[str] = []
