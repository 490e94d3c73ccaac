"""Retention and erasure: the one narrow path past the ledger's append-only guard.

What goes, per organization (its retention settings):
- an anonymous visitor inactive longer than `anonymous_event_retention_days`: the whole subject
  (events, state, identifiers); an active one loses the events older than that which no current
  decision rests on, and its chain records where it now starts (the anchor); the older events
  a current decision rests on stay and lose their personal data (truncated IP, user agent);
- an identified person's events older than `identified_event_retention_days` keep the decision
  but lose their personal data (truncated IP, user agent);
- marketing grants of a person with no sign of interest for `marketing_retention_days` lapse:
  a refusal with source `retention` is recorded through the consent service, so state stays
  derived from the ledger. Opt-outs are kept: they are proof.
Every hash still verifies afterwards (docs/ledger.md, "Personal data and retention").
"""

from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import timedelta

from django.db import connection, transaction
from django.utils import timezone

from consents.identifiers import identifier_hash
from consents.models import (
    ConsentEvent,
    ConsentState,
    DataSubject,
    IdempotencyRecord,
    IdentifierMove,
    Organization,
    PrivacyRequestLog,
    Purpose,
    SubjectIdentifier,
    Suppression,
)
from consents.selectors import MARKETING_KINDS
from consents.services import record_consent

BATCH = 500
# The identifiers a marketing check can name a person by (a CRM checks by its account id as
# often as by address): an erased person is never contacted again under any of them.
NEVER_CONTACT_KINDS = ("user_id", "email", "phone")


@contextmanager
def ledger_maintenance() -> Iterator[None]:
    """A transaction in which the database lets retention change or delete ledger rows."""
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL kaizen.ledger_maintenance = 'on'")
        yield


def _ledger_rows():
    # The default manager refuses update()/delete(); retention alone uses the base manager.
    return ConsentEvent._base_manager


def deidentify_events(events_filter: dict) -> int:
    """Remove the personal data of matching events (their digests keep the chain valid)."""
    return (
        _ledger_rows()
        .filter(**events_filter)
        .exclude(pii_salt=None, ip_truncated=None, user_agent=None)
        .update(ip_truncated=None, user_agent=None, pii_salt=None)
    )


@dataclass
class RetentionReport:
    dry_run: bool
    subjects_deleted: int = 0
    events_deleted: int = 0
    events_deidentified: int = 0
    marketing_lapsed: int = 0
    details: dict = field(default_factory=dict)

    def as_dict(self) -> dict:
        return {
            "dry_run": self.dry_run,
            "subjects_deleted": self.subjects_deleted,
            "events_deleted": self.events_deleted,
            "events_deidentified": self.events_deidentified,
            "marketing_lapsed": self.marketing_lapsed,
        }


RETENTION_PERIODS = (
    "anonymous_event_retention_days",
    "identified_event_retention_days",
    "marketing_retention_days",
)


class RetentionPeriodInvalid(Exception):
    pass


def apply_retention(
    organization: Organization, *, dry_run: bool = False, now=None, performed_by: str = "retention"
) -> RetentionReport:
    # A period under a day (saved past the admin's validation) would take everything.
    short = [name for name in RETENTION_PERIODS if getattr(organization, name) < 1]
    if short:
        raise RetentionPeriodInvalid(
            f"Retention periods must be at least 1 day: {', '.join(short)} of "
            f"{organization.slug} is not. Nothing was changed."
        )
    now = now or timezone.now()
    report = RetentionReport(dry_run=dry_run)
    anonymous_cutoff = now - timedelta(days=organization.anonymous_event_retention_days)
    identified_cutoff = now - timedelta(days=organization.identified_event_retention_days)
    marketing_cutoff = now - timedelta(days=organization.marketing_retention_days)

    _delete_inactive_anonymous(organization, anonymous_cutoff, dry_run, report)
    _trim_active_anonymous(organization, anonymous_cutoff, dry_run, report)
    old_identified = ConsentEvent.objects.filter(
        organization=organization, subject__is_identified=True, recorded_at__lt=identified_cutoff
    ).exclude(pii_salt=None, ip_truncated=None, user_agent=None)
    if dry_run:
        report.events_deidentified += old_identified.count()
    else:
        ids = list(old_identified.values_list("id", flat=True))
        for start in range(0, len(ids), BATCH * 10):
            with ledger_maintenance():
                report.events_deidentified += deidentify_events(
                    {"id__in": ids[start : start + BATCH * 10]}
                )
    _lapse_marketing(organization, marketing_cutoff, dry_run, report, performed_by)
    if not dry_run:
        # A retry comes within days; a key older than the anonymous period names a request
        # whose subject may be gone (and the record outlived what it answered for).
        IdempotencyRecord.objects.filter(
            organization=organization, created_at__lt=anonymous_cutoff
        ).delete()
        PrivacyRequestLog.objects.create(
            organization=organization,
            action=PrivacyRequestLog.Action.RETENTION,
            performed_by=performed_by,
            details=report.as_dict(),
        )
    return report


