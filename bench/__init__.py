"""Benchmarks: generic_consumers vs native Channels 4 consumers vs a raw ASGI echo.

One entry point, ``python -m bench`` (``make bench``), measures every application side
by side in one run and reports each figure as a ratio to the raw ASGI floor and to the
matching Channels 4 consumer. See ``docs/topics/performance.rst``.
"""
