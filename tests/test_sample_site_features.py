"""The sample site's notifications and sessions pages in headless Chromium.

Same site, fixtures and rules as test_sample_site.py (in-memory layer, in-process
workers, one Daphne process). The Redis + ``runworkers`` variant is in
test_sample_site_workers.py.
"""

import subprocess

import pytest

from tests.test_browser import chromium, wait_for  # noqa: F401 (fixture)
from tests.test_sample_site import browse, open_page, site  # noqa: F401 (fixtures)

pytestmark = pytest.mark.browser


def job_states(page):
    return page.evaluate("demo.states[demo.lastJob]")


def start_thumbnail(page, label, steps):
    page.fill("#thumbnail-label", label)
    page.fill("#thumbnail-steps", str(steps))
    page.click("#thumbnail-form button")


def test_sample_site_index_links_the_new_demos(browse):  # noqa: F811
    page = browse().new_page()
    page.goto("/")
    for path in ("/notify/", "/session/"):
        assert page.locator(f"main a[href='{path}']").count() == 1
    page.click("text=sample_site/demo/thumbnails.py")
    assert "class Thumbnailer(BaseConsumer)" in page.text_content("pre.source")


def test_sample_site_notice_posted_by_a_view_reaches_every_page(browse):  # noqa: F811
    visitor = open_page(browse(), "/notify/")
    demo = open_page(browse("demo"), "/notify/")
    demo.fill("#notify-text", "tea is ready")
    demo.press("#notify-text", "Enter")
    notice = "demo.notices.some(n => n.sender === 'demo' && n.text === 'tea is ready')"
    wait_for(demo, notice)
    wait_for(visitor, notice)
    assert demo.evaluate("demo.posted") == 200
    assert "demo: tea is ready" in visitor.text_content("#notices")


def test_sample_site_thumbnail_job_runs_in_the_server_process(browse, site):  # noqa: F811
    page = open_page(browse(), "/notify/")
    start_thumbnail(page, "<b>cat</b>", 2)
    wait_for(page, "demo.lastJob && demo.jobs[demo.lastJob].state === 'done'")
    assert job_states(page) == ["queued", "rendering", "rendering", "done"]
    done = page.evaluate("demo.jobs[demo.lastJob]")
    # In-process workers (the default): the server process itself ran the job.
    assert done["worker_pid"] == site.server.process.pid
    assert "&lt;b&gt;cat" in done["svg"]
    assert page.locator("#jobs img[alt='thumbnail']").count() == 1


def test_sample_site_thumbnail_progress_is_immediate_so_it_can_be_cancelled(
    browse,  # noqa: F811
):
    page = open_page(browse(), "/notify/")
    # 500 steps: far longer than any wait here, so only a cancel can end it in time.
    start_thumbnail(page, "slow", 500)
    # The job is still running: this frame left it with immediately=True.
    wait_for(page, "demo.lastJob && demo.jobs[demo.lastJob].state === 'rendering'")
    page.click(".job button.cancel")
    wait_for(page, "demo.jobs[demo.lastJob].state === 'cancelled'")
    states = job_states(page)
    assert states[0] == "queued" and states[-1] == "cancelled"
    assert "done" not in states
    assert page.evaluate("demo.jobs[demo.lastJob].step") < 500


def test_sample_site_session_decorators(browse):  # noqa: F811
    visitor = browse()
    first = open_page(visitor, "/session/", ready="demo.whoami !== null")
    assert first.evaluate("demo.whoami") == {"whoami": "anonymous", "page_views": 1}
    again = open_page(visitor, "/session/", ready="demo.whoami !== null")
    assert again.evaluate("demo.whoami") == {"whoami": "anonymous", "page_views": 2}

    page = open_page(browse("alice"), "/session/", ready="demo.whoami !== null")
    assert page.evaluate("demo.whoami") == {"whoami": "alice", "page_views": 1}
    wait_for(page, "demo.status === 'connected' && demo.counter.length === 1")
    page.click("#counter-form button")
    page.click("#counter-form button")
    wait_for(page, "demo.counter.length === 3")
    # The frames carry no cookie: the user and the count come from the channel session.
    assert page.evaluate("demo.counter") == [
        {"hello": "alice"},
        {"user": "alice", "frames": 1},
        {"user": "alice", "frames": 2},
    ]


def test_sample_site_notify_command_refuses_the_in_memory_layer(site):  # noqa: F811
    with pytest.raises(subprocess.CalledProcessError) as failed:
        site.manage("notify", "nobody hears this")
    assert "is in-memory" in failed.value.stderr
    assert "REDIS_URL" in failed.value.stderr
