from django.apps import AppConfig


class ConsentsConfig(AppConfig):
    name = "consents"
    verbose_name = "Consents"

    def ready(self):
        from consents import signals  # noqa: F401  (drops cached purposes on change)
