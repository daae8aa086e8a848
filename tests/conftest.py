import asyncio
import logging

import pytest
from channels.layers import channel_layers as channels4_layers
from django.db import connections

from generic_consumers._envelope import local_sockets
from generic_consumers._threads import sync_threads

# Channels 1.x projects for tests/test_migrate.py: data, not tests (their tests.py
# import 1.x names).
collect_ignore = ["fixtures"]


@pytest.fixture(autouse=True)
def fresh_layers():
    """Each test gets new layer instances (in-memory queues are bound to one loop)."""
    channels4_layers.backends.clear()
    yield
    channels4_layers.backends.clear()
    local_sockets.clear()


def _forget_thread_connections():
    for alias in connections:
        try:
            del connections[alias]
        except AttributeError:  # never opened in this thread
            pass


@pytest.fixture(autouse=True)
def fresh_thread_connections(request):
    """After a database test, sync-consumer threads drop their DB connections.

    An in-memory SQLite connection is never closed, and Django's per-message
    close_old_connections() on a connection left open by a database test trips
    pytest-django's blocker in the next test that runs sync consumers without the DB.
    """
    yield
    uses_db = {"db", "transactional_db"} & set(request.fixturenames)
    if uses_db or request.node.get_closest_marker("django_db"):
        for thread in sync_threads._threads:
            asyncio.run(sync_threads.run(thread, _forget_thread_connections))


@pytest.fixture
def gc_log(caplog):
    caplog.set_level(logging.INFO, logger="generic_consumers")
    return caplog


async def settle(delay: float = 0.05) -> None:
    """Let in-flight tasks (workers, listeners) run."""
    await asyncio.sleep(delay)


SESSION_ENGINES = {
    "db": "django.contrib.sessions.backends.db",
    "cache": "django.contrib.sessions.backends.cache",
}


@pytest.fixture(params=sorted(SESSION_ENGINES))
def session_engine(request, settings):
    """The session contract: a test taking this fixture runs once per engine."""
    settings.SESSION_ENGINE = SESSION_ENGINES[request.param]
    return settings.SESSION_ENGINE
