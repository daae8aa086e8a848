"""The notifications and sessions demos (sample_site/demo) over ASGI, no browser.

test_sample_site_features.py drives the same code through Chromium; these catch a
regression in seconds.
"""

import re

import pytest
from asgiref.sync import sync_to_async

from demo.notifications import notify
from demo.visits import PAGE_VIEWS
from tests.test_sample_site_consumers import (  # noqa: F401 (fixtures)
    app,
    connected,
    frames,
    log_in,
    site_pages,
    uses_db,
)


async def test_notify_reaches_every_notifications_socket(app):  # noqa: F811
    first = await connected(app, "/ws/notify/")
    second = await connected(app, "/ws/notify/")
    await sync_to_async(notify)("hello all", sender="a test")
    for socket in (first, second):
        (frame,) = await frames(socket, 1)
        assert frame["notice"]["text"] == "hello all"
        assert frame["notice"]["sender"] == "a test"
        await socket.disconnect()


@pytest.mark.django_db(transaction=True)
async def test_notification_view_posts_to_the_group(app, site_pages):  # noqa: F811
    socket = await connected(app, "/ws/notify/")
    response = await sync_to_async(site_pages.post)("/notify/post/", {"text": "hi"})
    assert response.status_code == 200
    (frame,) = await frames(socket, 1)
    assert frame["notice"]["sender"] == "a visitor"
    empty = await sync_to_async(site_pages.post)("/notify/post/", {"text": " "})
    assert empty.status_code == 400
    await socket.disconnect()


async def test_thumbnail_job_reports_then_answers(app):  # noqa: F811
    socket = await connected(app, "/ws/notify/")
    await socket.send_json_to({"thumbnail": "cat", "steps": 1})
    queued, rendering, done = await frames(socket, 3)
    assert [queued["state"], rendering["state"], done["state"]] == [
        "queued",
        "rendering",
        "done",
    ]
    assert queued["job"] == rendering["job"] == done["job"]
    assert ">cat</text>" in done["svg"]
    await socket.send_json_to({"nonsense": True})
    assert "error" in (await frames(socket, 1))[0]
    await socket.disconnect()


async def test_thumbnail_job_stops_when_cancelled(app):  # noqa: F811
    socket = await connected(app, "/ws/notify/")
    await socket.send_json_to({"thumbnail": "slow", "steps": 500})
    queued, rendering = await frames(socket, 2)
    await socket.send_json_to({"cancel": queued["job"]})
    while rendering["state"] == "rendering":
        (rendering,) = await frames(socket, 1)
    assert rendering["state"] == "cancelled"
    assert rendering["step"] < 500
    await socket.disconnect()


@uses_db
async def test_session_decorators_whoami_and_counter(app):  # noqa: F811
    anonymous = await connected(app, "/ws/session/whoami/")
    assert await frames(anonymous, 1) == [{"whoami": "anonymous", "page_views": 0}]
    await anonymous.disconnect()

    client = await log_in("carol")
    counter = await connected(app, "/ws/session/counter/", client)
    assert await frames(counter, 1) == [{"hello": "carol"}]
    for sent in (1, 2):
        await counter.send_json_to({})
        assert await frames(counter, 1) == [{"user": "carol", "frames": sent}]
    await counter.disconnect()
    # Another socket of the same user has its own channel session.
    again = await connected(app, "/ws/session/counter/", client)
    await frames(again, 1)
    await again.send_json_to({})
    assert await frames(again, 1) == [{"user": "carol", "frames": 1}]
    await again.disconnect()


@pytest.mark.django_db
def test_new_pages_render_and_are_linked_from_the_index(site_pages):  # noqa: F811
    index = site_pages.get("/").content.decode()
    for url in ("/notify/", "/session/", "/source/demo/thumbnails.py"):
        assert url in index
    assert site_pages.get("/notify/").status_code == 200
    assert site_pages.get("/session/").status_code == 200
    assert site_pages.get("/session/").status_code == 200
    assert site_pages.session[PAGE_VIEWS] == 2
    assert site_pages.get("/notify/post/").status_code == 405  # POST only


def test_tutorial_python_comes_from_files_the_tests_run():
    """The tutorial may not carry its own copy of code (it would drift)."""
    from tests.servers import ROOT

    text = (ROOT / "docs" / "tutorial.rst").read_text()
    assert ".. code-block:: python" not in text
    assert "::\n\n   def " not in text and "::\n\n   class " not in text
    included = re.findall(r"\.\. literalinclude:: \.\./(\S+)", text)
    assert included, "the tutorial includes nothing"
    for path in included:
        assert path.startswith(("sample_site/", "tests/test_sample_site")), path
        assert (ROOT / path).is_file(), path
