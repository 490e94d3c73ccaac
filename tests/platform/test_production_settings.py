"""Production settings: refuse to start without a secret, pass check --deploy, send the headers."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
PRODUCTION_ENV = {
    "DEBUG": "0",
    "SECRET_KEY": "x" * 60 + "-production-like-secret-for-tests",
    "ALLOWED_HOSTS": "consent.example.com,testserver",
    "PUBLIC_BASE_URL": "https://consent.example.com",
    "DATABASE_URL": "sqlite:///:memory:",
}

PROBE = """
import json, django
django.setup()
from django.core.management import call_command
call_command("migrate", verbosity=0)
call_command("collectstatic", verbosity=0, interactive=False)
from django.test import Client
client = Client(HTTP_HOST="consent.example.com")
out = {}
for path in ("/healthz", "/.well-known/gpc.json", "/admin/login/"):
    response = client.get(path, secure=True)
    out[path] = {"status": response.status_code, "headers": dict(response.headers),
                 "cookies": {k: dict(v) for k, v in response.cookies.items()}}
out["plain_http"] = client.get("/admin/login/").status_code
out["plain_health"] = client.get("/healthz").status_code
print(json.dumps(out))
"""


def run_with(env: dict, *args: str) -> subprocess.CompletedProcess:
    inherited = (
        "DEBUG",
        "SECRET_KEY",
        "DATABASE_URL",
        "PUBLIC_BASE_URL",
        "DJANGO_ALLOW_ASYNC_UNSAFE",
    )
    clean = {k: v for k, v in os.environ.items() if k not in inherited}
    return subprocess.run(
        [sys.executable, *args],
        cwd=ROOT,
        env={**clean, "DJANGO_SETTINGS_MODULE": "consent_platform.settings", **env},
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_refuses_to_start_without_secret_key_when_debug_is_off():
    result = run_with({"DEBUG": "0", "ALLOWED_HOSTS": "x"}, "manage.py", "check")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_refuses_to_start_without_public_base_url_when_debug_is_off():
    """Unsubscribe links would point at the local default, which no recipient can reach."""
    env = {k: v for k, v in PRODUCTION_ENV.items() if k != "PUBLIC_BASE_URL"}
    result = run_with(env, "manage.py", "check")
    assert result.returncode != 0
    assert "PUBLIC_BASE_URL must be set" in result.stderr


@pytest.mark.parametrize(
    ("name", "value", "message"),
    [
        ("TRUSTED_PROXY_COUNT", "-1", "TRUSTED_PROXY_COUNT must be at least 0, got -1"),
        ("VISITOR_MAX_BODY_BYTES", "0", "VISITOR_MAX_BODY_BYTES must be at least 1, got 0"),
        ("RATE_LIMIT_PUBLIC_PER_IP", "ten", "RATE_LIMIT_PUBLIC_PER_IP must be an integer"),
        ("EMAIL_PORT", "0", "EMAIL_PORT must be at least 1, got 0"),
    ],
)
def test_refuses_to_start_with_an_integer_setting_out_of_range(name, value, message):
    result = run_with({**PRODUCTION_ENV, name: value}, "manage.py", "check")
    assert result.returncode != 0
    assert message in result.stderr


def test_refuses_to_start_with_a_public_base_url_that_is_not_an_absolute_url():
    for value in ("consent.example.com", "ftp://consent.example.com", "https://", "https://x/?a=1"):
        result = run_with({**PRODUCTION_ENV, "PUBLIC_BASE_URL": value}, "manage.py", "check")
        assert result.returncode != 0, value
        assert "PUBLIC_BASE_URL must be an absolute http(s) URL" in result.stderr
    result = run_with(
        {**PRODUCTION_ENV, "PUBLIC_BASE_URL": "https://consent.example.com/"}, "manage.py", "check"
    )
    assert result.returncode == 0, result.stderr


def test_check_deploy_is_clean():
    result = run_with(PRODUCTION_ENV, "manage.py", "check", "--deploy", "--fail-level", "WARNING")
    assert result.returncode == 0, result.stderr + result.stdout
    assert "no issues" in result.stdout


def test_security_headers_and_cookies_in_production(tmp_path):
    result = run_with({**PRODUCTION_ENV, "STATIC_ROOT": str(tmp_path)}, "-c", PROBE)
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    health = out["/healthz"]["headers"]
    assert health["Strict-Transport-Security"].startswith("max-age=31536000")
    assert health["X-Content-Type-Options"] == "nosniff"
    assert health["Referrer-Policy"] == "strict-origin-when-cross-origin"
    admin = out["/admin/login/"]
    csp = admin["headers"]["Content-Security-Policy"]
    assert (
        "default-src 'self'" in csp and "'unsafe-inline'" not in csp and "object-src 'none'" in csp
    )
    assert admin["headers"]["X-Frame-Options"] == "DENY"
    csrf = admin["cookies"]["csrftoken"]
    assert csrf["secure"] is True and csrf["httponly"] is True
    assert out["plain_http"] == 301  # redirected to HTTPS
    assert out["plain_health"] == 200  # load-balancer probes stay on plain HTTP


def test_refuses_to_start_with_both_tls_and_ssl_for_mail():
    result = run_with(
        {**PRODUCTION_ENV, "EMAIL_USE_TLS": "1", "EMAIL_USE_SSL": "1"}, "manage.py", "check"
    )
    assert result.returncode != 0
    assert "Set EMAIL_USE_TLS or EMAIL_USE_SSL, not both." in result.stderr
