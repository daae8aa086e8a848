"""The notes of generic_consumers.migrate: what a human must decide, and when a note
goes away (the code was changed, the setting was turned on, or ``# migrate: ok``)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from generic_consumers.migrate import plan


def project(root: Path, files: dict[str, str]) -> Path:
    for name, text in files.items():
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    return root


def notes(root: Path, files: dict[str, str] | None = None) -> list[str]:
    return [str(note) for note in plan(project(root, files or {})).notes]


# -- connect consumers that never accept ------------------------------------------

ROUTING = """\
    from channels.routing import route
    from chat.consumers import ws_connect

    channel_routing = [route("websocket.connect", ws_connect)]
"""


def connect_consumer(body: str, silence: str = "") -> dict[str, str]:
    return {
        "chat/__init__.py": "",
        "chat/routing.py": ROUTING,
        "chat/consumers.py": "from channels import Group\n\n\n"
        + f"def ws_connect(message):{silence}\n"
        + textwrap.indent(textwrap.dedent(body), "    "),
    }


def test_notes_connect_without_accept(tmp_path):
    found = notes(
        tmp_path, connect_consumer('Group("chat").add(message.reply_channel)\n')
    )
    assert found == [
        "chat/consumers.py:4: ws_connect handles websocket.connect but never accepts "
        "or rejects the socket (the pre-1.0 idiom; since 1.0 the handshake waits for "
        'an answer): add message.reply_channel.send({"accept": True}), or set '
        'GENERIC_CONSUMERS["ACCEPT_UNDECIDED"] = True to accept sockets whose connect '
        "consumers return without deciding"
    ]


@pytest.mark.parametrize(
    "body",
    [
        'message.reply_channel.send({"accept": True})\n',
        'message.reply_channel.send({"text": "hello"})\n',
        'message.reply_channel.send({"close": True})\n',
        "raise DenyConnection\n",
        "do_connect(message)\n",
        "message.reply_channel.send(REPLY)\n",
    ],
)
def test_notes_connect_that_decides(tmp_path, body):
    found = notes(tmp_path, connect_consumer(body))
    assert not [n for n in found if "websocket.connect" in n]


def test_notes_connect_silenced_on_its_line(tmp_path):
    body = 'Group("chat").add(message.reply_channel)\n'
    assert notes(tmp_path, connect_consumer(body, "  # migrate: ok")) == []


def test_notes_connect_silenced_by_accept_undecided(tmp_path):
    files = connect_consumer('Group("chat").add(message.reply_channel)\n')
    files["settings.py"] = "GENERIC_CONSUMERS = {'ACCEPT_UNDECIDED': True}\n"
    assert not [n for n in notes(tmp_path, files) if "websocket.connect" in n]


@pytest.mark.parametrize(
    "routing",
    [
        # a module attribute, a dotted string, 1.x dict routing, a relative import
        'from chat import consumers\nr = [route("websocket.connect", consumers.c)]\n',
        'r = [route("websocket.connect", "chat.consumers.c")]\n',
        'r = {"websocket.connect": "chat.consumers.c"}\n',
        'from .consumers import c\nr = [route(["websocket.connect"], c, path="/")]\n',
    ],
)
def test_notes_connect_found_through_each_routing_form(tmp_path, routing):
    found = notes(
        tmp_path,
        {
            "chat/__init__.py": "",
            "chat/routing.py": "from generic_consumers import route\n" + routing,
            "chat/consumers.py": "def c(message):\n    pass\n",
        },
    )
    assert [n.split(" handles")[0] for n in found] == ["chat/consumers.py:1: c"]


def test_notes_connect_method_of_a_routed_class(tmp_path):
    files = {
        "app/__init__.py": "",
        "app/routing.py": """\
            from generic_consumers import route_class
            from app.consumers import Chat, Polite, Custom
            routing = [route_class(Chat), route_class(Polite), Custom.as_route()]
        """,
        "app/consumers.py": """\
            from generic_consumers.generic.websockets import WebsocketConsumer

            class Chat(WebsocketConsumer):
                def connect(self, message, **kwargs):
                    self.groups_joined = True

            class Polite(WebsocketConsumer):
                def connect(self, message, **kwargs):
                    super().connect(message, **kwargs)

            class Custom(WebsocketConsumer):
                method_mapping = {"websocket.connect": "hello"}

                def hello(self, message, **kwargs):
                    pass
        """,
    }
    found = notes(tmp_path, files)
    assert len(found) == 2
    assert found[0].startswith("app/consumers.py:4: Chat.connect() neither accepts")
    assert found[1].startswith("app/consumers.py:14: Custom.hello() neither accepts")


# -- other 1.x idioms -------------------------------------------------------------

NOTED = {
    "binding.py": (
        "class B(WebsocketBinding):\n    def group_names(self, instance, action):\n"
        "        return []\n",
        "binding.py:2: group_names(self, instance, action) is the 0.17 form: it runs",
    ),
    "slight.py": (
        "class C(WebsocketConsumer):\n    slight_ordering = True\n",
        "slight.py:2: slight ordering was removed in Channels 1.0",
    ),
    "slight_decorator.py": (
        "@enforce_ordering(slight=True)\ndef c(message):\n    pass\n",
        "slight_decorator.py:1: slight ordering was removed",
    ),
    "default.py": (
        "router.check_default()\n",
        "default.py:1: Router.check_default() is gone",
    ),
    "null.py": (
        "from channels.routing import route, null_consumer\n",
        "null.py:1: channels.routing.null_consumer is not provided: define 'def "
        "null_consumer(message): pass' where you route to it; import route from "
        "generic_consumers.routing",
    ),
    "connect_consumer.py": (
        "from channels.routing import connect_consumer\n",
        "connect_consumer.py:1: channels.routing.connect_consumer is not provided",
    ),
    "layer.py": (
        "from channels.asgi import get_channel_layer\nlayer = get_channel_layer('x')\n",
        "layer.py:1: channels.asgi.get_channel_layer is gone",
    ),
    "delay_app.py": (
        "INSTALLED_APPS = ['channels', 'channels.delay']\n",
        "delay_app.py:1: 'channels.delay' became 'generic_consumers.delay': run "
        "'manage.py migrate'",
    ),
    "delay_import.py": (
        "from channels.delay import DelayedMessage\n",
        "delay_import.py:1: channels.delay is now generic_consumers.delay",
    ),
    "http.py": (
        "r = [route('http.request', view)]\n",
        "http.py:1: HTTP consumer route",
    ),
    "http_dict.py": (
        "r = {'http.request': 'app.views.consumer'}\n",
        "http_dict.py:1: HTTP consumer route",
    ),
    "handler.py": (
        "from channels.handler import AsgiHandler\n",
        "handler.py:1: HTTP consumers are gone",
    ),
    "query.py": (
        "URL = '/chat/?session_key=%s'\n",
        "query.py:1: ?session_key= in a URL",
    ),
    "mixed.py": (
        "from channels.routing import route, URLRouter\n",
        "mixed.py:1: 'from channels.routing import' mixes 1.x names (route, now in "
        "generic_consumers.routing) with URLRouter",
    ),
    "module.py": (
        "import channels\nchannels.Group('x').send({})\n",
        "module.py:2: 'channels.Group': import Group from generic_consumers",
    ),
    "old.py": ("print 'python 2'\n", "old.py:1: cannot parse"),
    "backend.py": (
        "LAYER = {'BACKEND': 'asgi_rabbitmq.RabbitmqChannelLayer'}\n",
        "backend.py:1: 'asgi_rabbitmq.RabbitmqChannelLayer' is an ASGI 1 layer "
        "backend with no Channels 4 translation",
    ),
}


@pytest.mark.parametrize("name", sorted(NOTED))
def test_notes_1x_idioms(tmp_path, name):
    source, expected = NOTED[name]
    (found,) = notes(tmp_path, {name: source})
    assert found.startswith(expected), found


@pytest.mark.parametrize(
    "source",
    [
        "class B(WebsocketBinding):\n    @classmethod\n"
        "    def group_names(cls, instance):\n        return []\n",
        # A 0.17 form kept on purpose.
        "class B(WebsocketBinding):\n"
        "    def group_names(self, instance, action):  # migrate: ok\n"
        "        return []\n",
        "class C(WebsocketConsumer):\n    strict_ordering = True\n",
        "router.check_default()  # migrate: ok\n",
        "from channels.layers import get_channel_layer\n",
        "SessionStore(session_key=key)\n",
        "CONFIG = {'channel_capacity': {'http.request': 200}}\n",
    ],
)
def test_notes_not_for_1x_forms_or_other_code(tmp_path, source):
    assert notes(tmp_path, {"a.py": source}) == []


def test_notes_session_key_in_templates_until_the_setting_is_on(tmp_path):
    files = {
        "app/templates/room.html": "<script>\nnew WebSocket('/ws/?session_key={{ k }}')"
        "\n</script>\n",
        "app/static/app.js": "socket = new WebSocket(url + '?session_key=' + key);\n",
    }
    assert [n.split(" in a URL")[0] for n in notes(tmp_path, files)] == [
        "app/static/app.js:1: ?session_key=",
        "app/templates/room.html:2: ?session_key=",
    ]
    settings = {"settings.py": "GENERIC_CONSUMERS['SESSION_KEY_IN_QUERY'] = True\n"}
    assert notes(tmp_path, settings) == []


# -- process definitions ----------------------------------------------------------


def test_notes_worker_and_server_invocations(tmp_path):
    files = {
        "Procfile": "web: daphne mysite.asgi:channel_layer -p $PORT\n"
        "worker: python manage.py runworker --threads 4\n"
        "delay: python manage.py rundelay\n",
        "deploy/run.sh": "python manage.py runworker\n"
        "python manage.py runworkers\n"  # already ported
        "python manage.py runworker thumbnails\n"  # Channels 4's runworker NAME
        "python manage.py runworker  # migrate: ok\n",
        "docker-compose.yml": "  command: python manage.py runserver --noworker\n",
        "Makefile": "delay:\n\tpython manage.py rundelay --sleep 2\n",
        "supervisor.conf": "command=python manage.py runworker -v 2\n",
        "notes.txt": "python manage.py runworker\n",  # not a process definition
    }
    found = notes(tmp_path, files)
    expected = [
        "Makefile:2: rundelay is gone",
        "Procfile:1: mysite.asgi:channel_layer was the 1.x entry point: serve "
        "mysite.asgi:application",
        "Procfile:2: runworker (1.x: every channel)",
        "Procfile:3: rundelay is gone",
        "deploy/run.sh:1: runworker (1.x: every channel)",
        "docker-compose.yml:1: Daphne's runserver has no --noworker",
        "supervisor.conf:1: runworker (1.x: every channel)",
    ]
    assert len(found) == len(expected)
    for note, start in zip(found, expected, strict=True):
        assert note.startswith(start), note
