"""Data binding: outbound group diffs after commit, inbound actions with whitelist and
permissions, registration."""

import json

import pytest
from django.core.exceptions import ImproperlyConfigured
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext

from generic_consumers.binding.base import Binding, registry
from generic_consumers.binding.websockets import (
    WebsocketBinding,
    WebsocketBindingWithMembers,
)
from generic_consumers.message import Message
from generic_consumers.test import (
    ChannelTestCase,
    TransactionChannelTestCase,
    WSClient,
)
from tests.models import IntegerValue


def room_binding(**attrs):
    """A binding whose groups are the object's room (plus "all"); everything allowed."""

    def group_names(cls, instance):
        return ["all", "room-" + instance.room]

    def has_permission(self, user, action, pk):
        return attrs.get("allow", True)

    namespace = {
        "model": IntegerValue,
        "stream": "intval",
        "fields": ["name", "value", "room"],
        "group_names": classmethod(group_names),
        "has_permission": has_permission,
        **{k: v for k, v in attrs.items() if k != "allow"},
    }
    return type("RoomBinding", (WebsocketBinding,), namespace)


def listener(*groups):
    client = WSClient()
    for group in groups:
        client.join_group(group)
    return client


def payloads(client):
    found = []
    while (content := client.receive()) is not None:
        assert content["stream"] == "intval"
        found.append(content["payload"])
    return found


class MultiplexerStandIn:
    """What a demultiplexer passes as ``multiplexer``: send() frames on the stream."""

    def __init__(self, stream, reply_channel):
        self.stream, self.reply_channel = stream, reply_channel

    def send(self, payload):
        self.reply_channel.send(
            {"text": json.dumps({"stream": self.stream, "payload": payload})}
        )


def inbound(binding, client, payload, multiplexer=True):
    """Run ``binding.consumer`` the way a demultiplexer does, in a consumer context."""
    client.send("websocket.receive", {"text": json.dumps(payload), "path": "/"})
    message = client.get_next_message("websocket.receive")
    kwargs = {}
    if multiplexer:
        kwargs["multiplexer"] = MultiplexerStandIn("intval", message.reply_channel)
    from generic_consumers.test._run import call_consumer

    return call_consumer(binding.consumer, message, kwargs)


