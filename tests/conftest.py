import asyncio
import logging

import pytest
from channels.layers import channel_layers as channels4_layers

from generic_consumers.runtime.registry import sockets as local_sockets

from .thread_connections import close_thread_connections

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


@pytest.fixture(autouse=True)
def fresh_thread_connections(request):
    """After a database test, sync-consumer threads close their DB connections."""
    yield
    uses_db = {"db", "transactional_db"} & set(request.fixturenames)
    if uses_db or request.node.get_closest_marker("django_db"):
        close_thread_connections()


@pytest.fixture
def gc_log(caplog):
    caplog.set_level(logging.INFO, logger="generic_consumers")
    return caplog


def members(group: str) -> list[str]:
    """The channels in ``group`` on the default layer (sockets included)."""
    from generic_consumers import channel_layers

    return channel_layers["default"].group_channels(group)


async def settle(delay: float = 0.05) -> None:
    """Let in-flight tasks (workers, listeners) run."""
    await asyncio.sleep(delay)


async def eventually(predicate, timeout: float = 10.0) -> None:
    """Wait until ``predicate()`` is true; fail after ``timeout`` seconds (a bound,
    not a timing assertion: a busy machine only makes it wait longer)."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not predicate():
        if loop.time() > deadline:
            raise AssertionError(f"still false after {timeout} s: {predicate}")
        await asyncio.sleep(0.01)


SESSION_ENGINES = {
    "db": "django.contrib.sessions.backends.db",
    "cache": "django.contrib.sessions.backends.cache",
}


@pytest.fixture(params=sorted(SESSION_ENGINES))
def session_engine(request, settings):
    """The session contract: a test taking this fixture runs once per engine."""
    settings.SESSION_ENGINE = SESSION_ENGINES[request.param]
    return settings.SESSION_ENGINE
