"""Hypothesis strategies for hostile input, shared by the unit tests and the soak.

``tests/test_fuzz.py`` runs them against frame decoding, routing filters and the
demultiplexer in process; ``bench/soak.py`` (``make soak``) sends 100,000 of the same
frames to a real server. Each frame says what must become of it: echoed back as it was
sent, or refused (one warning, the socket stays open).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

__all__ = [
    "ECHO_STREAM",
    "Frame",
    "demux_content",
    "demux_frames",
    "draw_many",
    "json_objects",
    "json_values",
    "paths",
    "route_patterns",
]

ECHO_STREAM = "echo"  # the one stream the fuzz targets serve; any other is unknown
# Deeper than any CPython's recursion guard for json.loads (the frame: 100,000).
DEEP_MIN, DEEP_MAX = 20_000, 100_000

# Text a browser can send: WebSocket text frames are UTF-8, so no lone surrogates.
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=20)
json_scalars = (
    st.none()
    | st.booleans()
    | st.integers(-(2**63), 2**63)
    | st.floats(allow_nan=False, allow_infinity=False)
    | texts
)
json_values = st.recursive(
    json_scalars,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(texts, inner, max_size=4)
    ),
    max_leaves=8,
)
json_objects = st.dictionaries(texts, json_values, max_size=4)


@dataclass(frozen=True)
class Frame:
    """One WebSocket frame for a demultiplexer serving ``ECHO_STREAM``.

    ``echo`` is the payload that must come back on the stream, or None when the frame
    must be refused; ``kind`` names the case (reported when a check fails).
    """

    kind: str
    text: str | None = None
    data: bytes | None = None
    echo: dict[str, Any] | None = None

    @property
    def refused(self) -> bool:
        return self.echo is None


def _dumps(value: Any) -> str:
    return json.dumps(value, separators=(",", ":"))


def _not_json(text: str) -> bool:
    try:
        json.loads(text)
    except ValueError:
        return True
    return False


def _not_str(value: Any) -> bool:
    return not isinstance(value, str)


def _frame(kind: str, content: Any, echo: dict[str, Any] | None = None) -> Frame:
    return Frame(kind, text=_dumps(content), echo=echo)


_good = json_objects.map(
    lambda p: _frame("echo", {"stream": ECHO_STREAM, "payload": p}, echo=p)
)
_cases: dict[str, st.SearchStrategy[Frame]] = {
    "echo": _good,
    "not json": st.one_of(
        texts.filter(_not_json),
        # A good frame cut short: the commonest real-world garbage.
        _good.flatmap(
            lambda f: st.integers(1, len(f.text or "") - 1).map(
                lambda n: (f.text or "")[:n]
            )
        ).filter(_not_json),
    ).map(lambda text: Frame("not json", text=text)),
    "nested too deeply": st.integers(DEEP_MIN, DEEP_MAX).map(
        lambda depth: Frame("nested too deeply", text="[" * depth + "]" * depth)
    ),
    "not an object": json_values.filter(lambda v: not isinstance(v, dict)).map(
        lambda v: _frame("not an object", v)
    ),
    "no stream or payload": st.one_of(
        json_objects.filter(lambda d: "stream" not in d),
        st.fixed_dictionaries({"stream": json_scalars.filter(_not_str)}).map(
            lambda d: {**d, "payload": {}}
        ),
        st.just({"stream": ECHO_STREAM}),
    ).map(lambda d: _frame("no stream or payload", d)),
    "unknown stream": texts.filter(lambda s: s != ECHO_STREAM).map(
        lambda s: _frame("unknown stream", {"stream": s, "payload": {}})
    ),
    "payload not an object": json_values.filter(lambda v: not isinstance(v, dict)).map(
        lambda v: _frame("payload not an object", {"stream": ECHO_STREAM, "payload": v})
    ),
    "binary": st.binary(max_size=64).map(lambda b: Frame("binary", data=b)),
}


# Half the frames are good, the rest spread over the refusals; deep frames are rare
# (each is up to 200 KB).
_WEIGHTS = {
    "echo": 20,
    "not json": 5,
    "nested too deeply": 1,
    "not an object": 4,
    "no stream or payload": 4,
    "unknown stream": 3,
    "payload not an object": 3,
    "binary": 2,
}


def demux_frames() -> st.SearchStrategy[Frame]:
    """Frames for a demultiplexer whose only stream is ``ECHO_STREAM``, weighted."""
    kinds = [kind for kind, weight in _WEIGHTS.items() for _ in range(weight)]
    return st.sampled_from(kinds).flatmap(lambda kind: _cases[kind])


def demux_content() -> st.SearchStrategy[Any]:
    """Decoded frame content of any shape: what ``_parse`` must sort out."""
    return st.one_of(
        json_values,
        st.fixed_dictionaries(
            {"stream": st.one_of(st.just(ECHO_STREAM), texts, json_scalars)},
            optional={"payload": json_values},
        ),
    )


# -- routing --------------------------------------------------------------------------

# Path segments made of the characters URLs carry, plus a few that regexes care about.
_segment = st.text(
    st.sampled_from("abcxyzABC019-_.~%+ /?#[]()*\\\n\u00e9\u4e2d"), max_size=8
)
paths = st.lists(_segment, max_size=5).map(lambda parts: "/" + "/".join(parts))


@dataclass(frozen=True)
class RoutePattern:
    """A path filter and a plain-Python oracle for what it matches."""

    pattern: str
    matches: Callable[[str], dict[str, str] | None]


def _prefix(word: str) -> RoutePattern:
    def matches(path: str) -> dict[str, str] | None:
        return {} if path.startswith(f"/{word}/") else None

    return RoutePattern(f"^/{re.escape(word)}/", matches)


def _named(word: str) -> RoutePattern:
    def matches(path: str) -> dict[str, str] | None:
        head = f"/{word}/"
        rest = path[len(head) :]
        ok = path.startswith(head) and rest.endswith("/") and len(rest) > 1
        name = rest[:-1]
        if ok and all(c.isascii() and c.islower() for c in name):
            return {"name": name}
        return None

    return RoutePattern(f"^/{re.escape(word)}/(?P<name>[a-z]+)/$", matches)


_words = st.text(st.sampled_from("abcxyz"), min_size=1, max_size=4)
route_patterns = st.one_of(_words.map(_prefix), _words.map(_named))


# -- many examples at once, outside a test ------------------------------------------


def draw_many(strategy: st.SearchStrategy[Any], count: int, seed: int) -> list[Any]:
    """``count`` examples of ``strategy`` (reproducible from ``seed``), for the soak.

    Hypothesis draws them as it would in a test (its generation phase only, no
    database), so the soak sends what the unit tests check.
    """
    drawn: list[Any] = []

    @settings(
        max_examples=count,
        database=None,
        deadline=None,
        phases=[Phase.generate],
        suppress_health_check=list(HealthCheck),
        derandomize=False,
    )
    @given(strategy)
    def collect(example: Any) -> None:
        drawn.append(example)

    from hypothesis import seed as hypothesis_seed

    hypothesis_seed(seed)(collect)()
    return drawn
