"""``python -m generic_consumers.migrate`` on real Channels 1.x projects.

Each project of ``tests/fixtures/channels1`` is copied to a temporary directory and
taken through what a user does: dry run, ``--check``, ``--apply``, the fixes the notes
ask for, ``manage.py check``, and (for two of them) a real server with real sockets.
Every step is a real subprocess with this virtualenv's Python.
"""

from __future__ import annotations

import asyncio
import json
import os
import shutil
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from websockets.asyncio.client import connect
from websockets.exceptions import InvalidStatus

from .redis_server import RedisServer
from .servers import ServerProcess

FIXTURES = Path(__file__).resolve().parent / "fixtures" / "channels1"


def clean_env(project: Path, **extra: str) -> dict[str, str]:
    """The environment of a user's shell in the project: no test settings."""
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_SETTINGS_MODULE"}
    return {**env, "PYTHONPATH": str(project), **extra}


def migrate(project: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "generic_consumers.migrate", *args, str(project)],
        cwd=project,
        env=clean_env(project),
        capture_output=True,
        text=True,
        timeout=120,
    )


def manage(project: Path, *args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=project,
        env=clean_env(project, **env),
        capture_output=True,
        text=True,
        timeout=120,
    )


def snapshot(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): p.read_text()
        for p in sorted(root.rglob("*"))
        if p.is_file() and "__pycache__" not in p.parts and p.suffix != ".sqlite3"
    }


def edit(path: Path, old: str, new: str) -> None:
    """Change a file the way its note says (and fail if the fixture moved on)."""
    text = path.read_text()
    assert old in text, f"{old!r} not in {path}"
    path.write_text(text.replace(old, new, 1))


def fix_liveblog(project: Path) -> None:
    # "add message.reply_channel.send({"accept": True})"
    edit(
        project / "blog/consumers.py",
        '    Group("liveblog").add(message.reply_channel)\n',
        '    message.reply_channel.send({"accept": True})\n'
        '    Group("liveblog").add(message.reply_channel)\n',
    )


def fix_multichat(project: Path) -> None:
    edit(
        project / "chat/templates/chat/room.html",
        "?session_key={{ request.session.session_key }}",
        "",
    )
    edit(
        project / "Procfile",
        "multichat.asgi:channel_layer",
        "multichat.asgi:application",
    )
    edit(project / "Procfile", "manage.py runworker -v2", "manage.py runworkers -v 2")
    edit(project / "Procfile", "delay: python manage.py rundelay\n", "")


def fix_databinding(project: Path) -> None:
    # The note offers both; this one keeps the 0.17 form, which runs as it is.
    edit(
        project / "values/bindings.py",
        "    def group_names(self, instance, action):\n",
        "    def group_names(self, instance, action):  # migrate: ok\n",
    )


PROJECTS: dict[str, tuple[str, list[str], Callable[[Path], None]]] = {
    # name: (what manage.py check dies of before, notes expected, the fixes)
    "liveblog": (
        "cannot import name 'Group' from 'channels'",
        [
            "blog/consumers.py:4: ws_connect handles websocket.connect but never "
            "accepts",
            "blog/tests.py:1: channels.tests (deprecated since Channels 1.1)",
            "liveblog/settings.py:36: TEST_CONFIG removed",
        ],
        fix_liveblog,
    ),
    "multichat": (
        "No module named 'channels.delay'",
        [
            "Procfile:1: multichat.asgi:channel_layer was the 1.x entry point",
            "Procfile:2: runworker (1.x: every channel): use 'python manage.py "
            "runworkers'",
            "Procfile:3: rundelay is gone",
            "chat/templates/chat/room.html:10: ?session_key= in a URL",
            "multichat/settings.py:17: 'channels.delay' became "
            "'generic_consumers.delay'",
        ],
        fix_multichat,
    ),
    "databinding": (
        "No module named 'channels.binding'",
        ["values/bindings.py:13: group_names(self, instance, action) is the 0.17 form"],
        fix_databinding,
    ),
}


