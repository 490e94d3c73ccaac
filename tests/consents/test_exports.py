"""Ledger exports stream in constant memory; verify_events catches every kind of tampering."""

import csv
import io
import json
import tracemalloc

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from consents.exports import LedgerExport, export_public_key_hex, records_from_csv_lines
from consents.models import ConsentEvent
from consents.services import record_consent
from consents.synthetic import generate_ledger
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def small_ledger(organization):
    for i in range(6):
        record_consent(
            organization=organization,
            identifiers={"email": f"p{i % 3}@example.com"},
            choices={"analytics": i % 2 == 0, "marketing_email": True},
            source="api",
            actor="test",
            notice_version="2026-01",
            ip="192.0.2.55",
            user_agent="UA/1",
        )
    return organization


def export_to(tmp_path, org, fmt="ndjson", *extra):
    path = tmp_path / f"ledger.{fmt}"
    call_command("export_events", "--org", org.slug, "--format", fmt, "--output", str(path), *extra)
    return path


def verify(path, *extra):
    call_command("verify_events", str(path), *extra)


def test_export_carries_every_field_an_auditor_needs(tmp_path, small_ledger):
    path = export_to(tmp_path, small_ledger)
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert len(rows) == 12 and [r["id"] for r in rows] == sorted(r["id"] for r in rows)
    first = rows[0]
    assert first["notice_version"] == "2026-01"
    assert first["ip_truncated"] == "192.0.2.0" and first["user_agent"] == "UA/1"
    assert {"hash", "prev_hash", "seq", "subject", "pii_digest", "occurred_at"} <= set(first)
    manifest = json.loads((tmp_path / "ledger.ndjson.manifest.json").read_text())
    assert manifest["rows"] == 12 and manifest["first_hash"] == first["hash"]
    assert manifest["last_hash"] == rows[-1]["hash"] and manifest["complete"] is True
    assert manifest["public_key"] == export_public_key_hex(small_ledger)


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_untouched_export_verifies(tmp_path, small_ledger, fmt, capsys):
    path = export_to(tmp_path, small_ledger, fmt)
    verify(path, "--org", small_ledger.slug)
    assert "OK: 12 events in 3 chains" in capsys.readouterr().out


def tamper(path, change):
    lines = path.read_text().splitlines(keepends=True)
    path.write_text("".join(change(lines)))


def flip_granted(lines):
    record = json.loads(lines[4])
    record["granted"] = not record["granted"]
    lines[4] = json.dumps(record, separators=(",", ":")) + "\n"
    return lines


def swap(lines):
    # The two events of one chain (p0's 1st and 2nd requests) swapped.
    chain = [
        i
        for i, line in enumerate(lines)
        if json.loads(line)["subject"] == json.loads(lines[0])["subject"]
    ]
    a, b = chain[1], chain[2]
    lines[a], lines[b] = lines[b], lines[a]
    return lines


@pytest.mark.parametrize(
    "change, kind",
    [
        (flip_granted, "edited"),
        (lambda lines: lines[:3] + lines[4:], "removed"),
        (lambda lines: lines[:5] + [lines[2]] + lines[5:], "reordered"),
        (swap, "reordered"),
        (lambda lines: lines[:-1], "removed"),
    ],
    ids=["edited", "removed", "inserted-copy", "reordered", "last-removed"],
)
def test_verify_names_the_first_tampered_event(tmp_path, small_ledger, change, kind):
    path = export_to(tmp_path, small_ledger)
    tamper(path, change)
    with pytest.raises(CommandError) as failed:
        verify(path)
    assert failed.value.returncode == 1
    assert kind in str(failed.value) or "removed" in str(failed.value)


def test_inserted_forged_event_is_detected(tmp_path, small_ledger):
    path = export_to(tmp_path, small_ledger)

    def forge(lines):
        record = json.loads(lines[0])
        record["seq"] = 99
        record["id"] = 10_000
        return [*lines, json.dumps(record) + "\n"]

    tamper(path, forge)
    with pytest.raises(CommandError, match="FAILED: edited"):
        verify(path)


