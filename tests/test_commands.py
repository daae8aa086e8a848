"""The management commands: inspect_routing and migrate_from_channels1."""

import textwrap
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import override_settings

from generic_consumers import include, route, route_class
from generic_consumers.generic.websockets import JsonWebsocketConsumer


def connect(message):
    pass


async def stats(message):
    pass


class Chat(JsonWebsocketConsumer):
    pass


inspected_routing = [
    route("websocket.connect", connect, path=r"^/$"),
    include(
        [route_class(Chat, path=r"^/chat/(?P<room>\w+)/$")],
        path=r"^/v(?P<version>\d)",
    ),
    route("chat.stats", stats),
]


def run(*args):
    out = StringIO()
    call_command(*args, stdout=out)
    return out.getvalue()


def test_inspect_routing_prints_the_table():
    output = run("inspect_routing", "--routing", f"{__name__}.inspected_routing")
    lines = output.splitlines()
    assert lines[0].split() == ["CHANNEL", "FILTERS", "CONSUMER", "KIND", "RUNS"]
    assert lines[1].split() == [
        "websocket.connect",
        "path='^/$'",
        f"{__name__}.connect",
        "sync",
        "socket",
    ]
    chat = [line for line in lines if "Chat" in line]
    assert len(chat) == 3  # connect, receive, disconnect
    assert (
        "include(path='^/v(?P<version>\\\\d)') path='^/chat/(?P<room>\\\\w+)/$'"
        in (chat[0])
    )
    assert lines[-1].split()[:1] == ["chat.stats"]
    assert lines[-1].endswith("async  in-process worker")


def test_inspect_routing_without_in_process_workers():
    with override_settings(
        GENERIC_CONSUMERS={
            "ROUTING": f"{__name__}.inspected_routing",
            "IN_PROCESS_WORKERS": False,
        }
    ):
        output = run("inspect_routing")
    assert output.splitlines()[-1].endswith("needs a worker: runworker chat.stats")


def test_inspect_routing_errors():
    with pytest.raises(CommandError, match="Cannot load"):
        run("inspect_routing", "--routing", "nowhere.routing")
    with override_settings(GENERIC_CONSUMERS={}):
        with pytest.raises(CommandError, match="No routing"):
            run("inspect_routing")
    assert "(no routes)" in run("inspect_routing", "--routing", f"{__name__}.EMPTY")


EMPTY: list = []

SAMPLE = {
    "mysite/settings.py": """\
        INSTALLED_APPS = [
            "django.contrib.auth",
            "channels",
            "chat",
        ]
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "asgi_redis.RedisChannelLayer",
                "CONFIG": {"hosts": [("localhost", 6379)]},
                "ROUTING": "mysite.routing.channel_routing",
            },
        }
    """,
    "mysite/routing.py": """\
        from channels.routing import route, route_class, include
        from channels.staticfiles import StaticFilesConsumer
        from chat.consumers import ChatConsumer, ws_add

        channel_routing = [
            route("websocket.connect", ws_add),
            route_class(ChatConsumer, path=r"^/chat/"),
            route("http.request", StaticFilesConsumer()),
        ]
    """,
    "mysite/asgi.py": """\
        import os
        from channels.asgi import get_channel_layer

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
        channel_layer = get_channel_layer()
    """,
    "chat/consumers.py": """\
        from channels import Channel, Group
        from channels.generic.websockets import (
            JsonWebsocketConsumer,
            WebsocketDemultiplexer,
        )
        from channels.sessions import channel_session
        from channels.auth import channel_session_user_from_http
        from channels.security.websockets import allowed_hosts_only
        from channels.delay.models import DelayedMessage


        @allowed_hosts_only
        @channel_session_user_from_http
        def ws_add(message):
            Group("chat").add(message.reply_channel)


        class ChatConsumer(JsonWebsocketConsumer):
            def receive(self, content, **kwargs):
                from channels.binding.websockets import WebsocketBinding  # lazy
                self.send(content)
    """,
    "chat/tests.py": """\
        from channels.tests import ChannelTestCase, HttpClient
        from channels.test import apply_routes
    """,
    "modern/asgi.py": """\
        from channels.routing import ProtocolTypeRouter, URLRouter
        from channels.layers import get_channel_layer
    """,
}


@pytest.fixture
def project(tmp_path):
    for name, text in SAMPLE.items():
        path = tmp_path / name
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    (tmp_path / ".venv" / "lib").mkdir(parents=True)
    (tmp_path / ".venv" / "lib" / "x.py").write_text("from channels import Group\n")
    return tmp_path


def snapshot(root):
    return {p: p.read_text() for p in sorted(root.rglob("*.py"))}


