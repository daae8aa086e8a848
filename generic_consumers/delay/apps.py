from django.apps import AppConfig


class DelayConfig(AppConfig):
    name = "generic_consumers.delay"
    label = "generic_consumers_delay"
    verbose_name = "generic_consumers delay channel"
    default_auto_field = "django.db.models.BigAutoField"