def test_manifest_signature_must_match_the_trusted_key(tmp_path, small_ledger, other_organization):
    path = export_to(tmp_path, small_ledger)
    with pytest.raises(CommandError, match="signature"):
        verify(path, "--public-key", export_public_key_hex(other_organization))
    manifest_path = tmp_path / "ledger.ndjson.manifest.json"
    manifest = json.loads(manifest_path.read_text())
    manifest["rows"] = 11
    manifest_path.write_text(json.dumps(manifest))
    with pytest.raises(CommandError, match="signature"):
        verify(path)


def test_live_ledger_verifies_and_detects_missing_head(small_ledger, capsys):
    call_command("verify_events", "--org", small_ledger.slug)
    assert "OK: 12 events" in capsys.readouterr().out
    subject = ConsentEvent.objects.first().subject
    subject.chain_length += 1
    subject.save()
    with pytest.raises(CommandError, match="removed"):
        call_command("verify_events", "--org", small_ledger.slug)


def test_api_export_streams_with_trailing_manifest_and_filters(api, small_ledger, tmp_path):
    api.as_key(small_ledger, "events:export")
    response = api.get("/api/v1/events/export", {"format": "ndjson", "purpose": "marketing_email"})
    assert response.status_code == 200 and response.streaming
    body = b"".join(response.streaming_content)
    lines = body.decode().splitlines()
    manifest = json.loads(lines[-1])["manifest"]
    assert manifest["filters"] == {"purpose": "marketing_email"} and manifest["rows"] == 6
    assert all(json.loads(line)["purpose"] == "marketing_email" for line in lines[:-1])
    path = tmp_path / "api.ndjson"
    path.write_bytes(body)
    call_command("verify_events", str(path))
    csv_body = b"".join(api.get("/api/v1/events/export", {"format": "csv"}).streaming_content)
    assert csv_body.startswith(b"id,v,organization,subject,seq")
    (tmp_path / "api.csv").write_bytes(csv_body)
    call_command("verify_events", str(tmp_path / "api.csv"))


def test_api_export_needs_the_export_scope_and_valid_filters(api, small_ledger):
    api.as_key(small_ledger, "events:read")
    assert api.get("/api/v1/events/export").status_code == 403
    api.as_key(small_ledger, "events:export")
    assert api.get("/api/v1/events/export", {"format": "xml"}).status_code == 400
    assert api.get("/api/v1/events/export", {"since": "yesterday"}).status_code == 400


def test_export_command_refuses_bad_arguments(tmp_path, small_ledger):
    with pytest.raises(CommandError, match="No organization"):
        call_command("export_events", "--org", "nope", "--output", str(tmp_path / "x"))
    with pytest.raises(CommandError, match="ISO 8601"):
        call_command(
            "export_events",
            "--org",
            small_ledger.slug,
            "--since",
            "soon",
            "--output",
            str(tmp_path / "x"),
        )
    assert not (tmp_path / "x").exists()


def consume_peak(organization, batch=2_000) -> tuple[int, int]:
    export = LedgerExport(
        organization=organization,
        events=ConsentEvent.objects.filter(organization=organization),
        filters={},
        batch=batch,
    )
    tracemalloc.start()
    rows = 0
    for chunk in export.chunks():
        rows += chunk.count(b"\n")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return rows, peak


def test_export_memory_does_not_grow_with_the_ledger(organization, other_organization):
    generate_ledger(organization, subjects=2_000, events_per_subject=2)
    generate_ledger(other_organization, subjects=12_000, events_per_subject=2, start_index=10**6)
    small_rows, small_peak = consume_peak(organization)
    large_rows, large_peak = consume_peak(other_organization)
    assert (small_rows, large_rows) == (4_000, 24_000)
    # Six times the events, yet the peak stays within the same batch-sized envelope.
    assert large_peak < small_peak * 1.5, (small_peak, large_peak)


def test_first_rows_arrive_before_the_whole_ledger_is_read(organization):
    generate_ledger(organization, subjects=2_000, events_per_subject=2)
    export = LedgerExport(
        organization=organization,
        events=ConsentEvent.objects.filter(organization=organization),
        filters={},
        batch=1_000,
    )
    with CaptureQueriesContext(connection) as queries:
        first = next(export.chunks())
    assert first.count(b"\n") == 1_000
    reads = [q["sql"] for q in queries if "SAVEPOINT" not in q["sql"]]
    assert len(reads) <= 3  # the bound, the purposes, notices and sites, the first batch


