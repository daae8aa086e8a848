"""The sample site (sample_site/) in headless Chromium, served by Daphne.

Runs the real project: ``DJANGO_SETTINGS_MODULE=sample_site.settings`` on a temporary
SQLite file (``SAMPLE_SITE_DB``), migrated and seeded as ``make demo`` does. Two browser
contexts are two people. Needs Debian's ``chromium`` (same skip / ``REQUIRE_BROWSER=1``
rules as test_browser.py, whose fixtures these tests share).
"""

import os
import subprocess
import sys

import pytest

from demo.management.commands.seed_demo import DEMO_USERS
from tests.servers import ROOT, ServerProcess, free_port
from tests.test_browser import WAIT_MS, chromium, wait_for  # noqa: F401 (fixture)

pytestmark = pytest.mark.browser

SITE_DIR = ROOT / "sample_site"
PASSWORDS = dict(DEMO_USERS)


class SampleSite:
    """The sample site on a free loopback port, restartable on the same port."""

    def __init__(self, db_path, **env: str) -> None:
        self.port = free_port()
        self.env = {
            "DJANGO_SETTINGS_MODULE": "sample_site.settings",
            "SAMPLE_SITE_DB": str(db_path),
            "SAMPLE_SITE_CACHE": str(db_path.parent / "cache"),
            "SAMPLE_SITE_COUNTERS_DIR": str(db_path.parent / "counters"),
            "PYTHONPATH": os.pathsep.join([str(SITE_DIR), str(ROOT)]),
            **env,
        }
        self.server: ServerProcess | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def manage(self, *args: str) -> str:
        """Run ``manage.py`` with ``args`` for this site; returns what it printed."""
        return subprocess.run(
            [sys.executable, "manage.py", *args],
            cwd=SITE_DIR,
            env={**os.environ, **self.env},
            check=True,
            capture_output=True,
            text=True,
            timeout=60,
        ).stdout

    def start(self) -> None:
        self.server = ServerProcess(
            "daphne", "sample_site.asgi:application", port=self.port, env=self.env
        ).start()

    def stop(self) -> str:
        server, self.server = self.server, None
        return server.stop() if server is not None else ""


@pytest.fixture(scope="module")
def site(chromium, tmp_path_factory):  # noqa: F811 (the shared fixture)
    sample = SampleSite(tmp_path_factory.mktemp("sample_site") / "db.sqlite3")
    sample.manage("migrate", "--noinput")
    sample.manage("seed_demo")
    sample.start()
    yield sample
    sample.stop()


@pytest.fixture
def browse(chromium, site):  # noqa: F811
    """``browse(username or None)``: a fresh browser context, logged in if named."""
    contexts = []

    def open_context(username=None):
        context = chromium.new_context(base_url=site.url)
        context.set_default_timeout(WAIT_MS)
        contexts.append(context)
        if username is not None:
            page = context.new_page()
            page.goto("/accounts/login/")
            page.fill("#id_username", username)
            page.fill("#id_password", PASSWORDS[username])
            page.click("#login-button")
            page.wait_for_url(site.url + "/")
            assert page.text_content("#username") == username
            page.close()
        return context

    yield open_context
    for context in contexts:
        context.close()


def open_page(context, path, ready="demo.status === 'connected'"):
    page = context.new_page()
    page.goto(path)
    wait_for(page, ready)
    return page


def say(page, text):
    page.fill("#chat-text", text)
    page.press("#chat-text", "Enter")


def has_line(user, text):
    return f"demo.lines.some(l => l.user === {user!r} && l.text === {text!r})"


def test_sample_site_index_links_every_demo_and_its_code(browse):
    page = browse().new_page()
    page.goto("/")
    for path in ("/echo/", "/chat/lobby/", "/dashboard/"):
        assert page.locator(f"main a[href='{path}']").count() == 1
    page.click("text=sample_site/demo/chat.py")
    assert "class ChatConsumer" in page.text_content("pre.source")


def test_sample_site_echo(browse):
    page = open_page(browse(), "/echo/")
    page.fill("#echo-text", "ping")
    page.press("#echo-text", "Enter")
    wait_for(page, "demo.received.length === 1")
    assert page.evaluate("demo.received") == [{"echo": {"text": "ping"}}]


