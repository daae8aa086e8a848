from django.apps import AppConfig


class GenericConsumersConfig(AppConfig):
    name = "generic_consumers"
    verbose_name = "Generic consumers"

    def ready(self) -> None:
        from . import checks  # noqa: F401  registers the system checks
        from .binding.base import registry

        registry.register_all()
        # Prometheus metrics when prometheus_client is installed; a no-op otherwise.
        from .metrics import register

        register()
