from django.apps import AppConfig


class CookiesConfig(AppConfig):
    name = "cookies"
    verbose_name = "Sites and cookies"

    def ready(self):
        from cookies import cors  # noqa: F401  (connects the per-site CORS check)
