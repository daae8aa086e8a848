"""Property-based fuzzing of frame decoding, routing filters and the demultiplexer.

The strategies live in ``tests/strategies.py``; ``make soak`` (``bench/soak.py``)
sends 100,000 frames drawn from the same ones to a real server.
"""

from __future__ import annotations

import asyncio
import json
import logging

from channels.testing import WebsocketCommunicator
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generic_consumers.asgi import RoutingApplication
from generic_consumers.generic.demultiplexer import DemultiplexerMixin
from generic_consumers.generic.frames import JsonMixin
from generic_consumers.generic.websockets import (
    JsonWebsocketConsumer,
    WebsocketDemultiplexer,
)
from generic_consumers.message import Message
from generic_consumers.routing import Route

from .strategies import ECHO_STREAM, demux_content, demux_frames, paths, route_patterns

FUZZ = settings(
    max_examples=150,
    deadline=None,
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.data_too_large,
    ],
)
# Through the whole runtime, one event loop per example: fewer.
FUZZ_RUNTIME = settings(FUZZ, max_examples=60)
DECODE_REFUSES = {"not json", "nested too deeply", "binary"}


class EchoStream(JsonWebsocketConsumer):
    def receive(self, content, multiplexer=None, **kwargs):
        multiplexer.send(content)


class Fuzzed(WebsocketDemultiplexer):
    consumers = {ECHO_STREAM: EchoStream}


@FUZZ
@given(demux_frames())
def test_frame_decoding_never_raises_and_refuses_exactly_the_bad_frames(frame):
    content = {"reply_channel": "x!y", "path": "/"}
    if frame.text is not None:
        content["text"] = frame.text
    else:
        content["bytes"] = frame.data
    decoded, reason = JsonMixin()._decode_frame(Message(content, "ws.receive", None))
    if frame.kind in DECODE_REFUSES:
        assert decoded is None and reason and len(reason) < 400
    else:
        assert reason is None and decoded == json.loads(frame.text)


class Parser(DemultiplexerMixin):
    consumers = {ECHO_STREAM: EchoStream}
    mapping = {"work": "tests.work"}


@FUZZ
@given(demux_content())
def test_demultiplexer_sorts_any_decoded_content(content):
    parsed = Parser()._parse(content)
    good = (
        isinstance(content, dict)
        and content.get("stream") in (ECHO_STREAM, "work")
        and "payload" in content
        and isinstance(content["payload"], dict)
    )
    if good:
        stream, payload, consumer, target = parsed
        assert stream == content["stream"] and payload is content["payload"]
        assert (consumer, target) in ((EchoStream, None), (None, "tests.work"))
    else:
        # A refusal is a short reason, however big the client's value.
        assert isinstance(parsed, str) and len(parsed) < 400


@FUZZ
@given(route_patterns, paths)
def test_route_path_filters_match_as_python_regexes_do(pattern, path):
    def consumer(message, **kwargs):
        pass

    route = Route("websocket.receive", consumer, path=pattern.pattern)
    found = route.match(Message({"path": path}, "websocket.receive", None))
    expected = pattern.matches(path)
    assert (found[1] if found else None) == expected
    # Other channels and messages without the key never match.
    assert route.match(Message({"path": path}, "websocket.connect", None)) is None
    assert route.match(Message({}, "websocket.receive", None)) is None


@FUZZ_RUNTIME
@given(frames=st.lists(demux_frames(), min_size=1, max_size=5))
def test_demultiplexer_echoes_good_frames_and_refuses_the_rest(frames, gc_log):
    # Through the whole runtime: each good frame comes back as it went, each bad one
    # is one warning line, and the socket stays open. (One event loop per example.)
    asyncio.run(_echo_or_refuse(frames, gc_log))


async def _echo_or_refuse(frames, gc_log):
    communicator = WebsocketCommunicator(
        RoutingApplication([Fuzzed.as_route(path="^/fuzz/$")]), "/fuzz/"
    )
    connected, _ = await communicator.connect(timeout=2)
    assert connected
    before = len(gc_log.records)
    for frame in frames:
        # (send_to refuses empty frames; a client may send them.)
        if frame.text is not None:
            event = {"type": "websocket.receive", "text": frame.text}
        else:
            event = {"type": "websocket.receive", "bytes": frame.data}
        await communicator.send_input(event)
    for frame in frames:
        if not frame.refused:
            reply = await communicator.receive_json_from(timeout=2)
            assert reply == {"stream": ECHO_STREAM, "payload": frame.echo}
    assert await communicator.receive_nothing(timeout=0.05)
    refusals = [
        r
        for r in gc_log.records[before:]
        if r.levelno == logging.WARNING and "refused a frame" in r.getMessage()
    ]
    assert len(refusals) == sum(frame.refused for frame in frames)
    assert all(len(r.getMessage()) < 1000 for r in refusals)
    await communicator.disconnect()
