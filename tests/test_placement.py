"""Where consumers run: on the loop or in a thread, decided once and cached."""

from generic_consumers.generic.websockets import JsonWebsocketConsumer
from generic_consumers.runtime import placement


async def async_consumer(message, **kwargs):
    pass


def sync_consumer(message, **kwargs):
    pass


class Echo(JsonWebsocketConsumer):
    pass


class Greeter(JsonWebsocketConsumer):
    def connect(self, message, **kwargs):  # user code: may block, runs in a thread
        super().connect(message, **kwargs)


def test_placement_async_consumers_run_on_the_loop():
    assert placement.is_async_consumer(async_consumer) is True
    assert placement.is_async_consumer(sync_consumer) is False
    assert placement.runs_on_loop(async_consumer, "x") is True
    assert placement.runs_on_loop(sync_consumer, "y") is False


def test_placement_default_handlers_of_sync_classes_run_on_the_loop():
    assert placement.runs_on_loop(Echo, "websocket.connect") is True  # default accept
    assert placement.runs_on_loop(Echo, "websocket.disconnect") is True
    assert placement.runs_on_loop(Echo, "websocket.receive") is False  # user's receive
    assert placement.runs_on_loop(Greeter, "websocket.connect") is False


def test_placement_is_decided_once_per_consumer_and_channel():
    class Fresh(JsonWebsocketConsumer):
        pass

    placement.runs_on_loop(Fresh, "websocket.connect")
    assert placement._loop_answers[Fresh] == {"websocket.connect": True}
    # A lambda is weakly referenceable; a bound builtin is not: it is decided each time.
    assert placement.runs_on_loop(print, "x") is False