def test_migrate_dry_run_prints_a_diff_and_writes_nothing(project):
    before = snapshot(project)
    output = run("migrate_from_channels1", str(project), "--dry-run")
    assert snapshot(project) == before
    assert "--- a/chat/consumers.py" in output
    assert "-from channels import Channel, Group" in output
    assert "+from generic_consumers import Channel, Group" in output
    assert "Would rewrite 4 file(s)." in output
    assert "Needs a human" in output


def test_migrate_rewrites_imports_and_settings(project):
    output = run("migrate_from_channels1", str(project))
    consumers = (project / "chat/consumers.py").read_text()
    assert "from generic_consumers import Channel, Group" in consumers
    assert "from generic_consumers.generic.websockets import (" in consumers
    assert "from generic_consumers.sessions import channel_session" in consumers
    assert "from generic_consumers.auth import" in consumers
    assert "from generic_consumers.security.websockets import" in consumers
    assert "from generic_consumers.binding.websockets import" in consumers
    assert "from channels.delay.models import DelayedMessage" in consumers  # human
    tests = (project / "chat/tests.py").read_text()
    assert tests == (
        "from generic_consumers.test import ChannelTestCase, HttpClient\n"
        "from generic_consumers.test import apply_routes\n"
    )
    routing = (project / "mysite/routing.py").read_text()
    assert routing.startswith("from generic_consumers.routing import route,")
    # Channels 2+ code is left alone.
    assert (project / "modern/asgi.py").read_text() == textwrap.dedent(
        SAMPLE["modern/asgi.py"]
    )
    assert (project / ".venv/lib/x.py").read_text() == "from channels import Group\n"

    settings = (project / "mysite/settings.py").read_text()
    namespace: dict = {}
    exec(settings, namespace)
    assert namespace["GENERIC_CONSUMERS"] == {
        "ROUTING": "mysite.routing.channel_routing"
    }
    assert "ROUTING" not in namespace["CHANNEL_LAYERS"]["default"]
    assert namespace["INSTALLED_APPS"] == [
        "django.contrib.auth",
        "channels",
        "generic_consumers",
        "chat",
    ]

    assert "Rewrote 4 file(s)." in output
    human = output.split("Needs a human", 1)[1]
    for expected in (
        "chat/consumers.py:9: the delay server",
        "mysite/asgi.py:2: channels.asgi.get_channel_layer",
        "mysite/routing.py:2: StaticFilesConsumer",
        "mysite/routing.py:8: 'http.request'",
        "mysite/settings.py:8: 'asgi_redis.RedisChannelLayer'",
        "mysite/settings.py:6: add 'daphne' first in INSTALLED_APPS",
    ):
        assert expected in human, expected

    again = run("migrate_from_channels1", str(project))
    assert "Rewrote 0 file(s)." in again


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            'CHANNEL_LAYERS = {"default": {"BACKEND": "asgiref.inmemory.ChannelLayer",'
            ' "ROUTING": "a.routing"}}\n',
            'CHANNEL_LAYERS = {"default": {"BACKEND": '
            '"channels.layers.InMemoryChannelLayer"}}\n'
            'GENERIC_CONSUMERS = {"ROUTING": "a.routing"}\n',
        ),
        (
            "CHANNEL_LAYERS = {'default': {'ROUTING': ROUTES, 'BACKEND': 'x.Y'}}\n",
            "CHANNEL_LAYERS = {'default': {'BACKEND': 'x.Y'}}\n"
            'GENERIC_CONSUMERS = {"ROUTING": ROUTES}\n',
        ),
    ],
)
def test_migrate_settings_on_one_line(tmp_path, source, expected):
    path = tmp_path / "settings.py"
    path.write_text(source)
    run("migrate_from_channels1", str(path))
    assert path.read_text() == expected


def test_migrate_reports_what_it_cannot_do(tmp_path):
    path = tmp_path / "settings.py"
    path.write_text(
        "import channels.routing\n"
        "from channels.routing import route, URLRouter\n"
        "GENERIC_CONSUMERS = {}\n"
        "CHANNEL_LAYERS = {\n"
        '    "default": {"ROUTING": "a"},\n'
        '    "other": {"ROUTING": "b"},\n'
        "}\n"
        "ASGI_APPLICATION = 'x'\n"
    )
    output = run("migrate_from_channels1", str(path))
    assert "settings.py:1: 'import channels.routing'" in output
    assert "mixes 1.x names with URLRouter" in output
    assert "GENERIC_CONSUMERS already exists" in output
    assert "layer 'other' has its own ROUTING" in output
    assert "daphne" not in output


def test_migrate_unparsable_file_and_missing_path(tmp_path):
    (tmp_path / "old.py").write_text("print 'python 2'\n")
    assert "old.py:1: cannot parse" in run("migrate_from_channels1", str(tmp_path))
    with pytest.raises(CommandError, match="No such file"):
        run("migrate_from_channels1", str(tmp_path / "missing"))
