"""Bench data: the demo organization for the web scenarios and a 1,000,000-subject ledger.

The large ledger is written with PostgreSQL COPY, chunk by chunk, each chunk in its own
transaction, with the real hash chain (consents.ledger); a second run finds it complete and
reuses it, an interrupted run resumes after the last committed chunk. Fixture data only.
"""

import hashlib
import hmac
import json
import os
import time
import uuid
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction

from consents import ledger
from consents.demo import ensure_demo_purposes, seed_demo
from consents.models import ApiKey, Organization, Purpose

LEDGER_ORG = "bench-ledger"
CHECK_PURPOSE = "marketing_email"
CHUNK = 50_000
BASE_TIME = datetime(2026, 1, 1, tzinfo=UTC)
IP, AGENT = "198.51.100.0", "Mozilla/5.0 (bench)"


def email(index: int) -> str:
    return f"person{index}@example.com"


def ledger_organization() -> Organization:
    organization, _ = Organization.objects.get_or_create(
        slug=LEDGER_ORG, defaults={"name": "Bench ledger", "default_jurisdiction": "DE"}
    )
    ensure_demo_purposes(organization)
    return organization


def api_key(organization: Organization, *scopes: str) -> str:
    """A fresh key for this run (keys are cheap; the raw value is never stored)."""
    from consents.api.authentication import generate_raw_key

    raw, prefix, digest = generate_raw_key()
    ApiKey.objects.create(
        organization=organization,
        name="bench",
        prefix=prefix,
        key_hash=digest,
        scopes=list(scopes),
    )
    return raw


def web_organization(allowed_origin: str) -> Organization:
    """The demo organization and site `demo`, which also accepts the bench's origin."""
    organization = seed_demo()
    site = organization.sites.get(key="demo")
    if allowed_origin not in site.origin_list():
        site.allowed_origins = site.allowed_origins.rstrip() + "\n" + allowed_origin
        site.save()
    return organization


def ensure_ledger(subjects: int, log=print) -> Organization:
    organization = ledger_organization()
    have = organization.subjects.count()
    if have >= subjects:
        log(f"ledger: {have:,} subjects already loaded, reused")
        return organization
    log(f"ledger: loading subjects {have:,}..{subjects:,} with COPY")
    purpose = organization.purposes.get(key=CHECK_PURPOSE)
    started = time.monotonic()
    for first in range(have, subjects, CHUNK):
        last = min(first + CHUNK, subjects)
        with transaction.atomic():
            _copy_chunk(organization, purpose, first, last)
        rate = (last - have) / (time.monotonic() - started)
        log(f"  {last:,} subjects ({rate:,.0f}/s)")
    with connection.cursor() as cursor:
        for table in ("datasubject", "subjectidentifier", "consentevent", "consentstate"):
            name = f"consents_{table}"
            cursor.execute(
                f"SELECT setval(pg_get_serial_sequence('{name}', 'id'), "
                f"(SELECT max(id) FROM {name}))"
            )
        cursor.execute("ANALYZE")
    return organization


def _next_ids(cursor, table: str, count: int) -> int:
    """Reserve `count` ids of a table's identity sequence; return the first."""
    cursor.execute(
        f"SELECT setval(pg_get_serial_sequence('{table}', 'id'), "
        f"GREATEST(nextval(pg_get_serial_sequence('{table}', 'id')), "
        f"(SELECT COALESCE(max(id), 0) + 1 FROM {table})) + %s - 1)",
        [count],
    )
    return cursor.fetchone()[0] - count + 1


def _copy_chunk(organization: Organization, purpose: Purpose, first: int, last: int) -> None:
    count = last - first
    secret = organization.identifier_secret.encode()
    slug = organization.slug
    validity = timedelta(days=purpose.validity_days or 0)
    salts = os.urandom(16 * count).hex()
    with connection.cursor() as cursor:
        subject_id = _next_ids(cursor, "consents_datasubject", count)
        identifier_id = _next_ids(cursor, "consents_subjectidentifier", count)
        event_id = _next_ids(cursor, "consents_consentevent", count)
        state_id = _next_ids(cursor, "consents_consentstate", count)
        subjects, identifiers, events, states = [], [], [], []
        for offset, index in enumerate(range(first, last)):
            uid = str(uuid.UUID(bytes=os.urandom(16), version=4))
            moment = BASE_TIME + timedelta(seconds=index)
            stamp = ledger.format_timestamp(moment)
            granted = index % 3 != 0
            salt = salts[offset * 32 : offset * 32 + 32]
            digest = ledger.pii_digest(salt, IP, AGENT)
            record = {
                "v": ledger.CHAIN_VERSION,
                "organization": slug,
                "subject": uid,
                "seq": 1,
                "purpose": purpose.key,
                "granted": granted,
                "source": "import",
                "notice_version": "",
                "jurisdiction": "DE",
                "site": "",
                "occurred_at": stamp,
                "recorded_at": stamp,
                "actor": "synthetic",
                "client_event_id": "",
                "pii_digest": digest,
                "prev_hash": "",
            }
            event_hash = hashlib.sha256(
                json.dumps(
                    record, sort_keys=True, separators=(",", ":"), ensure_ascii=False
                ).encode()
            ).hexdigest()
            value_hash = hmac.new(
                secret, f"email:{email(index)}".encode(), hashlib.sha256
            ).hexdigest()
            sid, eid = subject_id + offset, event_id + offset
            subjects.append((sid, uid, moment, 1, event_hash, 0, "", True, moment, organization.pk))
            identifiers.append(
                (identifier_id + offset, "email", value_hash, moment, organization.pk, sid)
            )
            events.append(
                (
                    eid,
                    granted,
                    "import",
                    "DE",
                    moment,
                    moment,
                    "synthetic",
                    IP,
                    AGENT,
                    salt,
                    digest,
                    "",
                    1,
                    "",
                    event_hash,
                    sid,
                    organization.pk,
                    purpose.pk,
                )
            )
            states.append(
                (
                    state_id + offset,
                    granted,
                    "import",
                    "",
                    moment,
                    moment + validity if granted and purpose.validity_days else None,
                    eid,
                    sid,
                    organization.pk,
                    purpose.pk,
                )
            )
        _copy(
            cursor,
            "consents_datasubject",
            "id, uid, created_at, chain_length, chain_head_hash, chain_anchor_seq, "
            "chain_anchor_hash, is_identified, last_activity_at, organization_id",
            subjects,
        )
        _copy(
            cursor,
            "consents_subjectidentifier",
            "id, kind, value_hash, created_at, organization_id, subject_id",
            identifiers,
        )
        _copy(
            cursor,
            "consents_consentevent",
            "id, granted, source, jurisdiction, occurred_at, recorded_at, actor, ip_truncated, "
            "user_agent, pii_salt, pii_digest, client_event_id, seq, prev_hash, hash, "
            "subject_id, organization_id, purpose_id",
            events,
        )
        _copy(
            cursor,
            "consents_consentstate",
            "id, granted, source, notice_version, decided_at, expires_at, event_id, subject_id, "
            "organization_id, purpose_id",
            states,
        )


def _copy(cursor, table: str, columns: str, rows: list) -> None:
    with cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)
