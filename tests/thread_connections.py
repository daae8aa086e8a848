"""Database connections that sync-consumer threads keep between jobs, in tests."""

import asyncio

from django.db import connections
from django.db.backends.base.base import BaseDatabaseWrapper

from generic_consumers.runtime.threads import sync_threads


def _close_this_threads_connections() -> None:
    for connection in connections.all(initialized_only=True):
        if connection.connection is None:
            continue
        in_memory = getattr(connection, "is_in_memory_db", None)
        if in_memory is not None and in_memory():
            # Django's SQLite backend ignores close() on an in-memory database, lest
            # its data go with the last connection. The test database is a
            # shared-cache one that the test thread's own connection keeps alive, so
            # this thread's connection can go; dropping it unclosed instead leaks it
            # (a ResourceWarning on Python 3.13+).
            BaseDatabaseWrapper.close(connection)
        else:
            connection.close()


def close_thread_connections() -> None:
    """Close the connections every sync-consumer thread kept from its last job.

    Run after each database test: a connection left open there would be checked by
    the thread's close_old_connections() in the next test, which pytest-django's
    database blocker refuses when that test does not use the database.
    """
    for thread in sync_threads._threads:
        asyncio.run(sync_threads.run(thread, _close_this_threads_connections))
