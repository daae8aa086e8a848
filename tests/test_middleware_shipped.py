"""The middlewares we ship: frame logger, rate limiter, message-size guard."""

import asyncio
import logging

import pytest
from channels.layers import channel_layers as channels4_layers
from channels.testing import WebsocketCommunicator
from django.test import override_settings
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from generic_consumers.asgi import RoutingApplication
from generic_consumers.middleware import (
    FrameLogMiddleware,
    MessageSizeMiddleware,
    RateLimitMiddleware,
)
from generic_consumers.runtime.registry import sockets as local_sockets

from .middlewares import Echo


class Clock:
    """A clock the test moves: the rate limiter is tested without timing."""

    def __init__(self):
        self.now = 1000.0

    def __call__(self):
        return self.now


def app_with(*entries):
    return RoutingApplication([Echo.as_route(attrs={"middleware": list(entries)})])


async def connected(application, path="/"):
    communicator = WebsocketCommunicator(application, path)
    ok, _ = await communicator.connect(timeout=1)
    assert ok
    return communicator


async def close_code(communicator):
    output = await communicator.receive_output(1)
    assert output["type"] == "websocket.close", output
    return output["code"]


# -- FrameLogMiddleware -------------------------------------------------------------


@pytest.fixture
def frames_log(caplog):
    caplog.set_level(logging.INFO, logger="generic_consumers.frames")
    return caplog


def frame_lines(caplog):
    return [
        r.getMessage() for r in caplog.records if r.name == "generic_consumers.frames"
    ]


async def test_frame_log_logs_both_directions(frames_log):
    c = await connected(app_with(FrameLogMiddleware))
    await c.send_to(text_data='{"msg": "hi"}')
    assert await c.receive_from(1) == '{"msg": "hi"}'
    await c.send_to(bytes_data=b"\x00\x01")
    await c.receive_output(1)
    await c.disconnect(code=4001)
    await asyncio.sleep(0.05)
    assert frame_lines(frames_log) == [
        "<- / websocket.connect",
        "-> / websocket.accept",
        '<- / websocket.receive text, 13 characters: \'{"msg": "hi"}\'',
        '-> / websocket.send text, 13 characters: \'{"msg": "hi"}\'',
        "<- / websocket.receive bytes, 2 bytes: b'\\x00\\x01'",
        "-> / websocket.send bytes, 2 bytes: b'\\x00\\x01'",
        "<- / websocket.disconnect code 4001",
    ]


async def test_frame_log_cuts_what_it_quotes(frames_log):
    frames_log.set_level(logging.INFO, logger="gc.other")
    application = app_with(
        (FrameLogMiddleware, {"limit": 20, "outbound": False}),
        (FrameLogMiddleware, {"limit": 0, "inbound": False, "logger": "gc.other"}),
    )
    c = await connected(application)
    await c.send_to(text_data="x" * 5000)
    assert await c.receive_from(1) == "x" * 5000
    await c.disconnect()
    lines = frame_lines(frames_log)
    big = [line for line in lines if "5000 characters" in line]
    assert big == [
        "<- / websocket.receive text, 5000 characters: 'xxxxxxxxxxxxxxxxxxx... "
        "(5002 characters)"
    ]
    assert all(len(line) < 120 for line in lines)
    other = [r.getMessage() for r in frames_log.records if r.name == "gc.other"]
    assert "-> / websocket.send text, 5000 characters" in other


async def test_frame_log_formats_nothing_when_its_logger_is_off(caplog):
    caplog.set_level(logging.WARNING, logger="generic_consumers.frames")
    c = await connected(app_with(FrameLogMiddleware))
    await c.send_to(text_data="x")
    assert await c.receive_from(1) == "x"
    await c.disconnect()
    assert frame_lines(caplog) == []


@pytest.mark.parametrize("options", [{"level": "LOUD"}, {"limit": -1}])
def test_frame_log_refuses_bad_options(options):
    with pytest.raises(ValueError, match="FrameLogMiddleware"):
        FrameLogMiddleware(None, **options)


# -- RateLimitMiddleware --------------------------------------------------------------


async def test_rate_limit_closes_1008_with_one_log_line(gc_log):
    clock = Clock()
    application = app_with((RateLimitMiddleware, {"rate": 2, "clock": clock}))
    c = await connected(application)
    for text in "abc":  # a burst of 2 (the rate), then one too many
        await c.send_to(text_data=text)
    assert [await c.receive_from(1) for _ in range(2)] == ["a", "b"]
    assert await close_code(c) == 1008
    for text in "de":  # still in flight: no consumer sees them, no more lines
        await c.send_to(text_data=text)
    assert await c.receive_nothing(0.05)
    await c.disconnect(code=1008)
    lines = [r for r in gc_log.records if "frames per second" in r.getMessage()]
    assert [r.getMessage() for r in lines] == [
        "Closing socket on '/' with 1008: its client sent more than 2 frames per "
        "second (burst 2)."
    ]
    assert lines[0].levelname == "WARNING"


