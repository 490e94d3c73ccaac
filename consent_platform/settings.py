"""Settings for Kaizenify Consent, read from environment variables.

Local use needs none of them: DEBUG is on and SQLite is used. Production sets at least
DEBUG=0, SECRET_KEY, ALLOWED_HOSTS, PUBLIC_BASE_URL and DATABASE_URL (see README.md,
"Configuration").
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

from consent_platform.env import env_bool, env_int, env_list

BASE_DIR = Path(__file__).resolve().parent.parent

DEBUG = env_bool("DEBUG", True)

SECRET_KEY = os.environ.get("SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured("SECRET_KEY must be set when DEBUG is off.")
    SECRET_KEY = "django-insecure-local-development-only"  # noqa: S105

ALLOWED_HOSTS = env_list("ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]" if DEBUG else "")
CSRF_TRUSTED_ORIGINS = env_list("CSRF_TRUSTED_ORIGINS")
# Base URL used in links we send out (unsubscribe, preference center, embed snippet).
PUBLIC_BASE_URL = os.environ.get("PUBLIC_BASE_URL", "").strip().rstrip("/")
if not PUBLIC_BASE_URL:
    if not DEBUG:
        # The local default would put http://127.0.0.1 in every List-Unsubscribe header sent:
        # no recipient and no mailbox provider could reach it, so no one could unsubscribe.
        raise ImproperlyConfigured(
            "PUBLIC_BASE_URL must be set when DEBUG is off (the https:// address people "
            "reach this server at; unsubscribe and preference links are built on it)."
        )
    PUBLIC_BASE_URL = "http://127.0.0.1:8000"
_base = urlsplit(PUBLIC_BASE_URL)
if _base.scheme not in ("http", "https") or not _base.hostname or _base.query or _base.fragment:
    raise ImproperlyConfigured(
        "PUBLIC_BASE_URL must be an absolute http(s) URL such as https://consent.example.com, "
        f"got {PUBLIC_BASE_URL!r}"
    )

# Mail: double opt-in confirmation links. Printed to the console in debug, sent by SMTP in
# production (Django's own settings, read from the environment).
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND") or (
    "django.core.mail.backends.console.EmailBackend"
    if DEBUG
    else "django.core.mail.backends.smtp.EmailBackend"
)
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = env_int("EMAIL_PORT", 25, minimum=1)
EMAIL_HOST_USER = os.environ.get("EMAIL_HOST_USER", "")
EMAIL_HOST_PASSWORD = os.environ.get("EMAIL_HOST_PASSWORD", "")
EMAIL_USE_TLS = env_bool("EMAIL_USE_TLS", False)
EMAIL_USE_SSL = env_bool("EMAIL_USE_SSL", False)
if EMAIL_USE_TLS and EMAIL_USE_SSL:
    raise ImproperlyConfigured("Set EMAIL_USE_TLS or EMAIL_USE_SSL, not both.")
EMAIL_TIMEOUT = env_int("EMAIL_TIMEOUT", 10, minimum=1)
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "webmaster@localhost")

# Admin messages live in the server-side session, not in a cookie: one of them carries a new
# API key's secret, shown once, which must not sit in the browser's cookie jar.
MESSAGE_STORAGE = "django.contrib.messages.storage.session.SessionStorage"

INSTALLED_APPS = [
    "consent_platform.apps.KaizenAdminConfig",  # django.contrib.admin, sign-ins limited
    "django.contrib.auth",
    "django.contrib.contenttypes",
    "django.contrib.sessions",
    "django.contrib.messages",
    "whitenoise.runserver_nostatic",
    "django.contrib.staticfiles",
    "corsheaders",
    "rest_framework",
    "drf_spectacular",
    "drf_spectacular_sidecar",
    "consents",
    "cookies",
]

MIDDLEWARE = [
    "consent_platform.middleware.RequestIdMiddleware",
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "corsheaders.middleware.CorsMiddleware",
    "consent_platform.middleware.DatabaseUnavailableMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "django.contrib.auth.middleware.AuthenticationMiddleware",
    "django.contrib.messages.middleware.MessageMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
    "consent_platform.middleware.ContentSecurityPolicyMiddleware",
]

ROOT_URLCONF = "consent_platform.urls"
if env_bool("KAIZEN_BENCH_VIEWS", False):
    # `make bench` only: adds /bench/bare and /bench/pk, the baselines it measures against.
    ROOT_URLCONF = "bench.urls"
WSGI_APPLICATION = "consent_platform.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.contrib.auth.context_processors.auth",
                "django.contrib.messages.context_processors.messages",
                "consent_platform.middleware.csp_nonce",
            ],
        },
    },
]

DATABASES = {
    "default": dj_database_url.parse(
        os.environ.get("DATABASE_URL") or f"sqlite:///{BASE_DIR / 'db.sqlite3'}",
        conn_max_age=env_int("DB_CONN_MAX_AGE", 60),
        # Off by default: the check is a `SELECT 1` round trip before every request's first
        # query (a quarter of a primary-key view's time). A connection that broke (database
        # restarted) fails one request with a 503 and is closed at the end of it.
        conn_health_checks=env_bool("DB_CONN_HEALTH_CHECKS", False),
    )
}
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    # SQLite waits for a writer instead of failing at once with "database is locked".
    DATABASES["default"].setdefault("OPTIONS", {})["timeout"] = 20
DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

REDIS_URL = os.environ.get("REDIS_URL", "")
if REDIS_URL:
    CACHES = {
        "default": {"BACKEND": "django.core.cache.backends.redis.RedisCache", "LOCATION": REDIS_URL}
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
]

LANGUAGE_CODE = "en"
# The languages the preference pages ship in (locale/), those of the banner's words
# (cookies/texts.py). A page in another language falls back to English.
LANGUAGES = [
    ("en", "English"),
    ("de", "Deutsch"),
    ("fr", "Français"),
    ("es", "Español"),
    ("ar", "العربية"),
]
LOCALE_PATHS = [BASE_DIR / "locale"]
TIME_ZONE = "UTC"
USE_I18N = True
USE_TZ = True

STATIC_URL = "/static/"
STATIC_ROOT = Path(os.environ.get("STATIC_ROOT") or BASE_DIR / "staticfiles")
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"
        if DEBUG
        else "whitenoise.storage.CompressedManifestStaticFilesStorage"
    },
}
WHITENOISE_MAX_AGE = 3600  # the banner URL is stable, so an hour, not a year

REST_FRAMEWORK = {
    "DEFAULT_AUTHENTICATION_CLASSES": [
        "consents.api.authentication.ApiKeyAuthentication",
        "rest_framework.authentication.SessionAuthentication",
    ],
    "DEFAULT_PERMISSION_CLASSES": ["consents.api.permissions.HasScope"],
    "DEFAULT_RENDERER_CLASSES": ["rest_framework.renderers.JSONRenderer"],
    "DEFAULT_PARSER_CLASSES": ["consents.api.parsers.JSONParser"],
    "DEFAULT_SCHEMA_CLASS": "drf_spectacular.openapi.AutoSchema",
    "EXCEPTION_HANDLER": "consents.api.errors.api_exception_handler",
    "UNAUTHENTICATED_USER": None,
    # `format` is our own query parameter (exports), not DRF's renderer override.
    "URL_FORMAT_OVERRIDE": None,
}
if DEBUG:
    REST_FRAMEWORK["DEFAULT_RENDERER_CLASSES"].append(
        "rest_framework.renderers.BrowsableAPIRenderer"
    )

SPECTACULAR_SETTINGS = {
    "TITLE": "Kaizenify Consent API",
    "DESCRIPTION": (
        "Record, check and export consent. Authenticate with `Authorization: Bearer <key>`."
    ),
    "VERSION": "1.0.0",
    "SERVE_INCLUDE_SCHEMA": False,
    "COMPONENT_SPLIT_REQUEST": True,
    # Swagger UI from our own static files: no CDN, works offline and under our CSP.
    "SWAGGER_UI_DIST": "SIDECAR",
    "SWAGGER_UI_FAVICON_HREF": "SIDECAR",
    "REDOC_DIST": "SIDECAR",
    "POSTPROCESSING_HOOKS": [
        "drf_spectacular.hooks.postprocess_schema_enums",
        "consents.api.schema.add_error_responses",
    ],
}

# CORS is decided per site (cookies.cors): only /api/v1/sites/ is open to browsers.
CORS_URLS_REGEX = r"^/api/v1/sites/.*$"
CORS_ALLOW_HEADERS = ["content-type", "sec-gpc", "idempotency-key"]
CORS_EXPOSE_HEADERS = ["etag"]

# Largest request body we read, in bytes. Bulk checks of 10,000 addresses fit well inside.
DATA_UPLOAD_MAX_MEMORY_SIZE = env_int("DATA_UPLOAD_MAX_MEMORY_SIZE", 2_621_440, minimum=1)
# Visitor (banner) endpoints accept far less.
KAIZEN_VISITOR_MAX_BODY_BYTES = env_int("VISITOR_MAX_BODY_BYTES", 16_384, minimum=1)
KAIZEN_RATE_LIMITS = {
    # name: (requests, window seconds)
    "visitor_ip": (env_int("RATE_LIMIT_VISITOR_PER_IP", 120, minimum=1), 60),
    "visitor_site": (env_int("RATE_LIMIT_VISITOR_PER_SITE", 20_000, minimum=1), 60),
    "public_ip": (env_int("RATE_LIMIT_PUBLIC_PER_IP", 60, minimum=1), 60),
    "auth_failure_ip": (env_int("RATE_LIMIT_AUTH_FAILURES_PER_IP", 20, minimum=1), 300),
}
# Seconds an API key look-up is cached (revocation takes effect within this time).
KAIZEN_API_KEY_CACHE_SECONDS = env_int("API_KEY_CACHE_SECONDS", 30)
# How long a process keeps its own copy of an entry of a shared (Redis) cache: API keys and
# purposes read on every request (consent_platform.memo).
KAIZEN_MEMO_SECONDS = env_int("MEMO_SECONDS", 2)
# Hot reads run as prepared statements on PostgreSQL (consents.prepared); 0 for a
# transaction-pooling PgBouncer older than 1.21.
KAIZEN_PREPARED_STATEMENTS = env_bool("PREPARED_STATEMENTS", True)
# Seconds a process adds up check counts before writing them (consents.tallies); 0 writes at
# once, as local development does.
KAIZEN_CHECK_TALLY_FLUSH_SECONDS = env_int("CHECK_TALLY_FLUSH_SECONDS", 0 if DEBUG else 5)
KAIZEN_TRUSTED_PROXY_COUNT = env_int("TRUSTED_PROXY_COUNT", 0)
# Webhook receivers on loopback or private networks: allowed for local development only.
KAIZEN_WEBHOOK_ALLOW_PRIVATE_ADDRESSES = env_bool("WEBHOOK_ALLOW_PRIVATE_ADDRESSES", DEBUG)

SESSION_COOKIE_HTTPONLY = True
CSRF_COOKIE_HTTPONLY = True
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "strict-origin-when-cross-origin"
X_FRAME_OPTIONS = "DENY"
if not DEBUG:
    SESSION_COOKIE_SECURE = env_bool("SESSION_COOKIE_SECURE", True)
    CSRF_COOKIE_SECURE = env_bool("CSRF_COOKIE_SECURE", True)
    SECURE_SSL_REDIRECT = env_bool("SECURE_SSL_REDIRECT", True)
    SECURE_HSTS_SECONDS = env_int("SECURE_HSTS_SECONDS", 31_536_000)
    SECURE_HSTS_INCLUDE_SUBDOMAINS = env_bool("SECURE_HSTS_INCLUDE_SUBDOMAINS", True)
    SECURE_HSTS_PRELOAD = env_bool("SECURE_HSTS_PRELOAD", True)
    SECURE_REDIRECT_EXEMPT = [r"^healthz$", r"^readyz$"]
    if env_bool("BEHIND_TLS_PROXY", True):
        SECURE_PROXY_SSL_HEADER = ("HTTP_X_FORWARDED_PROTO", "https")

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "filters": {"request_id": {"()": "consent_platform.logging.RequestIdFilter"}},
    "formatters": {
        "json": {"()": "consent_platform.logging.JsonFormatter"},
        "plain": {"format": "%(levelname)s %(name)s [%(request_id)s] %(message)s"},
    },
    "handlers": {
        "console": {
            "class": "logging.StreamHandler",
            "filters": ["request_id"],
            "formatter": os.environ.get("LOG_FORMAT", "plain" if DEBUG else "json"),
        }
    },
    "root": {"handlers": ["console"], "level": os.environ.get("LOG_LEVEL", "INFO")},
    "loggers": {"django.server": {"level": "WARNING"}},
}