def copy_fixture(tmp_path: Path, name: str) -> Path:
    project = tmp_path / name
    shutil.copytree(FIXTURES / name, project)
    return project


@pytest.mark.parametrize("name", sorted(PROJECTS))
def test_migrate_fixture_project_end_to_end(tmp_path, name):
    dies_of, expected_notes, fix = PROJECTS[name]
    project = copy_fixture(tmp_path, name)
    original = snapshot(project)

    before = manage(project, "check")
    assert before.returncode != 0
    assert dies_of in before.stderr

    dry = migrate(project)
    assert dry.returncode == 0, dry.stderr
    assert snapshot(project) == original  # a dry run writes nothing
    assert "\n--- a/" in "\n" + dry.stdout and "\n+from generic_consumers" in dry.stdout
    assert (
        dry.stdout.rstrip()
        .splitlines()[-1]
        .endswith("Run with --apply to write the changes.")
    )
    assert migrate(project, "--check").returncode == 1

    applied = migrate(project, "--apply")
    assert applied.returncode == 0, applied.stderr
    after_apply = snapshot(project)
    assert after_apply != original
    lines = applied.stdout.splitlines()
    notes = [line for line in lines if not line.startswith(("rewrote ", "created "))]
    assert len(notes) == len(expected_notes) + 1  # and the summary
    for note, expected in zip(notes, expected_notes, strict=False):
        assert note.startswith(expected), (note, expected)
    assert lines[-1].startswith("Changed ")
    # The dry run announced the same notes (lines of the migrated files).
    assert [n for n in dry.stdout.splitlines() if n in notes[:-1]] == notes[:-1]

    again = migrate(project, "--apply")
    assert snapshot(project) == after_apply  # idempotent
    assert "rewrote" not in again.stdout and "created" not in again.stdout
    # Notes still open keep --check failing; a project with none is done.
    assert migrate(project, "--check").returncode == (1 if expected_notes else 0)

    fix(project)
    check = migrate(project, "--check")
    assert check.returncode == 0, check.stdout
    assert check.stdout == "Nothing to change and nothing needs a human.\n"

    after = manage(project, "check")
    assert after.returncode == 0, after.stderr
    assert "System check identified no issues" in after.stdout


