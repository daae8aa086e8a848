import asyncio
import logging

import pytest
from channels.layers import channel_layers as channels4_layers

from generic_consumers._envelope import local_sockets


@pytest.fixture(autouse=True)
def fresh_layers():
    """Each test gets new layer instances (in-memory queues are bound to one loop)."""
    channels4_layers.backends.clear()
    yield
    channels4_layers.backends.clear()
    local_sockets.clear()


@pytest.fixture
def gc_log(caplog):
    caplog.set_level(logging.INFO, logger="generic_consumers")
    return caplog


async def settle(delay: float = 0.05) -> None:
    """Let in-flight tasks (workers, listeners) run."""
    await asyncio.sleep(delay)
