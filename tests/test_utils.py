"""generic_consumers.utils: the helpers 1.x code imports from channels.utils."""

from generic_consumers.generic.websockets import JsonWebsocketConsumer
from generic_consumers.utils import name_that_thing


def consumer(message):
    pass


class Named:
    def method(self):
        pass

    @classmethod
    def build(cls):
        pass


def test_name_that_thing_functions_classes_and_methods():
    assert name_that_thing(consumer) == "tests.test_utils.consumer"
    assert name_that_thing(Named) == "tests.test_utils.Named"
    assert name_that_thing(Named().method) == "tests.test_utils.Named.method"
    assert name_that_thing(Named.build) == "tests.test_utils.Named.build"
    assert (
        name_that_thing(JsonWebsocketConsumer)
        == "generic_consumers.generic.consumers.JsonWebsocketConsumer"
    )


def test_name_that_thing_instances_name_their_class_and_the_rest_is_repr():
    assert name_that_thing(Named()) == "tests.test_utils.Named"
    assert name_that_thing(42) == "42"
    assert name_that_thing("x") == "'x'"
