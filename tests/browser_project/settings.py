"""Browser-test project settings: static files, in-memory layer, no database."""

import mimetypes

# Browsers refuse module scripts served with a non-JavaScript type; older Pythons do
# not map .mjs everywhere.
mimetypes.add_type("text/javascript", ".mjs")

SECRET_KEY = "browser-tests-only-not-secret"
DEBUG = True  # staticfiles_urlpatterns() serves the bridge only with DEBUG on
ALLOWED_HOSTS = ["127.0.0.1", "localhost"]
USE_TZ = True
INSTALLED_APPS = [
    "django.contrib.staticfiles",
    "channels",
    "generic_consumers",
]
MIDDLEWARE: list = []
DATABASES: dict = {}
ROOT_URLCONF = "tests.browser_project.urls"
STATIC_URL = "/static/"
ASGI_APPLICATION = "tests.browser_project.asgi.application"
CHANNEL_LAYERS = {"default": {"BACKEND": "channels.layers.InMemoryChannelLayer"}}
GENERIC_CONSUMERS = {"ROUTING": "tests.browser_project.routing.channel_routing"}
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "handlers": {"console": {"class": "logging.StreamHandler"}},
    "loggers": {"generic_consumers": {"handlers": ["console"], "level": "INFO"}},
}
