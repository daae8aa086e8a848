"""The rewrites of generic_consumers.migrate, file by file: imports, settings, layer
backends, asgi.py and templates. Each rewrite is checked to be idempotent."""

from __future__ import annotations

import asyncio
import textwrap

import pytest
from channels.layers import InMemoryChannelLayer
from channels_redis.core import RedisChannelLayer
from redis.asyncio.sentinel import SentinelConnectionPool

from generic_consumers.migrate import plan, rewrite_python
from generic_consumers.migrate.templates import rewrite_template


def rewritten(source: str, asgi_module: str | None = "mysite.asgi"):
    """The new text and the note texts; asserts that a second pass changes nothing."""
    text, notes = rewrite_python(textwrap.dedent(source), asgi_module=asgi_module)
    assert rewrite_python(text, asgi_module=asgi_module)[0] == text
    return text, [note.text for note in notes]


# A complete INSTALLED_APPS, for settings files that test something else.
APPS = "INSTALLED_APPS = ['daphne', 'channels', 'generic_consumers']\n"


def settings_of(text: str) -> dict:
    namespace: dict = {}
    exec(text, namespace)
    return namespace


# -- imports ----------------------------------------------------------------------

CONSUMERS = """\
    from channels import Channel, Group
    from channels.generic.websockets import (
        JsonWebsocketConsumer,  # the 1.x names
        WebsocketDemultiplexer,
    )
    from channels.sessions import channel_session
    from channels.auth import channel_session_user_from_http
    from channels.security.websockets import allowed_hosts_only
    from channels.handler import AsgiRequest
    from channels.utils import name_that_thing
    from channels.asgi import channel_layers
    from channels.asgi import ChannelLayerWrapper, channel_layers as cl
    from channels.exceptions import DenyConnection
    from channels.message import Message
    from channels.test import apply_routes
    from channels.delay.models import DelayedMessage


    def lazy():
        from channels.binding.websockets import WebsocketBinding
"""


def test_imports_rewrite_every_1x_module():
    text, notes = rewritten(CONSUMERS)
    assert text == textwrap.dedent(
        """\
        from generic_consumers import Channel, Group
        from generic_consumers.generic.websockets import (
            JsonWebsocketConsumer,  # the 1.x names
            WebsocketDemultiplexer,
        )
        from generic_consumers.sessions import channel_session
        from generic_consumers.auth import channel_session_user_from_http
        from generic_consumers.security.websockets import allowed_hosts_only
        from generic_consumers.handler import AsgiRequest
        from generic_consumers.utils import name_that_thing
        from generic_consumers import channel_layers
        from generic_consumers.layers import ChannelLayerWrapper, channel_layers as cl
        from generic_consumers.exceptions import DenyConnection
        from generic_consumers.message import Message
        from generic_consumers.test import apply_routes
        from generic_consumers.delay.models import DelayedMessage


        def lazy():
            from generic_consumers.binding.websockets import WebsocketBinding
        """
    )
    assert notes == []


def test_imports_channels_tests_is_rewritten_with_a_note():
    text, notes = rewritten("from channels.tests import ChannelTestCase, HttpClient\n")
    assert text == "from generic_consumers.test import ChannelTestCase, HttpClient\n"
    assert notes == [
        "channels.tests (deprecated since Channels 1.1) became generic_consumers.test; "
        "write new tests against generic_consumers.test"
    ]


def test_imports_leave_channels_2_code_alone():
    source = (
        "from channels.routing import ProtocolTypeRouter, URLRouter\n"
        "from channels.generic.websocket import AsyncWebsocketConsumer\n"
        "from channels.exceptions import DenyConnection\n"  # Channels 4 has it too
        "from channels.utils import name_that_thing\n"
        "from channels import DEFAULT_CHANNEL_LAYER\n"
        "from channels.layers import get_channel_layer\n"
        "from .channels import Group\n"
    )
    assert rewritten(source) == (source, [])


def test_imports_in_a_1x_file_take_the_shared_names_along():
    text, _ = rewritten(
        "from channels import Group\nfrom channels.exceptions import DenyConnection\n"
    )
    assert text == (
        "from generic_consumers import Group\n"
        "from generic_consumers.exceptions import DenyConnection\n"
    )


