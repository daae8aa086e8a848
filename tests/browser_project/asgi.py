import os

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "tests.browser_project.settings")

from generic_consumers.asgi import get_application  # noqa: E402

application = get_application()