def _delete_inactive_anonymous(organization, cutoff, dry_run, report) -> None:
    # An erased subject is no longer identified but its chain is opt-out proof: kept.
    subjects = DataSubject.objects.filter(
        organization=organization,
        is_identified=False,
        erased_at=None,
        last_activity_at__lt=cutoff,
    )
    if dry_run:
        report.subjects_deleted += subjects.count()
        report.events_deleted += ConsentEvent.objects.filter(subject__in=subjects).count()
        return
    while True:
        batch = list(subjects.values_list("pk", flat=True)[:BATCH])
        if not batch:
            return
        with ledger_maintenance():
            # Locked, then matched again: a write since the batch was chosen made the subject
            # active, and its acknowledged decision must stay.
            batch = list(
                subjects.filter(pk__in=batch).select_for_update().values_list("pk", flat=True)
            )
            ConsentState.objects.filter(subject__in=batch).delete()
            SubjectIdentifier.objects.filter(subject__in=batch).delete()
            deleted, _ = _ledger_rows().filter(subject__in=batch).delete()
            report.events_deleted += deleted
            report.subjects_deleted += DataSubject.objects.filter(pk__in=batch).delete()[0]


def _trim_active_anonymous(organization, cutoff, dry_run, report) -> None:
    """Drop the oldest events of active visitors' chains where no current decision rests."""
    candidates = (
        ConsentEvent.objects.filter(
            organization=organization,
            subject__is_identified=False,
            subject__erased_at=None,
            recorded_at__lt=cutoff,
            subject__last_activity_at__gte=cutoff,
        )
        .order_by()
        .values_list("subject_id", flat=True)
        .distinct()
    )
    for subject_id in list(candidates):
        with ledger_maintenance():
            subject = DataSubject.objects.select_for_update().get(pk=subject_id)
            in_use = set(
                ConsentState.objects.filter(subject=subject).values_list("event_id", flat=True)
            )
            prefix = []
            for event_id, seq, recorded_at, event_hash in (
                ConsentEvent.objects.filter(subject=subject)
                .order_by("seq")
                .values_list("id", "seq", "recorded_at", "hash")
            ):
                if recorded_at >= cutoff or event_id in in_use:
                    break
                prefix.append((event_id, seq, event_hash))
            report.events_deleted += len(prefix)
            # What stays past the period (a current decision rests on it) keeps the decision
            # and loses its personal data, as an identified person's old events do.
            kept_old = {"subject": subject, "recorded_at__lt": cutoff}
            if dry_run:
                report.events_deidentified += (
                    ConsentEvent.objects.filter(**kept_old)
                    .exclude(pk__in=[p[0] for p in prefix])
                    .exclude(pii_salt=None, ip_truncated=None, user_agent=None)
                    .count()
                )
                continue
            if prefix:
                _ledger_rows().filter(pk__in=[p[0] for p in prefix]).delete()
                subject.chain_anchor_seq, subject.chain_anchor_hash = prefix[-1][1], prefix[-1][2]
                subject.save(update_fields=["chain_anchor_seq", "chain_anchor_hash"])
            report.events_deidentified += deidentify_events(kept_old)


def _lapse_marketing(organization, cutoff, dry_run, report, performed_by) -> None:
    lapsing = (
        ConsentState.objects.filter(
            organization=organization,
            granted=True,
            purpose__kind__in=MARKETING_KINDS,
            subject__last_activity_at__lt=cutoff,
            subject__erased_at=None,
        )
        .select_related("purpose")
        .order_by("subject_id")
    )
    if dry_run:
        report.marketing_lapsed = lapsing.count()
        return
    by_subject: dict[int, list[str]] = {}
    for state in lapsing:
        by_subject.setdefault(state.subject_id, []).append(state.purpose.key)
    for subject_id, keys in by_subject.items():
        identifier = SubjectIdentifier.objects.filter(subject_id=subject_id).first()
        if identifier is None:
            continue
        report.marketing_lapsed += _record_lapse(
            organization, subject_id, keys, performed_by, cutoff
        )


def _record_lapse(organization, subject_id: int, keys: list[str], performed_by: str, cutoff) -> int:
    """Record lapsed marketing grants as refusals, keeping the subject's last activity; how
    many lapsed. The subject is locked and checked again first: a person who acted since the
    run chose them (a fresh grant in the preference center) keeps what they chose."""
    with transaction.atomic():
        subject = (
            DataSubject.objects.select_for_update()
            .filter(pk=subject_id, last_activity_at__lt=cutoff, erased_at=None)
            .first()
        )
        if subject is None:
            return 0
        still_granted = list(
            ConsentState.objects.filter(
                subject=subject, granted=True, purpose__key__in=keys
            ).values_list("purpose__key", flat=True)
        )
        if still_granted:
            record_consent(
                organization=organization,
                subject=subject,
                choices=dict.fromkeys(still_granted, False),
                source="retention",
                actor=performed_by,
                touch_activity=False,
            )
        return len(still_granted)