# -- settings ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("source", "expected"),
    [
        (
            'CHANNEL_LAYERS = {"default": {"BACKEND": "asgiref.inmemory.ChannelLayer",'
            ' "ROUTING": "a.routing"}}\n',
            'CHANNEL_LAYERS = {"default": {"BACKEND": '
            '"channels.layers.InMemoryChannelLayer"}}\n'
            'GENERIC_CONSUMERS = {"ROUTING": "a.routing"}\n'
            'ASGI_APPLICATION = "mysite.asgi.application"\n',
        ),
        (
            "CHANNEL_LAYERS = {'default': {'ROUTING': ROUTES, 'BACKEND': 'x.Y'}}",
            "CHANNEL_LAYERS = {'default': {'BACKEND': 'x.Y'}}\n"
            "GENERIC_CONSUMERS = {'ROUTING': ROUTES}\n"
            "ASGI_APPLICATION = 'mysite.asgi.application'\n",
        ),
    ],
)
def test_settings_on_one_line(source, expected):
    assert rewritten(source)[0] == expected


SETTINGS = """\
    INSTALLED_APPS = [
        "django.contrib.auth",
        "channels",  # Channels 1.1
        "chat",
    ]
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "asgi_redis.RedisChannelLayer",
            "CONFIG": {
                "hosts": [("localhost", 6379)],
                "stats_prefix": "asgi-meta:",
            },
            "ROUTING": "mysite.routing.channel_routing",
            "TEST_CONFIG": {"hosts": [("localhost", 6379)]},
        },
    }
"""


def test_settings_redis_layer_routing_apps_and_entry_point():
    text, notes = rewritten(SETTINGS)
    assert text == textwrap.dedent(
        """\
        INSTALLED_APPS = [
            "daphne",
            "django.contrib.auth",
            "channels",  # Channels 1.1
            "generic_consumers",
            "chat",
        ]
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels_redis.core.RedisChannelLayer",
                "CONFIG": {
                    "hosts": [("localhost", 6379)],
                },
            },
        }
        GENERIC_CONSUMERS = {"ROUTING": "mysite.routing.channel_routing"}
        ASGI_APPLICATION = "mysite.asgi.application"
        """
    )
    assert notes == [
        "TEST_CONFIG removed: generic_consumers.test gives each ChannelTestCase fresh "
        "in-memory layers, and ChannelLiveServerTestCase serves CHANNEL_LAYERS as it "
        "is",
        "CONFIG['stats_prefix'] removed: channels_redis keeps no statistics",
    ]
    config = settings_of(text)["CHANNEL_LAYERS"]["default"]["CONFIG"]
    RedisChannelLayer(**config)  # the Channels 4 layer takes every key left


def test_settings_routing_merges_into_an_existing_generic_consumers():
    text, _ = rewritten(
        """\
        CHANNEL_LAYERS = {
            "default": {
                "BACKEND": "channels.layers.InMemoryChannelLayer",
                "ROUTING": "mysite.routing.channel_routing",
            },
        }
        GENERIC_CONSUMERS = {
            # Sockets of this process run their named channels too.
            "IN_PROCESS_WORKERS": True,
        }
        ASGI_APPLICATION = "mysite.asgi.application"
        """
    )
    assert settings_of(text)["GENERIC_CONSUMERS"] == {
        "ROUTING": "mysite.routing.channel_routing",
        "IN_PROCESS_WORKERS": True,
    }
    assert "# Sockets of this process run their named channels too." in text
    assert "ROUTING" not in settings_of(text)["CHANNEL_LAYERS"]["default"]
    empty, _ = rewritten(
        "CHANNEL_LAYERS = {'default': {'ROUTING': 'r'}}\nGENERIC_CONSUMERS = {}\n"
    )
    assert settings_of(empty)["GENERIC_CONSUMERS"] == {"ROUTING": "r"}


def test_settings_routing_conflict_is_left_for_a_human(tmp_path):
    same, _ = rewritten(
        "CHANNEL_LAYERS = {'default': {'ROUTING': 'r'}}\n"
        "GENERIC_CONSUMERS = {'ROUTING': 'r'}\n"
    )
    assert settings_of(same)["CHANNEL_LAYERS"] == {"default": {}}
    source = (
        "CHANNEL_LAYERS = {'default': {'ROUTING': 'old'}}\n"
        "GENERIC_CONSUMERS = {'ROUTING': 'new'}\n"
        "ASGI_APPLICATION = 'a.application'\n"
    )
    assert rewritten(source) == (source, [])
    (tmp_path / "settings.py").write_text(source + APPS)
    assert [str(n) for n in plan(tmp_path).notes] == [
        "settings.py:1: CHANNEL_LAYERS['default'] still has ROUTING ('old'), which "
        "Channels 4 refuses: generic_consumers serves one routing, "
        "GENERIC_CONSUMERS['ROUTING'] (on the layer "
        "GENERIC_CONSUMERS['CHANNEL_LAYER']); move it there and remove it here"
    ]


