"""Settings for part (e)'s worker processes: the bench settings on Redis, with a
routing (and a Channels 4 application) that answer named-channel messages."""

import os

from .settings import *  # noqa: F403

CHANNEL_LAYERS = {
    "default": {
        "BACKEND": "channels_redis.core.RedisChannelLayer",
        "CONFIG": {
            # No socket timeout: see bench/redisserver.py, redis_host(). Room for a
            # whole burst on each channel: capacity is not what is measured.
            "hosts": [
                {
                    "address": os.environ.get("BENCH_REDIS_URL", "redis://127.0.0.1"),
                    "socket_timeout": None,
                    "max_connections": 2000,
                }
            ],
            "capacity": 100_000,
        },
    }
}
GENERIC_CONSUMERS = {"ROUTING": "bench.named_app.routing", "DELAY_CHANNEL": False}
ASGI_APPLICATION = "bench.named_app.application"
# Channels' runworker says it is ready only through this logger.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "root": {"handlers": ["console"], "level": "WARNING"},
    "loggers": {"django.channels.worker": {"level": "INFO"}},
}
