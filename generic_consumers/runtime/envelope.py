"""What travels on the channel layer.

Every message is wrapped in an envelope with a ``type`` key (Channels 4 layers and its
``runworker`` require one); the 1.x content rides untouched under ``"content"``, so a
user's own ``"type"`` key survives.
"""

from __future__ import annotations

from typing import Any

__all__ = ["MEMBERSHIP", "MESSAGE", "membership", "wrap"]

MESSAGE = "generic_consumers.message"
# Sent to a reply channel when a group add/discard for it happens in another process,
# so the socket still knows every group to leave when it goes away.
MEMBERSHIP = "generic_consumers.membership"


def wrap(content: dict[str, Any]) -> dict[str, Any]:
    return {"type": MESSAGE, "content": content}


def membership(group: str, joined: bool) -> dict[str, Any]:
    return {"type": MEMBERSHIP, "group": group, "joined": joined}