def test_settings_one_layer_not_named_default_and_a_second_routing(tmp_path):
    text, _ = rewritten("CHANNEL_LAYERS = {'main': {'ROUTING': 'r'}}\n")
    assert settings_of(text)["GENERIC_CONSUMERS"] == {
        "ROUTING": "r",
        "CHANNEL_LAYER": "main",
    }
    (tmp_path / "settings.py").write_text(
        "CHANNEL_LAYERS = {\n"
        "    'default': {'ROUTING': 'a'},\n"
        "    'other': {'ROUTING': 'b'},\n"
        "}\nASGI_APPLICATION = 'a.application'\n" + APPS
    )
    report = plan(tmp_path)
    assert len(report.notes) == 1
    assert settings_of(report.changes[0].after)["GENERIC_CONSUMERS"] == {"ROUTING": "a"}
    assert "settings.py:3: CHANNEL_LAYERS['other'] still has ROUTING ('b')" in str(
        report.notes[0]
    )


SENTINEL = """\
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "asgi_redis.RedisSentinelChannelLayer",
            "CONFIG": {
                "hosts": [("10.0.0.1", 26379), ("10.0.0.2", 26379)],
                "services": ["shard1", "shard2"],
                "sentinel_refresh_interval": 30,
            },
        },
    }
"""


def test_settings_sentinel_becomes_channels_redis_sentinel_hosts():
    text, notes = rewritten(SENTINEL)
    assert text.startswith(
        textwrap.dedent(
            """\
            CHANNEL_LAYERS = {
                "default": {
                    "BACKEND": "channels_redis.core.RedisChannelLayer",
                    "CONFIG": {
                        "hosts": [
                            {"sentinels": [("10.0.0.1", 26379), ("10.0.0.2", 26379)], "master_name": "shard1"},
                            {"sentinels": [("10.0.0.1", 26379), ("10.0.0.2", 26379)], "master_name": "shard2"},
                        ],
                    },
                },
            }
            """  # noqa: E501
        )
    )
    assert notes[0].startswith("asgi_redis.RedisSentinelChannelLayer became")
    assert notes[1].startswith("CONFIG['sentinel_refresh_interval'] removed")
    # channels_redis reads it as two Sentinel-managed shards.
    layer = RedisChannelLayer(
        **settings_of(text)["CHANNEL_LAYERS"]["default"]["CONFIG"]
    )
    pools = [layer.create_pool(i) for i in range(layer.ring_size)]
    assert all(isinstance(pool, SentinelConnectionPool) for pool in pools)
    assert [pool.service_name for pool in pools] == ["shard1", "shard2"]


@pytest.mark.parametrize(
    ("config", "hosts"),
    [
        ("{'services': SERVICES}", "[{'sentinels': [('localhost', 26379)], "),
        ("{'hosts': H, 'services': ['m']}", "[{'sentinels': H, 'master_name': 'm'}]"),
    ],
)
def test_settings_sentinel_other_shapes(config, hosts):
    text, _ = rewritten(
        "CHANNEL_LAYERS = {'default': {'BACKEND': "
        f"'asgi_redis.RedisSentinelChannelLayer', 'CONFIG': {config}}}}}\n"
    )
    assert "'channels_redis.core.RedisChannelLayer'" in text
    assert hosts.replace("'", '"') in text.replace("'", '"')
    if "SERVICES" in config:
        assert "for name in SERVICES]" in text


def test_settings_sentinel_without_services_is_left_for_a_human(tmp_path):
    source = (
        "CHANNEL_LAYERS = {'default': {'BACKEND': "
        "'asgi_redis.RedisSentinelChannelLayer', 'CONFIG': {'hosts': [('s', 1)]}}}\n"
        "ASGI_APPLICATION = 'a.application'\n"
    )
    assert rewritten(source) == (source, [])
    (tmp_path / "settings.py").write_text(source + APPS)
    (note,) = plan(tmp_path).notes
    assert note.text.startswith(
        "asgi_redis.RedisSentinelChannelLayer without 'services' asked the Sentinels"
    )