class OutboundTests(ChannelTestCase):
    def test_binding_create_goes_to_every_group(self):
        room_binding()
        lobby, everyone = listener("room-lobby"), listener("all")
        obj = IntegerValue.objects.create(name="a", value=1)
        expected = {
            "action": "create",
            "pk": obj.pk,
            "data": {"name": "a", "value": 1, "room": "lobby"},
            "model": "tests.integervalue",
        }
        assert payloads(lobby) == [expected]
        assert payloads(everyone) == [expected]

    def test_binding_group_change_sends_delete_update_create(self):
        room_binding()
        obj = IntegerValue.objects.create(name="a", value=1)
        lobby, kitchen, everyone = (
            listener("room-lobby"),
            listener("room-kitchen"),
            listener("all"),
        )
        obj.room = "kitchen"
        obj.save()
        assert [p["action"] for p in payloads(lobby)] == ["delete"]
        assert [p["action"] for p in payloads(kitchen)] == ["create"]
        [update] = payloads(everyone)
        assert update["action"] == "update"
        assert update["data"]["room"] == "kitchen"

    def test_binding_save_of_a_loaded_object_queries_nothing_extra(self):
        room_binding()
        IntegerValue.objects.create(name="a", value=1)
        obj = IntegerValue.objects.get(name="a")
        lobby, kitchen = listener("room-lobby"), listener("room-kitchen")
        obj.room = "kitchen"
        with CaptureQueriesContext(connection) as queries:
            obj.save()
        # Only the UPDATE: the groups before the change come from the loaded values.
        assert [q["sql"].split()[0] for q in queries] == ["UPDATE"]
        assert [p["action"] for p in payloads(lobby)] == ["delete"]
        assert [p["action"] for p in payloads(kitchen)] == ["create"]
        obj.room = "lobby"
        obj.save()  # the second save diffs against what the first one stored
        assert [p["action"] for p in payloads(lobby)] == ["create"]
        assert [p["action"] for p in payloads(kitchen)] == ["delete"]

    def test_binding_save_without_loaded_values_asks_the_database(self):
        room_binding()
        stored = IntegerValue.objects.create(name="a", value=1)
        lobby = listener("room-lobby")
        # Built by hand with the pk of a stored row: what the row held is unknown.
        obj = IntegerValue(pk=stored.pk, name="a", value=2, room="kitchen")
        obj._state.adding = False
        obj.__dict__.pop("_generic_consumers_binding_stored", None)
        obj.save()
        assert [p["action"] for p in payloads(lobby)] == ["delete"]

    def test_binding_delete(self):
        room_binding()
        obj = IntegerValue.objects.create(name="a")
        pk = obj.pk
        lobby = listener("room-lobby")
        obj.delete()
        [deleted] = payloads(lobby)
        assert deleted["action"] == "delete"
        assert deleted["pk"] == pk

    def test_binding_string_model_exclude_and_all(self):
        for config in (
            {"fields": "__all__"},
            {"fields": ["__all__"]},
            {"fields": None, "exclude": ["secret"]},
        ):
            binding = room_binding(model="tests.IntegerValue", **config)
            lobby = listener("room-lobby")
            IntegerValue.objects.create(name="a", secret="s3")
            [created] = payloads(lobby)
            expected = {"name", "value", "room"} | (
                {"secret"} if "exclude" not in config else set()
            )
            assert set(created["data"]) == expected, config
            binding.unregister()

    def test_binding_empty_serialize_sends_nothing(self):
        room_binding(serialize=lambda self, instance, action: {})
        lobby = listener("room-lobby")
        IntegerValue.objects.create(name="a")
        assert payloads(lobby) == []

    def test_binding_with_members(self):
        type(
            "MembersBinding",
            (WebsocketBindingWithMembers,),
            {
                "model": IntegerValue,
                "stream": "intval",
                "fields": ["name"],
                "send_members": ["label", "_state.db"],
                "group_names": classmethod(lambda cls, instance: ["all"]),
                "has_permission": lambda self, user, action, pk: True,
            },
        )
        everyone = listener("all")
        IntegerValue.objects.create(name="a", value=2)
        [created] = payloads(everyone)
        assert created["data"] == {"name": "a", "label": "a=2", "_state__db": "default"}

    def test_binding_unregister_stops_sending(self):
        binding = room_binding()
        assert binding in registry.registered
        binding.unregister()
        assert binding not in registry.registered
        lobby = listener("room-lobby")
        IntegerValue.objects.create(name="a")
        assert payloads(lobby) == []
        binding.register()
        IntegerValue.objects.create(name="b")
        assert len(payloads(lobby)) == 1


class CommitTests(TransactionChannelTestCase):
    def test_binding_rollback_sends_nothing(self):
        room_binding()
        lobby = listener("room-lobby")
        with pytest.raises(RuntimeError), transaction.atomic():
            IntegerValue.objects.create(name="doomed")
            raise RuntimeError("roll back")
        assert payloads(lobby) == []
        assert not IntegerValue.objects.exists()

    def test_binding_sends_after_commit_only(self):
        room_binding()
        lobby = listener("room-lobby")
        with transaction.atomic():
            IntegerValue.objects.create(name="a")
            assert payloads(lobby) == []
        assert [p["action"] for p in payloads(lobby)] == ["create"]

    def test_binding_rolled_back_savepoint_sends_nothing(self):
        room_binding()
        lobby = listener("room-lobby")
        with transaction.atomic():
            IntegerValue.objects.create(name="kept")
            try:
                with transaction.atomic():
                    IntegerValue.objects.create(name="dropped")
                    raise RuntimeError
            except RuntimeError:
                pass
        assert [p["data"]["name"] for p in payloads(lobby)] == ["kept"]


