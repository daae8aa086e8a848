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


async def test_clock_ticks_restarts_under_the_same_id_and_stops(app):  # noqa: F811
    clock = await connected(app, "/ws/clock/")
    received = await frames(clock, 2)  # the ack, and the first tick (job runs first)
    started = next(f for f in received if "started" in f)
    tick = next(f for f in received if "tick" in f)
    assert (started["interval"], tick["run"], tick["tick"]) == (
        1.0,
        started["started"],
        1,
    )

    await clock.send_json_to({"interval": 0.1})
    replaced = None
    ticks = []
    while len(ticks) < 3:
        (frame,) = await frames(clock, 1)
        if "started" in frame:
            replaced = frame["started"]
        elif replaced is not None:
            ticks.append(frame)
    assert {t["run"] for t in ticks} == {replaced} != {started["started"]}

    await clock.send_json_to({"interval": True})
    await clock.send_json_to({"stop": True})
    answers = []
    while {"stopped": True} not in answers:
        (frame,) = await frames(clock, 1)
        answers.append({k: v for k, v in frame.items() if k in ("error", "stopped")})
    assert {"error": 'send {"interval": seconds} (0.1 to 60) or {"stop": true}'} in (
        answers
    )
    # Stopped: five ticks' time passes without one (no pings here: 20 s apart).
    assert await clock.receive_nothing(timeout=0.5)
    await clock.disconnect()


@uses_db
async def test_dashboard_lobby_stream_closes_alone_and_rejoins(app):  # noqa: F811
    alice = await log_in("alice")
    dashboard = await connected(app, "/ws/dashboard/", alice)
    await frames(dashboard, 2)
    await dashboard.send_json_to({"stream": "chat", "payload": {"leave": True}})
    assert await frames(dashboard, 1) == [{"stream": "chat", "close": True}]
    await dashboard.send_json_to({"stream": "stats", "payload": {"id": 1}})
    (stats,) = await frames(dashboard, 1)
    assert stats["stream"] == "stats"  # the socket and the other streams go on
    await dashboard.send_json_to({"stream": "chat", "payload": {"join": True}})
    assert await frames(dashboard, 1) == [
        {"stream": "chat", "payload": {"room": "lobby", "history": []}}
    ]
    await dashboard.disconnect()
