"""Settings for the test suite (also served by the end-to-end server processes)."""

import json
import os
import sys
import tempfile
from pathlib import Path

# The sample site's app is installed too (tests/test_sample_site_consumers.py); whatever
# loads these settings (pytest, server subprocesses, mypy, Sphinx) can import it.
SAMPLE_SITE = str(Path(__file__).resolve().parent.parent / "sample_site")
if SAMPLE_SITE not in sys.path:
    sys.path.append(SAMPLE_SITE)

SECRET_KEY = "tests-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["localhost", "127.0.0.1", "testserver"]
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "channels",
    "generic_consumers",
    "generic_consumers.delay",
    "tests",
    "demo",
]
DATABASES: dict[str, dict] = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("GC_TEST_DB", ":memory:"),
    }
}
if os.environ.get("GC_TEST_DB"):
    # SQLite test databases live in memory unless named; a file lets a server process
    # (ChannelLiveServerTestCase) share the test's data.
    DATABASES["default"]["TEST"] = {"NAME": os.environ["GC_TEST_DB"] + ".test"}
else:
    # A file, not memory, all the same: in a shared-cache memory database a write
    # that meets another thread's fails at once ("database table is locked"), where
    # a file waits for the lock (Django's 5 s timeout), and sync consumers write from
    # threads of their own. One file per test process.
    DATABASES["default"]["TEST"] = {
        "NAME": os.path.join(tempfile.gettempdir(), f"gc-tests-{os.getpid()}.sqlite3")
    }
# Writers from several threads: a transaction takes the write lock when it begins
# (IMMEDIATE), so a get_or_create waits for another writer instead of failing at once
# with "database is locked" (a deferred one cannot upgrade its read lock); WAL lets
# readers go on meanwhile.
DATABASES["default"]["OPTIONS"] = {
    "transaction_mode": "IMMEDIATE",
    "init_command": "PRAGMA journal_mode=WAL; PRAGMA synchronous=OFF",
}
CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
ROOT_URLCONF = "tests.urls"
ASGI_APPLICATION = "tests.asgi.application"
CHANNEL_LAYERS: dict[str, dict] = {
    "default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}
}
if os.environ.get("GC_TEST_REDIS_URL"):
    CHANNEL_LAYERS = {
        "default": {
            # e.g. channels_redis.pubsub.RedisPubSubChannelLayer (test_named_channels)
            "BACKEND": os.environ.get(
                "GC_TEST_REDIS_BACKEND", "channels_redis.core.RedisChannelLayer"
            ),
            "CONFIG": {
                "hosts": [os.environ["GC_TEST_REDIS_URL"]],
                # e.g. '{"group_expiry": 3}' (tests/test_redis.py)
                **json.loads(os.environ.get("GC_TEST_REDIS_CONFIG", "{}")),
            },
        }
    }
GENERIC_CONSUMERS = {
    "ROUTING": os.environ.get("GC_TEST_ROUTING", "tests.routing.channel_routing"),
    # Server processes that leave named channels to dedicated workers.
    "IN_PROCESS_WORKERS": os.environ.get("GC_TEST_IN_PROCESS_WORKERS", "1") != "0",
    # The delay app is installed (its table exists), but only tests/test_delay.py
    # consumes asgi.delay: its database poller would query in tests without a DB.
    "DELAY_CHANNEL": False,
    # The servers the suite starts publish no counters (they would pile up in the
    # temporary directory); tests/test_counters.py turns them on where it reads them.
    "COUNTERS_INTERVAL": 0,
    # Any other key, e.g. '{"GROUP_REFRESH_INTERVAL": 1}' (tests/test_redis.py).
    **json.loads(os.environ.get("GC_TEST_GENERIC_CONSUMERS", "{}")),
}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"generic_consumers": {"handlers": ["console"], "level": "INFO"}},
}
