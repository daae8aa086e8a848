from django.apps import AppConfig


class DemoConfig(AppConfig):
    name = "demo"
    verbose_name = "generic_consumers demo"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from . import bindings  # noqa: F401  registers LobbyMessageBinding
