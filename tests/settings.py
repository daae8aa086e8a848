"""Settings for the test suite (also served by the end-to-end server processes)."""

import os
import sys
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
    "tests",
    "demo",
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("GC_TEST_DB", ":memory:"),
    }
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
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [os.environ["GC_TEST_REDIS_URL"]]},
        }
    }
GENERIC_CONSUMERS = {"ROUTING": "tests.routing.channel_routing"}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"generic_consumers": {"handlers": ["console"], "level": "INFO"}},
}
