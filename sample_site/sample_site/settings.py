"""The sample site: a runnable tour of generic_consumers (``make demo``)."""

import os
from pathlib import Path

BASE_DIR = Path(__file__).resolve().parent.parent
SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "sample-site-demo-only")
DEBUG = True
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]

INSTALLED_APPS = [
    "daphne",
    "django.contrib.admin",
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "django.contrib.staticfiles",
    "channels",
    "generic_consumers",
    "demo",
]
MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
]
ROOT_URLCONF = "sample_site.urls"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
            ]
        },
    }
]
DATABASES = {
    "default": {
        "ENGINE": "django.db.backends.sqlite3",
        "NAME": os.environ.get("SAMPLE_SITE_DB", BASE_DIR / "db.sqlite3"),
        # Consumers write from several threads: take the write lock when a
        # transaction begins, so a writer waits rather than failing with "database
        # is locked"; WAL lets readers go on meanwhile.
        "OPTIONS": {
            "transaction_mode": "IMMEDIATE",
            "init_command": "PRAGMA journal_mode=WAL",
        },
    }
}
# A cache every process shares (server and runworkers): thumbnail jobs read their
# cancel flag from it.
CACHES = {
    "default": {
        "BACKEND": "django.core.cache.backends.filebased.FileBasedCache",
        "LOCATION": os.environ.get("SAMPLE_SITE_CACHE", BASE_DIR / "cache"),
    }
}
STATIC_URL = "/static/"
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"
USE_TZ = True
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/"

ASGI_APPLICATION = "sample_site.asgi.application"
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
if os.environ.get("REDIS_URL"):
    CHANNEL_LAYERS = {
        "default": {
            "BACKEND": "channels_redis.core.RedisChannelLayer",
            "CONFIG": {"hosts": [os.environ["REDIS_URL"]]},
        }
    }
GENERIC_CONSUMERS = {
    "ROUTING": "demo.routing.channel_routing",
    # SAMPLE_SITE_WORKERS=separate: named channels are left to `manage.py runworkers`
    # (needs REDIS_URL); by default the server process consumes them itself.
    "IN_PROCESS_WORKERS": os.environ.get("SAMPLE_SITE_WORKERS") != "separate",
    # Frame middleware, for every socket of the 1.x routing unless its route says
    # otherwise (demo/routing.py): a client sending more than 20 frames a second
    # (bursts of 40) is closed with 1008, one sending a frame over 16 KiB with 1009
    # (4008 and 4009 on Daphne).
    "MIDDLEWARE": [
        ("generic_consumers.middleware.RateLimitMiddleware", {"rate": 20, "burst": 40}),
        ("generic_consumers.middleware.MessageSizeMiddleware", {"max_bytes": 16384}),
    ],
    # Where every process writes its counters (manage.py socket_counters reads them);
    # by default a directory of this user and settings module under /tmp.
    "COUNTERS_DIR": os.environ.get("SAMPLE_SITE_COUNTERS_DIR") or None,
}
# Seconds between two keepalive pings of the live clock's socket (demo/clock.py).
CLOCK_KEEPALIVE = float(os.environ.get("SAMPLE_SITE_KEEPALIVE", "20"))
# Seconds between two refreshes of an open dashboard's presence row; rows three
# refreshes late are a crashed server's and stop counting (demo/models.py).
PRESENCE_REFRESH = float(os.environ.get("SAMPLE_SITE_PRESENCE_REFRESH", "15"))
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"generic_consumers": {"handlers": ["console"], "level": "INFO"}},
}
