"""Sync-consumer threads' database connections are closed, not dropped (issue #18).

Python 3.13 warns (ResourceWarning, an error here) when a sqlite3 connection is
garbage-collected unclosed; these tests see the leak on every Python by holding the
DB-API connection and checking it was closed.
"""

import asyncio
import sqlite3

import pytest
from django.contrib.sessions.models import Session
from django.db import connections
from django.utils import timezone

from generic_consumers.runtime.threads import sync_threads

from .thread_connections import close_thread_connections


def _query_in_thread():
    """A consumer's database work; returns its thread's DB-API connection."""
    Session.objects.count()
    return connections["default"].connection


def _run_in(thread, func):
    return asyncio.run(sync_threads.run(thread, func))


@pytest.fixture
def persistent_connections():
    # A thread keeps its connection after a job only with persistent connections
    # (or an in-memory database, whose close() does nothing): the case to close.
    settings_dict = connections["default"].settings_dict
    before = settings_dict["CONN_MAX_AGE"]
    settings_dict["CONN_MAX_AGE"] = None
    yield
    settings_dict["CONN_MAX_AGE"] = before


@pytest.mark.django_db(transaction=True)
def test_closing_thread_connections_closes_the_dbapi_connection(
    persistent_connections,
):
    thread = sync_threads.pick()
    raw = _run_in(thread, _query_in_thread)
    raw.execute("select 1")  # open: the thread kept it from its job

    close_thread_connections()

    with pytest.raises(sqlite3.ProgrammingError, match="closed"):
        raw.execute("select 1")
    assert _run_in(thread, lambda: connections["default"].connection) is None


@pytest.mark.django_db(transaction=True)
def test_the_test_database_outlives_the_closed_thread_connections():
    # The in-memory test database lives as long as one connection to it is open.
    Session.objects.create(
        session_key="k" * 32, session_data="", expire_date=timezone.now()
    )
    thread = sync_threads.pick()
    _run_in(thread, _query_in_thread)

    close_thread_connections()

    assert _run_in(thread, Session.objects.count) == 1  # reconnected, same data
    assert Session.objects.count() == 1
