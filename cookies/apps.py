from django.apps import AppConfig


class CookiesConfig(AppConfig):
    name = "cookies"
    verbose_name = "Sites and cookies"

    def ready(self):
        from cookies import cors, signals  # noqa: F401  (connect the CORS check, cache drops)