def test_export_for_an_unknown_person_is_empty_with_a_manifest(api, small_ledger):
    api.as_key(small_ledger, "events:export")
    response = api.get("/api/v1/events/export", {"user_id": "0"})
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert len(lines) == 1 and json.loads(lines[0])["manifest"]["rows"] == 0


def rechain(subject):
    """What a forger with database access would do: recompute a chain and its head."""
    from consents import ledger
    from consents.records import EVENT_VALUE_FIELDS, record_from_values
    from consents.retention import ledger_maintenance

    prev = ""
    with ledger_maintenance():
        for row in (
            ConsentEvent.objects.filter(subject=subject).order_by("seq").values(*EVENT_VALUE_FIELDS)
        ):
            record = record_from_values({**row, "prev_hash": prev})
            new_hash = ledger.event_hash(record)
            ConsentEvent._base_manager.filter(pk=row["id"]).update(prev_hash=prev, hash=new_hash)
            prev = new_hash
    subject.chain_head_hash = prev
    subject.save(update_fields=["chain_head_hash"])


def test_an_earlier_export_exposes_a_rewritten_chain(tmp_path, small_ledger, capsys):
    from consents.retention import ledger_maintenance

    path = export_to(tmp_path, small_ledger)
    call_command("verify_events", str(path), "--org", small_ledger.slug, "--against-live")
    assert "OK against the live ledger: 12 events unchanged" in capsys.readouterr().out
    victim = ConsentEvent.objects.filter(purpose__key="marketing_email").order_by("id").first()
    with ledger_maintenance():
        ConsentEvent._base_manager.filter(pk=victim.pk).update(granted=False)
    rechain(victim.subject)
    call_command("verify_events", "--org", small_ledger.slug)  # the live ledger alone looks fine
    with pytest.raises(CommandError, match=f"event {victim.pk} .* rewritten since the export"):
        call_command("verify_events", str(path), "--org", small_ledger.slug, "--against-live")


def test_events_removed_by_retention_are_not_tampering(tmp_path, organization, capsys):
    from datetime import timedelta

    from django.utils import timezone

    from consents.models import DataSubject
    from consents.retention import apply_retention

    record_consent(
        organization=organization,
        identifiers={"visitor_id": "old-visitor-0000000001"},
        choices={"analytics": True},
        source="banner",
        actor="visitor",
    )
    record_consent(
        organization=organization,
        identifiers={"email": "stays@example.com"},
        choices={"marketing_email": True},
        source="api",
        actor="t",
    )
    path = export_to(tmp_path, organization)
    DataSubject.objects.filter(is_identified=False).update(
        last_activity_at=timezone.now() - timedelta(days=1000)
    )
    apply_retention(organization)
    call_command("verify_events", str(path), "--org", organization.slug, "--against-live")
    assert "1 events unchanged, 1 removed by retention" in capsys.readouterr().out


def test_without_a_trusted_key_the_ok_says_what_the_signature_proves(
    tmp_path, small_ledger, capsys
):
    """A forger can re-sign a rewritten file with a key of their own and put that key in the
    manifest: without --public-key or --org the verifier cannot know, and must say so."""
    path = export_to(tmp_path, small_ledger)
    capsys.readouterr()
    verify(path)
    untrusted = capsys.readouterr().out
    assert untrusted.startswith("OK: 12 events") and "not who signed it" in untrusted
    verify(path, "--org", small_ledger.slug)
    trusted = capsys.readouterr().out
    assert trusted.startswith("OK: 12 events") and "not who signed it" not in trusted