def test_settings_ipc_and_local_layers():
    text, notes = rewritten(
        """\
        CHANNEL_LAYERS = {
            "ipc": {
                "BACKEND": "asgi_ipc.IPCChannelLayer",
                "CONFIG": {"prefix": "mysite", "capacity": 50},
            },
            "local": {
                "BACKEND": "asgi_redis.RedisLocalChannelLayer",
                "CONFIG": {"hosts": ["redis://r:6379"], "local_capacity": 10},
            },
        }
        """
    )
    layers = settings_of(text)["CHANNEL_LAYERS"]
    assert layers["ipc"] == {
        "BACKEND": "channels.layers.InMemoryChannelLayer",
        "CONFIG": {"capacity": 50},
    }
    assert layers["local"] == {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {"hosts": ["redis://r:6379"]},
    }
    InMemoryChannelLayer(**layers["ipc"]["CONFIG"])
    RedisChannelLayer(**layers["local"]["CONFIG"])
    assert any("IPC was shared by every process on the machine" in n for n in notes)
    assert any(n.startswith("asgi_redis.RedisLocalChannelLayer became") for n in notes)


def test_settings_connection_kwargs_and_dynamic_layers_need_a_human(tmp_path):
    (tmp_path / "a.py").write_text(
        "CHANNEL_LAYERS = {'default': {'BACKEND': 'asgi_redis.RedisChannelLayer',\n"
        "    'CONFIG': {'hosts': ['redis://r'], 'connection_kwargs': {'db': 2}}}}\n"
        "ASGI_APPLICATION = 'a.application'\n" + APPS
    )
    (tmp_path / "b.py").write_text(
        "CHANNEL_LAYERS = build({'ROUTING': 'r'})\nASGI_APPLICATION = 'a.application'\n"
    )
    notes = [str(n) for n in plan(tmp_path).notes]
    assert notes[0].startswith("a.py:2: channels_redis has no 'connection_kwargs'")
    assert notes[1].startswith("b.py:1: CHANNEL_LAYERS is built by code")
    assert len(notes) == 2


@pytest.mark.parametrize(
    ("apps", "expected"),
    [
        (
            '("channels", "chat")',
            ["daphne", "channels", "generic_consumers", "chat"],
        ),
        ('["chat", "daphne", "channels"]', ["daphne", "chat", "channels", "g"]),
        ("['chat']", ["daphne", "chat", "channels", "generic_consumers"]),
        ("[]", ["daphne", "channels", "generic_consumers"]),
        (
            '["daphne", "channels", "generic_consumers"]',
            ["daphne", "channels", "generic_consumers"],
        ),
        (
            '["channels", "channels.delay"]',
            ["daphne", "channels", "generic_consumers", "generic_consumers.delay"],
        ),
    ],
)
def test_settings_installed_apps(apps, expected):
    expected = [a if a != "g" else "generic_consumers" for a in expected]
    text, _ = rewritten(
        f"INSTALLED_APPS = {apps}\nCHANNEL_LAYERS = {{}}\nASGI_APPLICATION = 'x'\n"
    )
    assert list(settings_of(text)["INSTALLED_APPS"]) == expected


def test_settings_without_manage_py_ask_for_asgi_application():
    text, notes = rewritten("CHANNEL_LAYERS = {}\n", asgi_module=None)
    assert text == "CHANNEL_LAYERS = {}\n"
    assert notes[0].startswith("set ASGI_APPLICATION to '<module>.application'")


# -- asgi.py and templates --------------------------------------------------------


def test_entry_point_1x_asgi_py_is_rewritten():
    text, _ = rewritten(
        """\
        import os
        from channels.asgi import get_channel_layer

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
        channel_layer = get_channel_layer()  # daphne mysite.asgi:channel_layer
        """
    )
    assert text == textwrap.dedent(
        """\
        import os
        from generic_consumers.asgi import get_application

        os.environ.setdefault("DJANGO_SETTINGS_MODULE", "mysite.settings")
        application = get_application()  # daphne mysite.asgi:channel_layer
        """
    )
    custom = (
        "from channels.asgi import get_channel_layer\nlayer = get_channel_layer('x')\n"
    )
    assert rewritten(custom)[0] == custom  # not the usual shape: a note (notes tests)


