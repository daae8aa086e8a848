import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sample_site.settings")

import django  # noqa: E402

django.setup(set_prefix=False)  # before importing consumers, which import models

from django.urls import path  # noqa: E402

from demo.native import NativeNotifications  # noqa: E402
from generic_consumers.asgi import get_application  # noqa: E402

# Sockets go to the 1.x routing (GENERIC_CONSUMERS["ROUTING"]), except those on the
# native Channels 4 routes listed here, which are tried first.
application = get_application(
    native_before=[path("ws/native/notify/", NativeNotifications.as_asgi())],
)
