"""The sample site's newer demos (sample_site/demo) over ASGI, no browser: presence
expiry, the live clock, middleware routes, leaving a stream.

test_sample_site_live.py drives the same code through Chromium; these catch a
regression in seconds.
"""

from datetime import timedelta

from asgiref.sync import sync_to_async
from django.contrib.auth.models import User
from django.utils import timezone

from demo.models import Presence
from tests.test_sample_site_consumers import (  # noqa: F401 (fixtures)
    app,
    by_stream,
    connected,
    frames,
    log_in,
    uses_db,
)


@sync_to_async
def left_behind(username, age):
    """A row as a crashed server leaves it: no socket will ever delete it."""
    user = User.objects.create(username=username)
    return Presence.objects.create(
        reply_channel="specific.crashed!gone",
        user=user,
        seen=timezone.now() - age,
    )


@uses_db
async def test_dashboard_presence_drops_and_deletes_expired_rows(app):  # noqa: F811
    await left_behind("bob", timedelta(hours=1))
    alice = await log_in("alice")
    dashboard = await connected(app, "/ws/dashboard/", alice)
    assert by_stream(await frames(dashboard, 2))["presence"] == [{"online": ["alice"]}]
    assert await Presence.objects.filter(user__username="alice").aexists()
    assert not await Presence.objects.filter(user__username="bob").aexists()
    await dashboard.disconnect()
    assert await Presence.objects.acount() == 0