def test_csv_cells_a_spreadsheet_would_run_as_formulas_are_quoted(api, organization, tmp_path):
    """A user agent or Idempotency-Key is whatever the caller sent; opened in a spreadsheet,
    a cell starting with = + - @ would run. The CSV writes it as text and still verifies."""
    agents = ['=HYPERLINK("https://evil.example","x")', "+1+cmd|' /C calc'!A0", "-2", "@SUM(A1)"]
    for i, agent in enumerate([*agents, "'already quoted"]):
        record_consent(
            organization=organization,
            identifiers={"email": f"f{i}@example.com"},
            choices={"analytics": True},
            source="api",
            actor="test",
            ip="192.0.2.55",
            user_agent=agent,
            idempotency_key=f"=key{i}",
        )
    api.as_key(organization, "events:export")
    body = b"".join(api.get("/api/v1/events/export", {"format": "csv"}).streaming_content)
    cells = [cell for row in csv.reader(io.StringIO(body.decode())) for cell in row]
    assert not [c for c in cells if c[:1] in ("=", "+", "-", "@", "\t", "\r")]
    assert '\'=HYPERLINK("https://evil.example","x")' in cells and "''already quoted" in cells
    path = tmp_path / "api.csv"
    path.write_bytes(body)
    call_command("verify_events", str(path), "--org", organization.slug)
    command_path = export_to(tmp_path, organization, "csv")
    call_command("verify_events", str(command_path), "--org", organization.slug)
    manifest = json.loads((tmp_path / "ledger.csv.manifest.json").read_text())
    assert manifest["csv_formula_prefix"] == "'"
    with command_path.open() as handle:
        records = list(records_from_csv_lines(handle, formula_prefix="'"))
    assert [r["user_agent"] for r in records] == [*agents, "'already quoted"]
    assert {r["client_event_id"] for r in records} == {f"=key{i}" for i in range(5)}


def test_a_csv_cell_holding_a_carriage_return_is_quoted(organization, tmp_path):
    """A bare CR ends a CSV record as LF does: written unquoted, a user agent holding one split
    its event in two for every CSV reader, verify_events included."""
    agents = ["UA/1\rnext", "\r=cmd", "two\r\nlines"]
    for i, agent in enumerate(agents):
        record_consent(
            organization=organization,
            identifiers={"email": f"cr{i}@example.com"},
            choices={"analytics": True},
            source="api",
            actor="test",
            user_agent=agent,
        )
    path = export_to(tmp_path, organization, "csv")
    with path.open(newline="") as handle:
        records = list(records_from_csv_lines(handle, formula_prefix="'"))
    assert [r["user_agent"] for r in records] == agents
    verify(path, "--org", organization.slug)
    # Every other line still ends in LF alone.
    assert path.read_bytes().count(b"\r\n") == 1


@pytest.mark.parametrize(
    "name, message", [("purpose", "Unknown purpose 'marketing-email'."), ("site", None)]
)
def test_an_unknown_purpose_or_site_is_refused_not_an_empty_export(
    api, small_ledger, tmp_path, name, message
):
    """Answered with no events and a signed manifest of 0 rows, a misspelt key read as
    "there are no such events"; export_events refused an unknown purpose already."""
    value = "marketing-email" if name == "purpose" else "no-such-site"
    message = message or f"Unknown site {value!r}."
    api.as_key(small_ledger, "events:read", "events:export")
    for path in ("/api/v1/events", "/api/v1/events/export"):
        response = api.get(path, {name: value})
        assert response.status_code == 400 and response.json() == {name: [message]}
    with pytest.raises(CommandError, match=message):
        export_to(tmp_path, small_ledger, "ndjson", f"--{name}", value)
    assert not list(tmp_path.iterdir())


def test_a_site_filter_narrows_the_export_to_the_site(api, small_ledger):
    site = SiteFactory(organization=small_ledger)
    record_consent(
        organization=small_ledger,
        identifiers={"email": "site@example.com"},
        choices={"analytics": True},
        source="api",
        actor="test",
        site=site,
    )
    api.as_key(small_ledger, "events:read")
    events = api.get("/api/v1/events", {"site": site.key}).json()["results"]
    assert [e["site"] for e in events] == [site.key]


@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_an_export_to_stdout_carries_its_manifest(tmp_path, small_ledger, capsysbinary, fmt):
    """With --output - there is no file to put the manifest beside: without it as the last
    line, what was exported could not be verified at all."""
    call_command("export_events", "--org", small_ledger.slug, "--format", fmt, "--output", "-")
    path = tmp_path / f"piped.{fmt}"
    path.write_bytes(capsysbinary.readouterr().out)
    call_command("verify_events", str(path), "--org", small_ledger.slug)
    assert "OK: 12 events in 3 chains" in capsysbinary.readouterr().out.decode()