class InboundTests(ChannelTestCase):
    def test_binding_inbound_create_applies_whitelist(self):
        binding = room_binding(fields=["name", "value"])
        client = WSClient()
        inbound(
            binding,
            client,
            {
                "stream": "intval",
                "action": "create",
                "pk": 999,
                "data": {"name": "n", "value": 5, "secret": "x", "id": 999},
            },
        )
        obj = IntegerValue.objects.get()
        assert (obj.name, obj.value, obj.secret) == ("n", 5, "")
        assert obj.pk != 999

    def test_binding_inbound_update_applies_whitelist(self):
        binding = room_binding(exclude=["secret"], fields=None)
        obj = IntegerValue.objects.create(name="a", secret="keep")
        inbound(
            binding,
            WSClient(),
            {"action": "update", "pk": obj.pk, "data": {"value": "7", "secret": "x"}},
        )
        obj.refresh_from_db()
        assert (obj.value, obj.secret) == (7, "keep")

    def test_binding_inbound_delete(self):
        binding = room_binding()
        obj = IntegerValue.objects.create(name="a")
        inbound(binding, WSClient(), {"action": "delete", "pk": obj.pk})
        assert not IntegerValue.objects.exists()

    def test_binding_permission_denied_answers_on_the_stream(self):
        binding = room_binding(allow=False)
        client = WSClient()
        inbound(binding, client, {"action": "create", "data": {"name": "n"}})
        assert not IntegerValue.objects.exists()
        assert client.receive() == {
            "stream": "intval",
            "payload": {"action": "create", "pk": None, "error": "permission denied"},
        }

    def test_binding_denied_without_multiplexer_uses_reply_channel(self):
        binding = room_binding(allow=False)
        client = WSClient()
        obj = IntegerValue.objects.create(name="a")
        inbound(binding, client, {"action": "delete", "pk": obj.pk}, multiplexer=False)
        assert IntegerValue.objects.exists()
        assert client.receive()["payload"]["error"] == "permission denied"

    def test_binding_unknown_action_and_missing_object(self):
        binding = room_binding()
        client = WSClient()
        inbound(binding, client, {"action": "explode"})
        assert client.receive()["payload"]["error"] == "unknown action"
        inbound(binding, client, {"action": "update", "pk": 404, "data": {}})
        assert client.receive()["payload"] == {
            "action": "update",
            "pk": 404,
            "error": "not found",
        }

    def test_binding_ignores_connect_and_disconnect(self):
        binding = room_binding()
        client = WSClient()
        for channel in ("websocket.connect", "websocket.disconnect"):
            message = Message({"reply_channel": client.reply_channel}, channel, None)
            binding.consumer(message)
        assert client.receive() is None

    def test_binding_inbound_create_is_broadcast(self):
        binding = room_binding()
        lobby = listener("room-lobby")
        inbound(binding, WSClient(), {"action": "create", "data": {"name": "n"}})
        assert [p["action"] for p in payloads(lobby)] == ["create"]


class Binding017Tests(ChannelTestCase):
    """group_names(self, instance, action), the 0.17 form, next to 1.x's classmethod."""

    def binding(self):
        calls = []

        def group_names(self, instance, action):
            calls.append(action)
            return [f"room-{instance.room}"]

        binding = room_binding(group_names=group_names)
        return binding, calls

    def test_binding_017_group_names_gets_the_action(self):
        binding, calls = self.binding()
        assert binding._groups_take_action is True
        lobby = listener("room-lobby")
        obj = IntegerValue.objects.create(name="a", value=1)
        obj.value = 2
        obj.save()
        obj.delete()
        assert [p["action"] for p in payloads(lobby)] == ["create", "update", "delete"]
        assert calls == ["create", "update", "delete"]

    def test_binding_1x_classmethod_is_told_apart_once(self):
        assert room_binding()._groups_take_action is False


class RegistrationTests(ChannelTestCase):
    def test_binding_needs_fields_or_exclude(self):
        with pytest.raises(ImproperlyConfigured, match="fields or exclude"):
            room_binding(fields=None)
        # 1.x raised ValueError: old code that catches it keeps working.
        with pytest.raises(ValueError, match="fields or exclude"):
            room_binding(fields=None)

    def test_binding_needs_a_stream(self):
        with pytest.raises(ImproperlyConfigured, match="stream"):
            room_binding(stream=None)

    def test_binding_needs_a_model(self):
        with pytest.raises(ImproperlyConfigured, match="needs a model"):
            type("NoModel", (WebsocketBinding,), {"fields": "__all__"})

    def test_binding_abstract_is_not_registered(self):
        abstract = type("Abstract", (WebsocketBinding,), {"model": None})
        assert abstract not in registry.registered

    def test_binding_declared_in_a_test_is_unregistered_after_it(self):
        binding = room_binding()

        class Inner(ChannelTestCase):
            def runTest(self):
                room_binding()

        before = set(registry.registered)
        Inner()(None)
        assert set(registry.registered) == before
        assert binding in registry.registered

    def test_binding_base_hooks_are_abstract(self):
        with pytest.raises(NotImplementedError):
            Binding.group_names(None)
        with pytest.raises(NotImplementedError):
            Binding().has_permission(None, "create", None)
