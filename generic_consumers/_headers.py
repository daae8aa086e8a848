"""Reading handshake headers, whichever shape they come in.

ASGI (and our connect messages) carry headers as a list of ``[name, value]`` byte pairs
with lower-case names; the 1.x test client sent a dict. Both are accepted, with ``str``
or ``bytes`` names and values, so old tests and hand-built messages keep working.
"""

from __future__ import annotations

from typing import Any

__all__ = ["header_value"]


def _bytes(value: Any) -> bytes | None:
    if isinstance(value, bytes):
        return value
    if isinstance(value, str):
        return value.encode("latin-1", "replace")
    return None


def header_value(headers: Any, name: bytes) -> bytes | None:
    """The value of header ``name`` (lower-case bytes), or None when absent.

    Repeated headers are joined with ``", "`` (``Cookie`` ones with ``"; "``), as HTTP
    allows; malformed entries are skipped.
    """
    if not headers:
        return None
    pairs = headers.items() if isinstance(headers, dict) else headers
    found: list[bytes] = []
    for pair in pairs:
        try:
            key, value = pair
        except (TypeError, ValueError):
            continue
        key_bytes, value_bytes = _bytes(key), _bytes(value)
        if key_bytes is None or value_bytes is None:
            continue
        if key_bytes.lower() == name:
            found.append(value_bytes)
    if not found:
        return None
    return (b"; " if name == b"cookie" else b", ").join(found)
