"""The management commands: inspect_routing and migrate_from_channels1."""

import shutil
from io import StringIO
from pathlib import Path

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
    assert output.splitlines()[-1].endswith(
        "needs a worker: runworkers --only-channels chat.stats"
    )


def test_inspect_routing_errors():
    with pytest.raises(CommandError, match="Cannot load"):
        run("inspect_routing", "--routing", "nowhere.routing")
    with override_settings(GENERIC_CONSUMERS={}):
        with pytest.raises(CommandError, match="No routing"):
            run("inspect_routing")
    assert "(no routes)" in run("inspect_routing", "--routing", f"{__name__}.EMPTY")


EMPTY: list = []

FIXTURE = Path(__file__).resolve().parent / "fixtures" / "channels1" / "liveblog"


@pytest.fixture
def liveblog(tmp_path):
    return Path(shutil.copytree(FIXTURE, tmp_path / "liveblog"))


def snapshot(root):
    return {p: p.read_text() for p in sorted(root.rglob("*")) if p.is_file()}


def test_migrate_command_runs_the_same_migration(liveblog):
    # The tests of the migration itself are in tests/test_migrate*.py.
    before = snapshot(liveblog)
    output = run("migrate_from_channels1", str(liveblog), "--dry-run")
    assert snapshot(liveblog) == before
    assert "+from generic_consumers import Group" in output
    assert output.endswith(
        "6 files would change; 3 notes need a human. Run with --apply to write the "
        "changes.\n"
    )
    with pytest.raises(CommandError, match="not finished"):
        run("migrate_from_channels1", str(liveblog), "--check")
    assert snapshot(liveblog) == before

    output = run("migrate_from_channels1", str(liveblog))
    assert "rewrote blog/models.py\n" in output
    assert output.endswith("Changed 6 files; 3 notes need a human.\n")
    assert (
        (liveblog / "blog/models.py")
        .read_text()
        .startswith("import json\n\nfrom generic_consumers import Group\n")
    )
    again = run("migrate_from_channels1", str(liveblog))
    assert again.splitlines()[-1] == "1 note needs a human."
    assert again.startswith("blog/consumers.py:4: ws_connect handles websocket.connect")


def test_migrate_command_missing_path(tmp_path):
    with pytest.raises(CommandError, match="No such file or directory"):
        run("migrate_from_channels1", str(tmp_path / "missing"))
