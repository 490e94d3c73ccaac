"""The PostgreSQL NDJSON fast path writes exactly the bytes of the Python path."""

import json

import pytest
from django.core.management import call_command
from django.db import connection

from consents import export_sql
from consents.exports import LedgerExport, organization_events
from consents.records import RECORD_FIELDS
from consents.services import record_consent
from consents.synthetic import generate_ledger
from tests.factories import SiteFactory

pytestmark = [pytest.mark.django_db, pytest.mark.postgres]

AWKWARD = 'Quote " back\\slash\nnew line\ttab \x01 ctrl é 漢字 😀 \u2028 </script>'


@pytest.fixture
def awkward_ledger(organization, on_postgres):
    if not on_postgres:
        pytest.skip("needs PostgreSQL")
    site = SiteFactory(organization=organization, key="shop-ü")
    site.purposes.set(organization.purposes.all())
    for i in range(4):
        record_consent(
            organization=organization,
            identifiers={"email": f"p{i % 2}@example.com"},
            choices={"analytics": i % 2 == 0, "marketing_email": True},
            source="api",
            actor=f'api_key:"{i}"',
            notice_version="2026-01",
            ip="2001:db8::1" if i % 2 else None,
            user_agent=AWKWARD if i else "",
            site=site if i % 2 else None,
            idempotency_key=f'key "{i}" ünïcode',
        )
    generate_ledger(organization, subjects=30, events_per_subject=3, start_index=100)
    return organization


def exported(organization, *, fast: bool, monkeypatch, batch=7, **filters) -> tuple[bytes, dict]:
    monkeypatch.setattr(export_sql, "available", lambda fmt: fast and fmt == "ndjson")
    events = organization_events(organization)
    if filters.get("purpose"):
        events = events.filter(purpose__key=filters["purpose"])
    export = LedgerExport(organization=organization, events=events, filters=filters, batch=batch)
    data = b"".join(export.chunks())
    return data, export.manifest


def test_line_keys_are_the_record_fields_in_order():
    assert tuple(key for key, _ in export_sql.LINE_PARTS) == RECORD_FIELDS


def test_fast_path_output_is_byte_identical(awkward_ledger, monkeypatch):
    fast, fast_manifest = exported(awkward_ledger, fast=True, monkeypatch=monkeypatch)
    slow, slow_manifest = exported(awkward_ledger, fast=False, monkeypatch=monkeypatch)
    assert fast.count(b"\n") == 8 + 90
    assert fast == slow
    for name in ("rows", "first_hash", "last_hash", "sha256", "max_event_id"):
        assert fast_manifest[name] == slow_manifest[name]


def test_fast_path_writes_utc_whatever_the_session_time_zone(awkward_ledger, monkeypatch):
    slow, _ = exported(awkward_ledger, fast=False, monkeypatch=monkeypatch)
    with connection.cursor() as cursor:
        cursor.execute("SET timezone = 'America/New_York'")
    try:
        fast, _ = exported(awkward_ledger, fast=True, monkeypatch=monkeypatch)
    finally:
        with connection.cursor() as cursor:
            cursor.execute("SET timezone = 'UTC'")
    assert b'Z"' in fast and fast == slow


def test_filtered_fast_export_matches_too(awkward_ledger, monkeypatch):
    fast, _ = exported(awkward_ledger, fast=True, monkeypatch=monkeypatch, purpose="analytics")
    slow, _ = exported(awkward_ledger, fast=False, monkeypatch=monkeypatch, purpose="analytics")
    assert fast and fast == slow


def test_fast_export_file_verifies(awkward_ledger, tmp_path, capsys):
    path = tmp_path / "ledger.ndjson"
    call_command("export_events", "--org", awkward_ledger.slug, "--output", str(path))
    call_command("verify_events", str(path), "--org", awkward_ledger.slug)
    assert "OK: 98 events" in capsys.readouterr().out


def test_export_of_nothing_is_just_the_manifest(api, awkward_ledger):
    api.as_key(awkward_ledger, "events:export")
    response = api.get("/api/v1/events/export", {"user_id": "nobody-here"})
    lines = b"".join(response.streaming_content).splitlines()
    assert response.status_code == 200 and len(lines) == 1
    assert json.loads(lines[0])["manifest"]["rows"] == 0
