"""Django settings for the benchmarks: in-memory channel layer, nothing else running.

The fan-out part switches ``CHANNEL_LAYERS`` to ``channels_redis`` (with
``override_settings``) for its Redis rows; ``BENCH_REDIS_URL`` makes Redis the default
for everything (server processes included).
"""

import os

SECRET_KEY = "bench-only-not-secret"
DEBUG = False
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
INSTALLED_APPS = ["channels", "generic_consumers"]
# A database is configured as in a real project (sync consumers of both libraries run
# Django's connection hygiene around every message); the echo never opens it.
DATABASES = {"default": {"ENGINE": "django.db.backends.sqlite3", "NAME": ":memory:"}}
CHANNEL_LAYERS: dict[str, dict] = {
    "default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}
}
if os.environ.get("BENCH_REDIS_URL"):
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            # No socket timeout: see bench/redisserver.py, redis_host().
            "CONFIG": {
                "hosts": [
                    {
                        "address": os.environ["BENCH_REDIS_URL"],
                        "socket_timeout": None,
                        "max_connections": 2000,
                    }
                ]
            },
        }
    }
# Each application is built with its own routing (see bench/apps.py). No bench app
# uses the delay channel, and the harness builds many applications per process without
# stopping their workers: a worker each on asgi.delay would only add Redis traffic.
GENERIC_CONSUMERS = {"ROUTING": None, "DELAY_CHANNEL": False}
DEFAULT_AUTO_FIELD = "django.db.models.AutoField"
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
}
