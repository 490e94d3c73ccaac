"""Faults: database down, processes killed mid-request and mid-export. Nothing is lost or torn."""

import json
import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from django.core.management import call_command
from django.db import connection

from consents.models import ConsentEvent, ConsentState, DataSubject
from consents.services import record_consent
from consents.synthetic import generate_ledger
from consents.verification import verify_organization_ledger

ROOT = Path(__file__).resolve().parents[2]

DOWN_PROBE = """
import json, django
django.setup()
from django.test import Client
client = Client()
out = {}
out["ready"] = client.get("/readyz")
out["health"] = client.get("/healthz")
out["record"] = client.post("/api/v1/consents", {"subject": {"email": "a@example.com"},
    "choices": {"analytics": True}}, content_type="application/json",
    HTTP_AUTHORIZATION="Bearer kzc_abcdefabcdef_secret")
out["config"] = client.get("/api/v1/sites/demo/config")
print(json.dumps({k: [v.status_code, v.content.decode()] for k, v in out.items()}))
"""


def database_url() -> str:
    s = connection.settings_dict
    return f"postgres://{s['USER']}@{s['HOST']}:{s['PORT']}/{s['NAME']}"


def run_python(env: dict, *args, **kwargs):
    return subprocess.Popen([sys.executable, *args], cwd=ROOT, env={**os.environ, **env}, **kwargs)


def test_database_down_gives_503_with_a_clear_message_never_a_trace():
    env = {
        **os.environ,
        "DATABASE_URL": "postgres://postgres@127.0.0.1:1/nowhere",
        "ALLOWED_HOSTS": "testserver",
        "DJANGO_SETTINGS_MODULE": "consent_platform.settings",
    }
    result = subprocess.run(
        [sys.executable, "-c", DOWN_PROBE],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    out = json.loads(result.stdout.strip().splitlines()[-1])
    assert out["health"][0] == 200
    assert out["ready"][0] == 503
    for name in ("record", "config"):
        status, body = out[name]
        assert status == 503, (name, body)
        assert json.loads(body)["code"] == "database_unavailable"
        assert "Traceback" not in body and "psycopg" not in body


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_process_killed_mid_write_leaves_no_partial_event(organization):
    record_consent(
        organization=organization,
        identifiers={"email": "victim@example.com"},
        choices={"analytics": False},
        source="api",
        actor="before",
    )
    writer = run_python(
        {"DATABASE_URL": database_url()},
        "-m",
        "tests.fault_writer",
        str(organization.pk),
        stdout=subprocess.PIPE,
        text=True,
    )
    assert writer.stdout.readline().strip() == "written, not committed"
    writer.send_signal(signal.SIGKILL)
    writer.wait(timeout=30)
    assert ConsentEvent.objects.count() == 1
    assert ConsentState.objects.get(purpose__key="analytics").granted is False
    assert verify_organization_ledger(organization).ok
    # The killed transaction's locks are gone: the subject takes the next write at once.
    record_consent(
        organization=organization,
        identifiers={"email": "victim@example.com"},
        choices={"analytics": True},
        source="api",
        actor="after",
    )
    assert DataSubject.objects.get().chain_length == 2
    assert verify_organization_ledger(organization).ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_export_killed_midway_leaves_no_file_that_looks_complete(organization, tmp_path):
    generate_ledger(organization, subjects=8_000, events_per_subject=2)
    target = tmp_path / "ledger.ndjson"
    partial = tmp_path / "ledger.ndjson.partial"
    exporter = run_python(
        {"DATABASE_URL": database_url()},
        "manage.py",
        "export_events",
        "--org",
        organization.slug,
        "--output",
        str(target),
        "--no-progress",
        stdout=subprocess.DEVNULL,
    )
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline and not (partial.exists() and partial.stat().st_size > 0):
        time.sleep(0.01)
    exporter.send_signal(signal.SIGKILL)
    exporter.wait(timeout=30)
    assert not target.exists() and not (tmp_path / "ledger.ndjson.manifest.json").exists()
    call_command("export_events", "--org", organization.slug, "--output", str(target))
    call_command("verify_events", str(target), "--org", organization.slug)


def test_request_ids_reach_responses_and_json_logs(client, db):
    from consent_platform.logging import JsonFormatter, RequestIdFilter, current_request_id

    response = client.get("/healthz", HTTP_X_REQUEST_ID="req-123")
    assert response["X-Request-ID"] == "req-123"
    assert len(client.get("/healthz", HTTP_X_REQUEST_ID="bad id!\n")["X-Request-ID"]) == 32
    token = current_request_id.set("req-456")
    try:
        record = logging.LogRecord(
            "kaizen", logging.INFO, __file__, 1, "hello %s", ("world",), None
        )
        RequestIdFilter().filter(record)
        line = json.loads(JsonFormatter().format(record))
    finally:
        current_request_id.reset(token)
    assert line["message"] == "hello world" and line["request_id"] == "req-456"
