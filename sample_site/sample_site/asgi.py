import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "sample_site.settings")

from generic_consumers.asgi import get_application  # noqa: E402

application = get_application()