async def test_rate_limit_refills_over_time_per_socket():
    clock = Clock()
    application = app_with(
        (RateLimitMiddleware, {"rate": 1, "burst": 3, "clock": clock})
    )
    c = await connected(application)
    other = await connected(application)
    for n in range(3):
        await c.send_to(text_data=f"{n}")
        assert await c.receive_from(1) == f"{n}"
    clock.now += 2.5  # two frames' worth, not three
    for n in range(2):
        await c.send_to(text_data=f"later {n}")
        assert await c.receive_from(1) == f"later {n}"
    await other.send_to(text_data="mine")  # its own bucket, still full
    assert await other.receive_from(1) == "mine"
    await c.send_to(text_data="one too many")
    assert await close_code(c) == 1008
    await c.disconnect(code=1008)
    await other.disconnect()


@given(
    gaps=st.lists(
        st.floats(min_value=0, max_value=2, allow_nan=False), min_size=1, max_size=30
    ),
    rate=st.sampled_from([0.5, 1, 3, 10]),
    burst=st.integers(min_value=1, max_value=5),
)
@settings(max_examples=60, deadline=None)
def test_rate_limit_never_admits_more_than_burst_plus_rate_times_time(
    gaps, rate, burst
):
    # However the frames are spaced, what gets through in t seconds is at most
    # burst + rate * t, and a close follows the first frame refused.
    admitted, closed = asyncio.run(_paced(gaps, rate, burst))
    elapsed = sum(gaps[1:])
    assert admitted <= burst + rate * elapsed + 1e-9
    assert closed == (admitted < len(gaps))
    assert admitted >= min(len(gaps), burst)


async def _paced(gaps, rate, burst):
    _fresh()
    clock = Clock()
    application = app_with(
        (RateLimitMiddleware, {"rate": rate, "burst": burst, "clock": clock})
    )
    c = await connected(application)
    admitted = 0
    for index, gap in enumerate(gaps):
        if index:
            clock.now += gap
        await c.send_to(text_data=str(index))
        output = await c.receive_output(1)
        if output["type"] == "websocket.close":
            await c.disconnect(code=1008)
            return admitted, True
        admitted += 1
    await c.disconnect()
    return admitted, False


def _fresh():
    channels4_layers.backends.clear()
    local_sockets.clear()


@pytest.mark.parametrize(
    "options", [{"rate": 0}, {"rate": "fast"}, {"burst": 0}, {"burst": 1.5}]
)
def test_rate_limit_refuses_bad_options(options):
    with pytest.raises(ValueError, match="RateLimitMiddleware"):
        RateLimitMiddleware(None, **options)


# -- MessageSizeMiddleware ------------------------------------------------------------


async def test_message_size_closes_1009_on_a_big_inbound_frame(gc_log):
    c = await connected(app_with((MessageSizeMiddleware, {"max_bytes": 10})))
    await c.send_to(text_data="é" * 5)  # 10 bytes: allowed
    assert await c.receive_from(1) == "é" * 5
    await c.send_to(bytes_data=b"x" * 11)
    assert await close_code(c) == 1009
    await c.disconnect(code=1009)
    assert (
        "Closing socket on '/' with 1009: inbound frame of 11 bytes is over the 10 "
        "allowed." in gc_log.text
    )


async def test_message_size_drops_a_big_outbound_frame_and_stays_open(gc_log):
    application = app_with(
        (MessageSizeMiddleware, {"max_bytes": None, "max_outbound_bytes": 4})
    )
    c = await connected(application)
    await c.send_to(text_data="hello")  # echoed, 5 bytes: dropped
    await c.send_to(text_data="hi")
    assert await c.receive_from(1) == "hi"
    await c.disconnect()
    assert "Dropped an outbound frame of 5 bytes on '/'" in gc_log.text


frames = st.one_of(
    st.text(max_size=40).map(lambda text: ("text", text)),
    st.binary(max_size=60).map(lambda data: ("bytes", data)),
)


@given(sent=st.lists(frames, min_size=1, max_size=12), limit=st.integers(0, 50))
@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
def test_message_size_lets_through_exactly_the_frames_that_fit(sent, limit):
    # Sizes are UTF-8 bytes: every frame up to the limit is echoed unchanged and in
    # order; the first one over it closes the socket with 1009.
    got, code = asyncio.run(_sized(sent, limit))
    sizes = [len(v.encode()) if kind == "text" else len(v) for kind, v in sent]
    fit = next((i for i, size in enumerate(sizes) if size > limit), len(sent))
    assert got == sent[:fit]
    assert code == (1009 if fit < len(sent) else None)


async def _sized(sent, limit):
    _fresh()
    c = await connected(app_with((MessageSizeMiddleware, {"max_bytes": limit})))
    got = []
    for kind, value in sent:
        # The communicator's send_to() refuses empty frames: send the event itself.
        await c.send_input({"type": "websocket.receive", kind: value})
        output = await c.receive_output(1)
        if output["type"] == "websocket.close":
            await c.disconnect(code=1009)
            return got, output["code"]
        kind = "text" if output.get("text") is not None else "bytes"
        got.append((kind, output[kind]))
    await c.disconnect()
    return got, None


@override_settings(GENERIC_CONSUMERS={"ROUTING": [], "MIDDLEWARE": []})
@pytest.mark.parametrize("options", [{"max_bytes": -1}, {"max_outbound_bytes": "1k"}])
def test_message_size_refuses_bad_options(options):
    with pytest.raises(ValueError, match="MessageSizeMiddleware"):
        MessageSizeMiddleware(None, **options)
