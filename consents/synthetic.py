"""Generate a large, valid ledger fast (tests of streaming and the benchmarks).

Rows are built with the real hash chain (consents.ledger) and inserted in bulk, bypassing the
service function on purpose: this is fixture data, not consent. Never used on a live tenant.
"""

import secrets
import uuid
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from consents import ledger
from consents.identifiers import hash_identifier
from consents.models import (
    ConsentEvent,
    ConsentState,
    DataSubject,
    Organization,
    Purpose,
    SubjectIdentifier,
)
from consents.records import record_from_values


def synthetic_email(index: int) -> str:
    return f"person{index}@example.com"


def generate_ledger(
    organization: Organization,
    *,
    subjects: int,
    events_per_subject: int = 1,
    purpose_keys: list[str] | None = None,
    batch: int = 5_000,
    start_index: int = 0,
) -> int:
    """Create `subjects` identified subjects (person<i>@example.com) with chained events."""
    purposes = (
        list(organization.purposes.filter(key__in=purpose_keys))
        if purpose_keys
        else list(organization.purposes.exclude(mode_eu="always_on"))
    )
    if not purposes:
        raise ValueError("The organization has no purposes to decide on.")
    now = timezone.now()
    written = 0
    for first in range(start_index, start_index + subjects, batch):
        last = min(first + batch, start_index + subjects)
        with transaction.atomic():
            written += _generate_batch(
                organization, purposes, range(first, last), events_per_subject, now
            )
    return written


def _generate_batch(organization, purposes: list[Purpose], indexes, per_subject: int, now) -> int:
    subject_rows = [
        DataSubject(
            organization=organization,
            uid=uuid.uuid4(),
            is_identified=True,
            created_at=now,
            last_activity_at=now,
        )
        for _ in indexes
    ]
    DataSubject.objects.bulk_create(subject_rows)
    identifiers, events = [], []
    for index, subject in zip(indexes, subject_rows, strict=True):
        identifiers.append(
            SubjectIdentifier(
                organization=organization,
                subject=subject,
                kind="email",
                value_hash=hash_identifier(
                    organization.identifier_secret, "email", synthetic_email(index)
                ),
            )
        )
        prev_hash = ""
        for seq in range(1, per_subject + 1):
            purpose = purposes[(index + seq) % len(purposes)]
            moment = now - timedelta(seconds=per_subject - seq + 1)
            salt = secrets.token_hex(16)
            ip, agent = "198.51.100.0", "Mozilla/5.0 (synthetic)"
            event = ConsentEvent(
                organization=organization,
                subject=subject,
                purpose=purpose,
                granted=(index + seq) % 3 != 0,
                source="import",
                jurisdiction="DE",
                occurred_at=moment,
                recorded_at=moment,
                actor="synthetic",
                ip_truncated=ip,
                user_agent=agent,
                pii_salt=salt,
                pii_digest=ledger.pii_digest(salt, ip, agent),
                seq=seq,
                prev_hash=prev_hash,
            )
            event.hash = ledger.event_hash(
                record_from_values(
                    {
                        "id": None,
                        "organization__slug": organization.slug,
                        "subject__uid": subject.uid,
                        "seq": seq,
                        "purpose__key": purpose.key,
                        "granted": event.granted,
                        "source": event.source,
                        "notice__version": "",
                        "jurisdiction": "DE",
                        "site__key": "",
                        "occurred_at": moment,
                        "recorded_at": moment,
                        "actor": event.actor,
                        "ip_truncated": ip,
                        "user_agent": agent,
                        "pii_salt": salt,
                        "pii_digest": event.pii_digest,
                        "client_event_id": "",
                        "prev_hash": prev_hash,
                        "hash": "",
                    }
                )
            )
            prev_hash = event.hash
            events.append(event)
        subject.chain_length = per_subject
        subject.chain_head_hash = prev_hash
    SubjectIdentifier.objects.bulk_create(identifiers)
    ConsentEvent.objects.bulk_create(events, batch_size=2_000)
    DataSubject.objects.bulk_update(
        subject_rows, ["chain_length", "chain_head_hash"], batch_size=2_000
    )
    latest = {}
    for event in events:
        latest[(event.subject_id, event.purpose_id)] = event
    ConsentState.objects.bulk_create(
        [
            ConsentState(
                organization=organization,
                subject_id=subject_id,
                purpose_id=purpose_id,
                granted=event.granted,
                event=event,
                source=event.source,
                decided_at=event.occurred_at,
            )
            for (subject_id, purpose_id), event in latest.items()
        ],
        batch_size=2_000,
    )
    return len(events)