def test_sample_site_chat_between_two_users(browse):
    demo = open_page(browse("demo"), "/chat/tea-room/")
    alice = open_page(browse("alice"), "/chat/tea-room/")

    say(alice, "hello demo")
    wait_for(demo, has_line("alice", "hello demo"))
    say(demo, "hi alice")
    wait_for(alice, has_line("demo", "hi alice"))
    assert "alice: hello demo" in demo.text_content("#lines")

    # Another room hears nothing; a page opened later gets the history.
    elsewhere = open_page(browse("alice"), "/chat/other-room/")
    late = open_page(browse("demo"), "/chat/tea-room/")
    # "connected" comes with the open; the history frame follows it.
    wait_for(late, "demo.lines.length === 2")
    assert late.evaluate("demo.lines.map(l => l.user + ': ' + l.text)") == [
        "alice: hello demo",
        "demo: hi alice",
    ]
    wait_for(elsewhere, "demo.histories === 1")
    assert elsewhere.evaluate("demo.lines") == []


def test_sample_site_refuses_anonymous_sockets(browse):
    context = browse()
    for path in ("/chat/lobby/", "/dashboard/"):
        page = context.new_page()
        page.goto(path)
        wait_for(page, "demo.refused === true")
        assert page.evaluate("demo.opened") == 0
        assert "refused" in page.text_content("#status")
        assert page.locator("text=You are not logged in").count() == 1


def test_sample_site_dashboard_streams(browse):
    demo = open_page(browse("demo"), "/dashboard/")
    wait_for(demo, "demo.statsAnswers > 0 && demo.online.includes('demo')")
    assert demo.evaluate("demo.stats.users") == len(DEMO_USERS)

    # alice connects: presence is pushed to demo's dashboard, stats follow it.
    alice_context = browse("alice")
    alice = open_page(alice_context, "/dashboard/")
    wait_for(demo, "demo.online.includes('alice') && demo.online.includes('demo')")
    wait_for(demo, "demo.stats.online === 2")
    assert demo.locator("#presence li").all_text_contents() == ["alice", "demo"]

    # The lobby chat stream reaches the other dashboard and the chat page.
    page = open_page(browse("demo"), "/chat/lobby/")
    say(alice, "via the dashboard")
    wait_for(demo, has_line("alice", "via the dashboard"))
    wait_for(page, has_line("alice", "via the dashboard"))
    say(page, "via the chat page")
    wait_for(alice, has_line("demo", "via the chat page"))

    # The bound model: alice's line arrives as data; demo may not delete it, alice
    # may, from her panel's button, and every dashboard hears of the delete.
    bound = (
        "demo.bound.some(b => b.action === 'create'"
        " && b.data.text === 'via the dashboard')"
    )
    wait_for(demo, bound)
    wait_for(alice, bound)
    pk = alice.evaluate(
        "demo.bound.find(b => b.data && b.data.text === 'via the dashboard').pk"
    )
    demo.evaluate(f"bridge.stream('messages').send({{action: 'delete', pk: {pk}}})")
    wait_for(
        demo, f"demo.bound.some(b => b.error === 'permission denied' && b.pk === {pk})"
    )
    alice.locator("#bound li", has_text="via the dashboard").locator("button").click()
    wait_for(demo, f"demo.bound.some(b => b.action === 'delete' && b.pk === {pk})")

    # stats answers through demo.stats with the asking user's own count.
    answers = demo.evaluate("demo.statsAnswers")
    demo.click("#stats-refresh")
    wait_for(demo, f"demo.statsAnswers > {answers}")
    assert demo.evaluate("demo.stats.yours") >= 1

    # alice leaves: presence drops her.
    alice.close()
    wait_for(demo, "!demo.online.includes('alice')")


def test_sample_site_pages_recover_after_a_server_restart(browse, site):
    context = browse("demo")
    chat = open_page(context, "/chat/restart-room/")
    dashboard = open_page(context, "/dashboard/")
    echo = open_page(context, "/echo/")
    wait_for(dashboard, "demo.statsAnswers > 0")
    say(chat, "before")
    wait_for(chat, has_line("demo", "before"))

    site.stop()
    for page in (chat, dashboard, echo):
        wait_for(page, "demo.status === 'disconnected, retrying'")
    site.manage("seed_demo")  # as `make demo` does: must not log anyone out
    site.start()

    for page in (chat, dashboard, echo):
        wait_for(page, "demo.status === 'reconnected'")
    # The chat page got the history again; sends work on the new socket.
    wait_for(chat, has_line("demo", "before"))
    say(chat, "after")
    wait_for(chat, has_line("demo", "after"))
    assert chat.evaluate("demo.lines.map(l => l.text)") == ["before", "after"]
    # The dashboard asked for stats again and is back in the presence list.
    wait_for(dashboard, "demo.statsAnswers > 1 && demo.online.includes('demo')")
    echo.fill("#echo-text", "again")
    echo.press("#echo-text", "Enter")
    wait_for(echo, "demo.received.length === 1")