@dataclass
class ErasureResult:
    subject_uid: str
    identifiers_removed: int
    suppressions: int
    events_deidentified: int
    states_removed: int


class SubjectNotFound(Exception):
    pass


def erase_subject(
    organization: Organization, *, kind: str, value: str, performed_by: str
) -> ErasureResult:
    """Erase a person on request: identifiers and personal data go, opt-out proof stays.

    The person is the subject the identifier names now and every subject an identifier moved
    away from into it (their history from before a link: an address used alone, a browser
    before sign-in). Their account id, email and phone hashes become suppression records (never
    contact again), and so does each data-use opt-out in force, under every identifier they had
    (the refusal outlives the state, which goes: checks keep answering "refused" rather than
    the default). Their events keep the decision but lose IP and user agent, their identifiers
    go, and the request itself is logged (without the erased data).
    """
    value_hash = identifier_hash(organization.identifier_secret, kind, value)
    with ledger_maintenance():
        # The identifier first, locked: a write moving it to another subject has committed
        # (the erasure follows it there) and none can move it until the erasure commits.
        owner = (
            SubjectIdentifier.objects.select_for_update()
            .filter(organization=organization, kind=kind, value_hash=value_hash)
            .values_list("subject_id", flat=True)
            .first()
        )
        if owner is None:
            raise SubjectNotFound(f"No subject with that {kind}.")
        # Then the person, before their links are read: a write linking a browser to them
        # holds this lock until it commits, and its move is seen.
        subject = DataSubject.objects.select_for_update().get(pk=owner)
        subject_ids = _linked_subject_ids(subject.pk)
        _lock_subjects(subject_ids)
        suppressions = _erasure_suppressions(organization, subject.pk, subject_ids)
        Suppression.objects.bulk_create(suppressions)
        deidentified = deidentify_events({"subject__in": subject_ids})
        identifiers_removed, _ = SubjectIdentifier.objects.filter(subject__in=subject_ids).delete()
        # The moves into the person stay (a later erasure follows them), their hashes go.
        IdentifierMove.objects.filter(to_subject__in=subject_ids).update(value_hash="")
        states_removed, _ = ConsentState.objects.filter(subject__in=subject_ids).delete()
        DataSubject.objects.filter(pk__in=subject_ids).update(
            erased_at=timezone.now(), is_identified=False
        )
        PrivacyRequestLog.objects.create(
            organization=organization,
            action=PrivacyRequestLog.Action.ERASURE,
            subject_uid=subject.uid,
            performed_by=performed_by[:64],
            details={
                "identifiers_removed": identifiers_removed,
                "suppressions": len(suppressions),
                "events_deidentified": deidentified,
                "linked_subjects": len(subject_ids) - 1,
            },
        )
    return ErasureResult(
        str(subject.uid), identifiers_removed, len(suppressions), deidentified, states_removed
    )


def _lock_subjects(subject_ids: list[int]) -> None:
    """Lock the rows until the transaction ends, in id order (after the person's own row, so
    two erasures deadlock only where identifiers moved both ways between their subjects)."""
    list(
        DataSubject.objects.select_for_update()
        .filter(pk__in=subject_ids)
        .order_by("pk")
        .values_list("pk", flat=True)
    )


def _linked_subject_ids(subject_id: int) -> list[int]:
    """The subject and, transitively, every subject an identifier moved away from into it."""
    found, frontier = {subject_id}, {subject_id}
    while frontier:
        sources = set(
            IdentifierMove.objects.filter(to_subject__in=frontier).values_list(
                "from_subject", flat=True
            )
        )
        frontier = sources - found
        found |= frontier
    return sorted(found)


def _erasure_suppressions(organization, current_id: int, subject_ids: list[int]) -> list:
    """Never contact the person's addresses and phones again; keep the data-use refusals in
    force (the current subject's state) under every identifier the person had."""
    identifiers = list(
        SubjectIdentifier.objects.filter(subject__in=subject_ids).values_list("kind", "value_hash")
    )
    refused_data_uses = list(
        ConsentState.objects.filter(
            subject_id=current_id, granted=False, purpose__kind=Purpose.Kind.DATA_USE_OPT_OUT
        ).values_list("purpose__key", flat=True)
    )
    never_contact = [
        (kind, value_hash, "") for kind, value_hash in identifiers if kind in NEVER_CONTACT_KINDS
    ]
    kept_refusals = [
        (kind, value_hash, key) for kind, value_hash in identifiers for key in refused_data_uses
    ]
    return [
        Suppression(
            organization=organization,
            kind=kind,
            value_hash=value_hash,
            purpose_key=purpose_key,
            reason="erasure",
        )
        for kind, value_hash, purpose_key in never_contact + kept_refusals
    ]
