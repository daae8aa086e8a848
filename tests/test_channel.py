"""Message, Channel, Group and the 1.x layer API, outside and inside consumers."""

import asyncio
import threading

import pytest
from channels.layers import get_channel_layer

from generic_consumers import DEFAULT_CHANNEL_LAYER, Channel, Group, channel_layers
from generic_consumers.message import Message
from generic_consumers.runtime.context import Turn, entered
from generic_consumers.runtime.delivery import finish
from generic_consumers.runtime.envelope import MESSAGE


async def next_content(name):
    envelope = await asyncio.wait_for(get_channel_layer().receive(name), 1)
    assert envelope["type"] == MESSAGE
    return envelope["content"]


def test_message_is_dict_like():
    message = Message({"a": 1, "reply_channel": "r!x"}, "chat.stats", None)
    assert message["a"] == 1 and message.get("b", 2) == 2 and "a" in message
    assert set(message.keys()) == {"a", "reply_channel"}
    assert dict(message.items())["a"] == 1 and 1 in list(message.values())
    assert len(message) == 2 and sorted(message) == ["a", "reply_channel"]
    message["b"] = 3
    assert message.content["b"] == 3
    assert message.channel.name == "chat.stats"
    assert message.reply_channel == Channel("r!x")


def test_message_reply_channel_none_when_missing_or_empty():
    assert Message({}, "x", None).reply_channel is None
    assert Message({"reply_channel": ""}, "x", None).reply_channel is None


def test_message_reply_channel_follows_assignment():
    message = Message({"reply_channel": "a!1"}, "x", None)
    assert message.reply_channel.name == "a!1"
    message["reply_channel"] = "b!2"
    assert message.reply_channel.name == "b!2"


def test_message_copy_is_deep():
    message = Message({"nested": {"v": 1}}, "x", None)
    copied = message.copy()
    copied["nested"]["v"] = 2
    assert message["nested"]["v"] == 1 and copied.channel_name == "x"


def test_channel_send_rejects_non_dict_with_type_error():
    with pytest.raises(TypeError, match="only send dicts"):
        Channel("x").send("text")


def test_group_send_rejects_non_dict_with_value_error():
    with pytest.raises(ValueError, match="only send dicts"):
        Group("g").send(["text"])


@pytest.mark.parametrize("name", ["", "has space", "ünï", "x" * 100, "a:b"])
def test_group_invalid_names_raise_before_touching_layer(name):
    with pytest.raises(ValueError, match="Invalid group name"):
        Group(name)


def test_channel_name_bytes_decoded_and_equality():
    assert Channel(b"abc").name == "abc"
    assert str(Channel("abc")) == "abc" and hash(Channel("abc")) == hash("abc")
    assert Channel("abc") != "abc"
    assert repr(Group("g")) == "<Group 'g'>" and str(Group("g")) == "g"


def test_sync_send_outside_consumer_is_immediate():
    Channel("tests.plain").send({"v": 1})
    assert asyncio.run(next_content("tests.plain")) == {"v": 1}


def test_user_type_key_survives_the_envelope():
    Channel("tests.typed").send({"type": "mine", "v": 1})
    assert asyncio.run(next_content("tests.typed")) == {"type": "mine", "v": 1}


async def test_sync_api_on_the_loop_raises_pointing_at_the_twin():
    with pytest.raises(RuntimeError, match="Channel.asend"):
        Channel("x").send({"v": 1})
    with pytest.raises(RuntimeError, match="Group.asend"):
        Group("g").send({"v": 1})
    with pytest.raises(RuntimeError, match="Group.aadd"):
        Group("g").add("x")


async def test_async_twins_send_add_discard():
    await Group("g1").aadd("tests.member")
    await Group("g1").asend({"text": "hi"})
    assert await next_content("tests.member") == {"text": "hi"}
    await Group("g1").adiscard("tests.member")
    await Group("g1").asend({"text": "again"})
    await Channel("tests.member").asend({"text": "direct"})
    assert await next_content("tests.member") == {"text": "direct"}


def test_sync_group_api_from_a_thread():
    errors = []

    def work():
        try:
            Group("g2").add(Channel("tests.t"))
            Group("g2").send({"text": "x"})
            Group("g2").discard("tests.t")
        except Exception as exc:  # pragma: no cover - reported below
            errors.append(exc)

    thread = threading.Thread(target=work)
    thread.start()
    thread.join(5)
    assert not errors
    assert asyncio.run(next_content("tests.t")) == {"text": "x"}


async def test_buffered_sends_keep_order_and_immediate_overtakes():
    turn = Turn(loop=asyncio.get_running_loop())
    with entered(turn):
        await Channel("tests.buf").asend({"n": 1})
        await Channel("tests.buf").asend({"n": 2})
        await Channel("tests.buf").asend({"n": 0}, immediately=True)
        await Group("g3").aadd("tests.buf")
        await Group("g3").asend({"n": 3})
    assert [kind for kind, *_ in turn.pending] == ["send", "send", "group"]
    assert await next_content("tests.buf") == {"n": 0}
    await finish(turn)
    assert [(await next_content("tests.buf"))["n"] for _ in range(3)] == [1, 2, 3]


def test_channel_layers_wrapper_sync_api():
    wrapper = channel_layers[DEFAULT_CHANNEL_LAYER]
    assert wrapper is channel_layers["default"] and "default" in channel_layers
    assert "nope" not in channel_layers
    wrapper.group_add("g4", "tests.w")
    wrapper.send_group("g4", {"text": "a"})
    wrapper.send("tests.w", {"text": "b"})
    wrapper.group_discard("g4", "tests.w")
    wrapper.send_group("g4", {"text": "lost"})

    async def read():
        return [await next_content("tests.w") for _ in range(2)]

    assert asyncio.run(read()) == [{"text": "a"}, {"text": "b"}]
    assert wrapper.local_only() is True
    assert "InMemoryChannelLayer" in str(wrapper)
    assert wrapper.extensions == get_channel_layer().extensions  # proxied


def test_channel_layers_unknown_alias_is_improperly_configured():
    from django.core.exceptions import ImproperlyConfigured

    with pytest.raises(ImproperlyConfigured, match="'missing'"):
        channel_layers["missing"].raw  # noqa: B018


def test_channel_layers_set_swaps_and_returns_previous():
    from generic_consumers.layers import ChannelLayerWrapper

    replacement = ChannelLayerWrapper("default", routing=[])
    old = channel_layers.set("default", replacement)
    try:
        assert channel_layers["default"] is replacement
        assert replacement.router.channels == set()
    finally:
        channel_layers.set("default", old)