def test_migrate_never_imports_the_project_nor_needs_settings(tmp_path):
    project = copy_fixture(tmp_path, "liveblog")
    probe = (
        "import sys\n"
        "from generic_consumers.migrate.__main__ import main\n"
        f"code = main([{str(project)!r}])\n"
        "from django.conf import settings\n"
        "assert not settings.configured, 'Django settings were configured'\n"
        "mine = [m for m in sys.modules if m.split('.')[0] in ('blog', 'liveblog')]\n"
        "assert not mine, mine\n"
        "sys.exit(code)\n"
    )
    # As a user who exported the project's settings: they must not be loaded.
    result = subprocess.run(
        [sys.executable, "-c", probe],
        cwd=project,
        env=clean_env(project, DJANGO_SETTINGS_MODULE="liveblog.settings"),
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    assert "+from generic_consumers import Group" in result.stdout


def test_migrate_cli_errors(tmp_path):
    missing = subprocess.run(
        [sys.executable, "-m", "generic_consumers.migrate", str(tmp_path / "nope")],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert missing.returncode == 2
    assert "No such file or directory" in missing.stderr and "nope" in missing.stderr
    both = subprocess.run(
        [sys.executable, "-m", "generic_consumers.migrate", "--apply", "--check", "."],
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert both.returncode == 2
    assert "not allowed with argument" in both.stderr


def test_migrate_clean_project_prints_one_line(tmp_path):
    (tmp_path / "app.py").write_text("from generic_consumers import Group\n")
    result = migrate(tmp_path, "--check")
    assert result.returncode == 0
    assert result.stdout == "Nothing to change and nothing needs a human.\n"


# -- after the migration, on a real server --------------------------------------


def migrated(tmp_path: Path, name: str) -> Path:
    project = copy_fixture(tmp_path, name)
    assert migrate(project, "--apply").returncode == 0
    PROJECTS[name][2](project)
    assert migrate(project, "--check").returncode == 0
    return project


def shell(project: Path, code: str, **env: str) -> str:
    result = manage(project, "shell", "-v", "0", "-c", code, **env)
    assert result.returncode == 0, result.stderr
    return result.stdout.strip().splitlines()[-1]


LOGIN = """
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth import get_user_model
from django.contrib.sessions.backends.db import SessionStore
user = get_user_model().objects.create_user("alice", password="not-used")
session = SessionStore()
session[SESSION_KEY] = str(user.pk)
session[BACKEND_SESSION_KEY] = "django.contrib.auth.backends.ModelBackend"
session[HASH_SESSION_KEY] = user.get_session_auth_hash()
session.create()
print(session.session_key)
"""


async def recv_json(ws):
    return json.loads(await asyncio.wait_for(ws.recv(), 5))


@pytest.fixture
def redis_url():
    server = RedisServer().start()
    yield server.url
    server.stop()


@pytest.mark.e2e
@pytest.mark.redis
@pytest.mark.parametrize("kind", ["daphne", "uvicorn"])
async def test_migrated_multichat_round_trip(tmp_path, redis_url, kind):
    """The chat, migrated (asgi_redis → channels_redis), logs in and talks."""
    project = migrated(tmp_path, "multichat")
    env = {"REDIS_URL": redis_url}
    assert manage(project, "migrate", "--run-syncdb", "-v", "0", **env).returncode == 0
    session_key = shell(project, LOGIN, **env)
    server = ServerProcess(
        kind,
        app="multichat.asgi:application",
        env={"PYTHONPATH": str(project), "DJANGO_SETTINGS_MODULE": "multichat.settings"}
        | env,
        cwd=project,
    ).start()
    try:
        cookie = {"Cookie": f"sessionid={session_key}"}
        url = server.url + "/chat/"
        async with (
            connect(url + "lobby/", additional_headers=cookie, open_timeout=5) as a,
            connect(url + "lobby/", additional_headers=cookie, open_timeout=5) as b,
            connect(url + "kitchen/", additional_headers=cookie, open_timeout=5) as c,
        ):
            await a.send(json.dumps({"message": "hello"}))
            line = {"user": "alice", "message": "hello"}
            assert await recv_json(a) == line
            assert await recv_json(b) == line
            # The other room saw nothing: its first message is its own.
            await c.send(json.dumps({"message": "hi kitchen"}))
            assert await recv_json(c) == {"user": "alice", "message": "hi kitchen"}
        with pytest.raises(InvalidStatus) as refused:  # anonymous: {"close": True}
            async with connect(url + "lobby/", open_timeout=5):
                pass
        assert refused.value.response.status_code == 403
    finally:
        output = server.stop()
    assert "Traceback" not in output, output
    stored = shell(
        project,
        "from chat.models import ChatMessage\n"
        "print(sorted(ChatMessage.objects.values_list('room', 'text')))",
        **env,
    )
    assert stored == "[('kitchen', 'hi kitchen'), ('lobby', 'hello')]"


@pytest.mark.e2e
async def test_migrated_databinding_round_trip(tmp_path):
    """The bound model, migrated, creates a row from a frame and announces it."""
    project = migrated(tmp_path, "databinding")
    assert manage(project, "migrate", "--run-syncdb", "-v", "0").returncode == 0
    server = ServerProcess(
        "daphne",
        app="databinding.asgi:application",
        env={
            "PYTHONPATH": str(project),
            "DJANGO_SETTINGS_MODULE": "databinding.settings",
        },
        cwd=project,
    ).start()
    try:
        async with connect(server.url + "/binding/", open_timeout=5) as ws:
            create = {"action": "create", "data": {"name": "fifty", "value": 50}}
            await ws.send(json.dumps({"stream": "intval", "payload": create}))
            assert await recv_json(ws) == {
                "stream": "intval",
                "payload": {
                    "action": "create",
                    "pk": 1,
                    "data": {"name": "fifty", "value": 50},
                    "model": "values.integervalue",
                },
            }
    finally:
        output = server.stop()
    assert "Traceback" not in output, output
