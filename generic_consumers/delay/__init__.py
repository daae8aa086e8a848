"""The 1.x delay channel.

``Channel("asgi.delay").send({"channel": name, "delay": ms, "content": {...}})`` sends
the ``content`` dict to ``name`` after at least ``ms`` milliseconds.
Whoever consumes named channels consumes ``asgi.delay`` too (the in-process workers of
each server, or ``manage.py runworkers``); no ``rundelay`` process is needed.

Without this app in ``INSTALLED_APPS`` pending messages wait in memory and are lost on
restart. With ``"generic_consumers.delay"`` installed (and migrated) they wait in the
database: they survive a restart and are sent once, by one worker, however many run.
"""

DELAY_CHANNEL = "asgi.delay"

__all__ = ["DELAY_CHANNEL"]