def test_entry_point_created_next_to_the_settings(tmp_path):
    (tmp_path / "manage.py").write_text(
        "import os\nos.environ.setdefault('DJANGO_SETTINGS_MODULE', 'site.conf.prod')\n"
    )
    (tmp_path / "site" / "conf").mkdir(parents=True)
    (tmp_path / "site" / "__init__.py").write_text("")
    (tmp_path / "site" / "conf" / "prod.py").write_text("CHANNEL_LAYERS = {}\n" + APPS)
    report = plan(tmp_path)
    created = {c.path: c.after for c in report.changes if c.before is None}
    assert list(created) == ["site/asgi.py"]
    assert (
        'os.environ.setdefault("DJANGO_SETTINGS_MODULE", "site.conf.prod")'
        in (created["site/asgi.py"])
    )
    assert "application = get_application()" in created["site/asgi.py"]
    settings = next(c.after for c in report.changes if c.path == "site/conf/prod.py")
    assert settings_of(settings)["ASGI_APPLICATION"] == "site.asgi.application"
    report.apply()
    assert plan(tmp_path).clean


@pytest.mark.parametrize(
    ("template", "expected"),
    [
        (
            "{% static 'channels/js/websocketbridge.js' %}",
            "{% static 'generic_consumers/js/websocketbridge.js' %}",
        ),
        (
            '{% static "channels/js/websocketbridge.js" %}',
            '{% static "generic_consumers/js/websocketbridge.js" %}',
        ),
        (
            "{{ STATIC_URL }}channels/js/websocketbridge.js",
            "{{ STATIC_URL }}generic_consumers/js/websocketbridge.js",
        ),
        ("/static/mychannels/js/websocketbridge.js", None),
        ("{% static 'generic_consumers/js/websocketbridge.js' %}", None),
    ],
)
def test_templates_bridge_path(template, expected):
    assert rewrite_template(template) == (expected or template)


def test_templates_only_under_templates_dirs(tmp_path):
    bridge = "<script src=\"{% static 'channels/js/websocketbridge.js' %}\">\n"
    root = tmp_path / "templates" / "site"  # a "templates" above the project
    (root / "app" / "templates").mkdir(parents=True)
    (root / "app" / "templates" / "page.html").write_text(bridge)
    (root / "app" / "page.html").write_text(bridge)
    assert [c.path for c in plan(root).changes] == ["app/templates/page.html"]


def test_project_skips_virtualenvs_vcs_and_node_modules(tmp_path):
    for name in (".venv/lib/x.py", ".git/x.py", "node_modules/x/x.py", "venv/x.py"):
        (tmp_path / name).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / name).write_text("from channels import Group\n")
    (tmp_path / "app.py").write_text("from channels import Group\n")
    assert [c.path for c in plan(tmp_path).changes] == ["app.py"]


def test_project_one_file(tmp_path):
    path = tmp_path / "consumers.py"
    path.write_text("from channels import Group\n")
    report = plan(path)
    assert [c.path for c in report.changes] == ["consumers.py"]
    report.apply()
    assert path.read_text() == "from generic_consumers import Group\n"


# -- a real Sentinel --------------------------------------------------------------


@pytest.mark.redis
def test_settings_sentinel_translation_talks_to_a_real_sentinel(tmp_path):
    from .redis_server import RedisSentinel, RedisServer

    redis = RedisServer().start()
    sentinel = None
    try:
        sentinel = RedisSentinel(redis.port, "mymaster", tmp_path).start()
        text, _ = rewritten(
            "CHANNEL_LAYERS = {'default': {"
            "'BACKEND': 'asgi_redis.RedisSentinelChannelLayer', "
            f"'CONFIG': {{'hosts': [('127.0.0.1', {sentinel.port})], "
            "'services': ['mymaster']}}}\n"
        )
        config = settings_of(text)["CHANNEL_LAYERS"]["default"]["CONFIG"]

        async def round_trip():
            layer = RedisChannelLayer(**config)
            try:
                await layer.send("migrated.sentinel", {"type": "hello"})
                return await asyncio.wait_for(layer.receive("migrated.sentinel"), 5)
            finally:
                pools = [
                    connection.connection_pool
                    for loop_layer in layer._layers.values()
                    for connection in loop_layer._connections.values()
                ]
                await layer.flush()
                # channels_redis closes the master connections, not the clients it
                # made to ask the Sentinels.
                for pool in pools:
                    for client in pool.sentinel_manager.sentinels:
                        await client.aclose()

        assert asyncio.run(round_trip()) == {"type": "hello"}
    finally:
        if sentinel is not None:
            sentinel.stop()
        redis.stop()
