"""The production server (gunicorn with consent_platform/gunicorn.conf.py) serves, and keeps
serving while it replaces workers after `max_requests` (the app is preloaded in the master,
so a new worker must open its own database connection)."""

import contextlib
import json
import os
import re
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = Path(sys.executable).with_name("gunicorn")

pytestmark = pytest.mark.skipif(not GUNICORN.exists(), reason="gunicorn is not installed")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def get(url: str) -> tuple[int, bytes]:
    request = urllib.request.Request(url, headers={"Host": "consent.example.com"})
    with urllib.request.urlopen(request, timeout=10) as response:
        return response.status, response.read()


INHERITED = ("DEBUG", "SECRET_KEY", "DATABASE_URL", "DJANGO_ALLOW_ASYNC_UNSAFE")
SERVER = [str(GUNICORN), "consent_platform.wsgi", "--config", "consent_platform/gunicorn.conf.py"]


def server_env(tmp_path, port: int, **overrides: str) -> dict:
    """The environment of a gunicorn started as in production, on SQLite, on `port`."""
    return {
        **{k: v for k, v in os.environ.items() if k not in INHERITED},
        "DJANGO_SETTINGS_MODULE": "consent_platform.settings",
        "SECRET_KEY": "x" * 60 + "-production-like-secret-for-tests",
        "ALLOWED_HOSTS": "consent.example.com",
        "PUBLIC_BASE_URL": "https://consent.example.com",
        "SECURE_SSL_REDIRECT": "0",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "BIND": f"127.0.0.1:{port}",
        **overrides,
    }


@contextlib.contextmanager
def serving(env: dict, port: int, output=subprocess.DEVNULL, describe=lambda: ""):
    """gunicorn started with `env`, answering /healthz on `port`; stopped on leaving."""
    server = subprocess.Popen(SERVER, cwd=ROOT, env=env, stdout=output, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                get(f"http://127.0.0.1:{port}/healthz")
                break
            except OSError:
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail("gunicorn did not start:\n" + describe())
                time.sleep(0.1)
        yield server
    finally:
        server.terminate()
        server.wait(timeout=30)


def test_workers_replaced_after_max_requests_keep_answering(tmp_path):
    port = free_port()
    env = server_env(
        tmp_path,
        port,
        DEBUG="0",
        STATIC_ROOT=str(tmp_path / "static"),
        WEB_CONCURRENCY="2",
        GUNICORN_MAX_REQUESTS="3",
    )
    log_path = tmp_path / "gunicorn.log"
    with open(log_path, "w") as log, serving(env, port, log, log_path.read_text):
        answers = [get(f"http://127.0.0.1:{port}/readyz") for _ in range(24)]
    assert answers == [(200, b'{"status": "ok", "database": "up"}')] * 24
    restarts = re.findall(r"Autorestarting worker", log_path.read_text())
    assert len(restarts) >= 5  # 25 requests, 2 workers, replaced every 3 requests


def test_the_production_server_runs_with_debug_off_unless_told_otherwise(tmp_path):
    """Started without DEBUG, gunicorn must not serve debug pages with the development secret:
    it takes DEBUG=0, so it refuses to start until SECRET_KEY and the rest are set."""
    port = free_port()
    env = {
        **{k: v for k, v in os.environ.items() if k not in INHERITED},
        "DJANGO_SETTINGS_MODULE": "consent_platform.settings",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "BIND": f"127.0.0.1:{port}",
        "WEB_CONCURRENCY": "1",
    }
    server = subprocess.Popen(
        SERVER, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True
    )
    try:
        output, _ = server.communicate(timeout=30)
    finally:
        if server.poll() is None:
            server.terminate()
            server.wait(timeout=30)
    assert server.returncode != 0
    assert "SECRET_KEY must be set when DEBUG is off" in output


def server_config(**env: str) -> subprocess.CompletedProcess:
    """Read consent_platform/gunicorn.conf.py as gunicorn does, with `env`; print its values."""
    probe = (
        "import json, runpy; c = runpy.run_path('consent_platform/gunicorn.conf.py'); "
        "print(json.dumps({k: c[k] for k in ('preload_app', 'workers', 'max_requests')}))"
    )
    return subprocess.run(
        [sys.executable, "-c", probe],
        cwd=ROOT,
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.mark.parametrize(("value", "preload"), [("0", False), ("false", False), ("off", False)])
def test_preloading_is_turned_off_by_any_false_value(value, preload):
    result = server_config(GUNICORN_PRELOAD=value)
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["preload_app"] is preload


@pytest.mark.parametrize(
    ("name", "value"),
    [("GUNICORN_PRELOAD", "maybe"), ("WEB_CONCURRENCY", "0"), ("GUNICORN_MAX_REQUESTS", "-5")],
)
def test_an_invalid_server_setting_is_refused_not_ignored(name, value):
    result = server_config(**{name: value})
    assert result.returncode != 0
    assert name in result.stderr


def test_the_access_log_carries_no_query_string_and_no_client_address(tmp_path):
    """An API read names its subject in the query (?email=): the access log keeps the path."""
    port = free_port()
    access_log = tmp_path / "access.log"
    env = server_env(tmp_path, port, WEB_CONCURRENCY="1", GUNICORN_ACCESS_LOG=str(access_log))
    with serving(env, port):
        try:
            get(f"http://127.0.0.1:{port}/api/v1/consents/state?email=alice%40example.com")
        except urllib.error.HTTPError as exc:
            assert exc.code == 401
    log = access_log.read_text()
    assert "/api/v1/consents/state" in log and " 401 " in log
    assert "alice" not in log and "email=" not in log
    assert "127.0.0.1" not in log  # the client address (a visitor's, behind no proxy)
