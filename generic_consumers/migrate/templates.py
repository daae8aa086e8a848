"""Templates: the 1.x JavaScript bridge moves to ``generic_consumers/js/``.

``{% static 'channels/js/websocketbridge.js' %}`` (either quote style), and the same
path after ``{{ STATIC_URL }}`` or a literal ``/static/``, become
``generic_consumers/js/websocketbridge.js``: the same global
``channels.WebSocketBridge`` with the same API.
"""

from __future__ import annotations

import re
from pathlib import PurePath

__all__ = ["TEMPLATE_SUFFIXES", "is_template", "rewrite_template"]

TEMPLATE_SUFFIXES = {
    ".html",
    ".htm",
    ".txt",
    ".xml",
    ".jinja",
    ".jinja2",
    ".j2",
    ".djhtml",
    ".tpl",
}
# Not preceded by a path character: "mychannels/js/..." is someone else's file.
_BRIDGE = re.compile(r"(?<![\w.-])channels/js/websocketbridge\.js\b")
NEW_BRIDGE = "generic_consumers/js/websocketbridge.js"


def is_template(path: PurePath) -> bool:
    """A file under a ``templates`` directory with a template suffix."""
    return path.suffix in TEMPLATE_SUFFIXES and "templates" in path.parts[:-1]


def rewrite_template(text: str) -> str:
    return _BRIDGE.sub(NEW_BRIDGE, text)
