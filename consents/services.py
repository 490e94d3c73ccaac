"""Writes. `record_consent` is the one path by which any consent decision enters the system."""

import hashlib
import json
import secrets
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from ipaddress import IPv4Address, IPv6Address, ip_address, ip_network

from django.db import IntegrityError, transaction
from django.utils import timezone

from consents import ledger, rows
from consents.identifiers import IDENTIFIER_KINDS, hash_identifier, normalize_identifier
from consents.jurisdiction import normalize_jurisdiction
from consents.models import (
    ConsentEvent,
    ConsentMode,
    ConsentState,
    DataSubject,
    IdempotencyRecord,
    IdentifierMove,
    Notice,
    Organization,
    Purpose,
    Source,
    SubjectIdentifier,
    Suppression,
    WebhookDelivery,
    WebhookEndpoint,
)
from consents.records import record_from_values

# Error messages (tests import them).
NO_IDENTIFIER = "Give at least one identifier: email, user_id, visitor_id or phone."
NO_CHOICES = "Give at least one choice."
UNKNOWN_PURPOSE = "Unknown purpose {key!r}."
NOT_A_BOOLEAN = "Must be true or false."
ALWAYS_ON_REFUSED = "{key!r} is strictly necessary and cannot be refused."
UNKNOWN_NOTICE = "Unknown notice version {version!r}."
UNPUBLISHED_NOTICE = "Notice version {version!r} is not published."
UNKNOWN_SOURCE = "Unknown source {source!r}."
IDEMPOTENCY_CONFLICT = "This idempotency key was already used for a different request."
IDEMPOTENCY_GONE = (
    "This idempotency key was used for a decision that retention has since removed; "
    "a new decision needs a new key."
)
TOO_OLD = "The decision is older than the oldest submission we accept."

# Offline banners retry for a while; older decisions are refused rather than back-dated.
MAX_DECISION_AGE = timedelta(days=400)
USER_AGENT_MAX = 256
STRONG_IDENTIFIERS = ("user_id", "email", "phone")
RESOLVE_ATTEMPTS = 5


class ConsentValidationError(Exception):
    """Bad input to a consent write: `errors` maps field names to lists of messages."""

    def __init__(self, errors: dict):
        super().__init__(errors)
        self.errors = errors


class IdempotencyConflict(Exception):
    pass


class SubjectContention(Exception):
    """Concurrent writes kept moving the identifiers of this one; it may be retried."""


@dataclass
class ConsentResult:
    subject: DataSubject
    events: list[ConsentEvent]
    states: list[ConsentState]  # the state rows this call created or moved forward
    replayed: bool = False
    stored_response: dict | None = None
    purposes: dict[str, Purpose] = field(default_factory=dict)


@dataclass(frozen=True)
class Decision:
    """A validated decision, as the ledger will store it (one event per chosen purpose)."""

    organization: Organization
    purposes: dict[str, Purpose]  # key → purpose, for every chosen key
    choices: Mapping[str, bool]
    source: str
    source_by_purpose: Mapping[str, str]  # purposes decided by another source (GPC)
    actor: str
    notice: Notice | None
    jurisdiction: str
    ip_truncated: str | None
    user_agent: str | None
    site: object  # cookies.Site or None
    occurred_at: datetime | None  # the client's time, None to date it when recorded
    client_event_id: str


def truncate_ip(address: str | None) -> str | None:
    """Keep the network, drop the host: IPv4 to /24, IPv6 to /48."""
    if not address:
        return None
    try:
        parsed = ip_address(address.strip())
    except ValueError:
        return None
    if isinstance(parsed, IPv6Address) and parsed.ipv4_mapped:
        parsed = parsed.ipv4_mapped
    prefix = 24 if isinstance(parsed, IPv4Address) else 48
    return str(ip_network(f"{parsed}/{prefix}", strict=False).network_address)


PURPOSE_KEY_MAX_LENGTH = Purpose._meta.get_field("key").max_length


def request_digest(payload: dict) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def _printable(key) -> str:
    """The key as an error message can show it: lone surrogates and other text that cannot be
    encoded as UTF-8 are escaped (the answer would fail to encode otherwise)."""
    return str(key).encode("utf-8", "backslashreplace").decode("utf-8")


def _could_be_purpose_key(key) -> bool:
    return (
        isinstance(key, str)
        and 0 < len(key) <= PURPOSE_KEY_MAX_LENGTH
        and "\x00" not in key
        and _printable(key) == key
    )


def _validate(
    organization: Organization,
    identifiers: Mapping[str, str] | None,
    choices: Mapping[str, bool],
    source: str,
    notice_version: str | None,
    source_by_purpose: Mapping[str, str],
):
    errors: dict = {}
    normalized: dict[str, str] = {}
    for kind, value in (identifiers or {}).items():
        if value in (None, ""):
            continue
        if kind not in IDENTIFIER_KINDS:
            errors.setdefault("subject", {})[kind] = ["Unknown identifier type."]
            continue
        try:
            normalized[kind] = normalize_identifier(kind, value)
        except Exception as exc:  # ValidationError or type errors from odd input
            messages = getattr(exc, "messages", [str(exc)])
            errors.setdefault("subject", {})[kind] = messages
    if identifiers is not None and not normalized and "subject" not in errors:
        errors["subject"] = [NO_IDENTIFIER]
    if not choices:
        errors["choices"] = [NO_CHOICES]
    # Read fresh, not from the purposes cache: a write stores the purpose's validity and mode
    # as they are now (an edit in another process may not have reached its cache yet).
    # Keys no purpose can have (NUL, lone surrogates, too long) never reach the database.
    possible = [key for key in choices if _could_be_purpose_key(key)]
    purposes = {p.key: p for p in _purposes_now(organization, possible)}
    for key, value in choices.items():
        purpose = purposes.get(key)
        if purpose is None:
            shown = _printable(key)
            errors.setdefault("choices", {})[shown] = [UNKNOWN_PURPOSE.format(key=shown)]
        elif not isinstance(value, bool):
            errors.setdefault("choices", {})[key] = [NOT_A_BOOLEAN]
        elif not value and {purpose.mode_eu, purpose.mode_us, purpose.mode_other} == {
            ConsentMode.ALWAYS_ON
        }:
            errors.setdefault("choices", {})[key] = [ALWAYS_ON_REFUSED.format(key=key)]
    for chosen_source in {source, *source_by_purpose.values()}:
        if chosen_source not in Source.values:
            errors["source"] = [UNKNOWN_SOURCE.format(source=chosen_source)]
    notice = None
    if notice_version:
        notice = Notice.objects.filter(organization=organization, version=notice_version).first()
        if notice is None:
            errors["notice_version"] = [UNKNOWN_NOTICE.format(version=notice_version)]
        elif not notice.is_published:
            errors["notice_version"] = [UNPUBLISHED_NOTICE.format(version=notice_version)]
    if errors:
        raise ConsentValidationError(errors)
    return normalized, purposes, notice


PURPOSE_FIELDS = (
    "id",
    "organization_id",
    "key",
    "kind",
    "mode_eu",
    "mode_us",
    "mode_other",
    "validity_days",
)


def _purposes_now(organization: Organization, keys: list) -> list[Purpose]:
    """The organization's purposes among `keys`, read from the database now."""
    keys = [key for key in keys if isinstance(key, str)]
    if not keys:
        return []
    return rows.fetch(
        Purpose,
        PURPOSE_FIELDS,
        f"organization_id = %s AND key IN ({rows.placeholders(len(keys))})",
        [organization.pk, *keys],
    )


@dataclass(frozen=True)
class KnownIdentifier:
    pk: int
    kind: str
    value_hash: str
    subject_id: int


def _owners(known: dict) -> dict:
    return {kind: row.subject_id for kind, row in known.items()}


def _known_identifiers(organization: Organization, hashes: dict[str, str]) -> dict:
    """kind → KnownIdentifier for the identifiers (kind → hash) already on record."""
    marks = rows.placeholders(len(hashes))
    where = f"organization_id = %s AND kind IN ({marks}) AND value_hash IN ({marks})"
    columns = "id, kind, value_hash, subject_id"
    sql = f"SELECT {columns} FROM consents_subjectidentifier WHERE {where}"  # noqa: S608
    found = [
        KnownIdentifier(*row) for row in rows.run(sql, [organization.pk, *hashes, *hashes.values()])
    ]
    return {row.kind: row for row in found if hashes.get(row.kind) == row.value_hash}


SUBJECT_FIELDS = (
    "id",
    "organization_id",
    "uid",
    "chain_length",
    "chain_head_hash",
    "is_identified",
)


def _lock_subject(pk: int) -> DataSubject | None:
    """The subject row, locked until the transaction ends (PostgreSQL; SQLite locks the file);
    None when it is gone (retention deleted it)."""
    found = rows.fetch(DataSubject, SUBJECT_FIELDS, "id = %s", [pk], for_update=True)
    return found[0] if found else None


def _identifier_hashes(organization: Organization, normalized: dict[str, str]) -> dict:
    return {
        kind: hash_identifier(organization.identifier_secret, kind, value)
        for kind, value in normalized.items()
    }


def _resolve_subject(organization: Organization, hashes: dict[str, str]) -> DataSubject:
    """The subject the identifiers (kind → hash) name, locked, with all of them linked to it;
    or, when none is on record, a new subject not yet saved (`is_new`), which
    `_save_new_subject` stores once its chain is known."""
    identified = any(k in hashes for k in STRONG_IDENTIFIERS)
    known = _known_identifiers(organization, hashes)
    for attempt in range(1, RESOLVE_ATTEMPTS + 1):
        if not known:
            subject = DataSubject(organization=organization, is_identified=identified)
            subject.is_new = True
            return subject
        # A strong identifier (user id, email, phone) wins over a browser's visitor id.
        strongest = next(k for k in (*STRONG_IDENTIFIERS, "visitor_id") if k in known)
        subject = _lock_subject(known[strongest].subject_id)
        # Until the lock was ours another writer could move one of these identifiers to
        # another subject, or retention or erasure remove them: what was read may be stale.
        again = _known_identifiers(organization, hashes)
        if subject is not None and _owners(again) == _owners(known):
            break
        if attempt == RESOLVE_ATTEMPTS:
            raise SubjectContention("The subject kept changing under this write; retry.")
        known = again
    for kind, value_hash in sorted(hashes.items()):  # the lock order of _save_new_subject
        row = known.get(kind)
        if row is None:
            try:
                with transaction.atomic():
                    SubjectIdentifier.objects.create(
                        organization=organization,
                        subject=subject,
                        kind=kind,
                        value_hash=value_hash,
                    )
            except IntegrityError:
                row = SubjectIdentifier.objects.get(
                    organization=organization, kind=kind, value_hash=value_hash
                )
        if row is not None and row.subject_id != subject.pk:
            # The browser (or address) now belongs to this person; their earlier history
            # stays on the old subject's chain, later decisions follow the person. The move is
            # kept, so that erasing the person reaches that history too.
            SubjectIdentifier.objects.filter(pk=row.pk).update(subject=subject)
            IdentifierMove.objects.create(
                organization=organization,
                kind=kind,
                value_hash=value_hash,
                from_subject_id=row.subject_id,
                to_subject=subject,
            )
    if identified and not subject.is_identified:
        subject.is_identified = True
    return subject


def _save_new_subject(organization: Organization, subject: DataSubject, hashes: dict) -> bool:
    """Insert a new subject (chain head included) and link its identifiers; False, with
    nothing kept, when a concurrent request linked one of them first."""
    rows.insert([subject])
    linked = rows.insert_new(
        [
            SubjectIdentifier(
                organization=organization, subject=subject, kind=kind, value_hash=value_hash
            )
            # In one order for every writer: two new visitors' writes naming the same
            # identifiers in another order would each wait for the other's row (a deadlock).
            for kind, value_hash in sorted(hashes.items())
        ]
    )
    if linked < len(hashes):
        DataSubject.objects.filter(pk=subject.pk).delete()
        return False
    return True


def record_consent(
    *,
    organization: Organization,
    identifiers: Mapping[str, str] | None = None,
    subject: DataSubject | None = None,
    choices: Mapping[str, bool],
    source: str,
    actor: str,
    notice_version: str | None = None,
    jurisdiction: str = "",
    ip: str | None = None,
    user_agent: str = "",
    site=None,
    occurred_at: datetime | None = None,
    idempotency_key: str = "",
    source_by_purpose: Mapping[str, str] | None = None,
    touch_activity: bool = True,
) -> ConsentResult:
    """Validate and record choices: append to the ledger, update state, queue webhooks.

    All of it happens in one transaction; on any error nothing is written. Raises
    ConsentValidationError for bad input and IdempotencyConflict when `idempotency_key`
    was used before for another request; a replay of the same request returns the stored
    answer with `replayed=True`. The subject is named by `identifiers` (raw values) or, for
    internal callers that only hold the subject (retention), by `subject`.
    """
    if (identifiers is None) == (subject is None):
        raise ValueError("Name the subject by identifiers or by subject, not both.")
    source_by_purpose = dict(source_by_purpose or {})
    normalized, purposes, notice = _validate(
        organization, identifiers, choices, source, notice_version, source_by_purpose
    )
    now = timezone.now()
    claimed_at = occurred_at
    if occurred_at is not None and occurred_at > now:
        # A client clock ahead: dated when recorded. Kept, it would outrank (in the state) a
        # later decision the server dates, such as a refusal made a minute afterwards.
        occurred_at = None
    if occurred_at is not None and occurred_at < now - MAX_DECISION_AGE:
        raise ConsentValidationError({"occurred_at": [TOO_OLD]})
    jurisdiction = normalize_jurisdiction(jurisdiction) or organization.default_jurisdiction
    digest = ""
    if idempotency_key:
        digest = request_digest(
            {
                "i": normalized,
                "c": dict(choices),
                "s": source,
                "n": notice_version,
                "o": source_by_purpose,
                "t": site.pk if site else None,
                "j": jurisdiction,
                "w": claimed_at.isoformat() if claimed_at else None,
            }
        )
    decision = Decision(
        organization=organization,
        purposes=purposes,
        choices=choices,
        source=source,
        source_by_purpose=source_by_purpose,
        actor=actor[:64],
        notice=notice,
        jurisdiction=jurisdiction,
        ip_truncated=truncate_ip(ip),
        user_agent=(user_agent or "")[:USER_AGENT_MAX] or None,
        site=site,
        occurred_at=occurred_at,
        client_event_id=idempotency_key[:80],
    )
    try:
        # A replay is found by the idempotency record's unique key at the end: the common
        # request (a new key) spends no look-up on it, and a replay rolls back below.
        with transaction.atomic():
            result = _append(decision, normalized, subject, touch_activity)
            if idempotency_key:
                record = IdempotencyRecord(
                    organization=organization,
                    key=idempotency_key,
                    request_digest=digest,
                    response={
                        "subject": str(result.subject.uid),
                        "events": [e.pk for e in result.events],
                    },
                )
                rows.insert([record])
            return result
    except IntegrityError:
        if not idempotency_key:
            raise
        # A concurrent request with the same key committed first.
        replay = _find_replay(organization, idempotency_key, digest)
        if replay is None:
            raise
        return replay


def _find_replay(organization, key: str, digest: str) -> ConsentResult | None:
    record = IdempotencyRecord.objects.filter(organization=organization, key=key).first()
    if record is None:
        return None
    if record.request_digest != digest:
        raise IdempotencyConflict(IDEMPOTENCY_CONFLICT)
    subject = DataSubject.objects.filter(uid=record.response["subject"]).first()
    if subject is None:  # retention removed the subject the key answered for
        raise IdempotencyConflict(IDEMPOTENCY_GONE)
    events = list(
        ConsentEvent.objects.filter(pk__in=record.response["events"]).select_related("purpose")
    )
    states = list(ConsentState.objects.filter(subject=subject).select_related("purpose"))
    return ConsentResult(subject=subject, events=events, states=states, replayed=True)


def _append(
    decision: Decision, normalized: dict, known_subject, touch_activity: bool
) -> ConsentResult:
    organization = decision.organization
    hashes = _identifier_hashes(organization, normalized)
    for _attempt in range(3):
        if known_subject is not None:
            subject = _lock_subject(known_subject.pk)
        else:
            subject = _resolve_subject(organization, hashes)
        # Stamped under the subject's lock: a chain's recorded times follow its order, and a
        # decision without a client time is dated when it takes its place in the chain.
        now = timezone.now()
        events = _chain_events(decision, subject, recorded_at=now)
        subject.chain_length = events[-1].seq
        subject.chain_head_hash = events[-1].hash
        if touch_activity:
            subject.last_activity_at = now
        if getattr(subject, "is_new", False):
            # Nobody else can see (let alone lock) a row this transaction inserts.
            if not _save_new_subject(organization, subject, hashes):
                continue  # a concurrent request created the subject first: look again
        else:
            written = ["chain_length", "chain_head_hash", "is_identified"]
            rows.update(subject, [*written, "last_activity_at"] if touch_activity else written)
        for event in events:
            event.subject = subject
        rows.insert(events)
        break
    else:
        raise IntegrityError("Could not resolve the subject under concurrent writes; retry.")
    purposes = decision.purposes
    states = _project(organization, subject, events, purposes, decision.notice)
    if decision.source == Source.PREFERENCE_CENTER:
        _lift_suppressions(organization, normalized, events, purposes)
    _queue_webhooks(organization, subject, events)
    return ConsentResult(subject=subject, events=events, states=states, purposes=purposes)


def _chain_events(decision: Decision, subject, recorded_at: datetime) -> list[ConsentEvent]:
    """The decision's events (one per purpose, in key order), chained after the subject's
    head: numbered, hashed, not yet saved."""
    events: list[ConsentEvent] = []
    prev_hash = subject.chain_head_hash
    seq = subject.chain_length
    for key in sorted(decision.choices):
        seq += 1
        salt = secrets.token_hex(16)
        event = ConsentEvent(
            organization=decision.organization,
            purpose=decision.purposes[key],
            site=decision.site,
            notice=decision.notice,
            granted=decision.choices[key],
            source=decision.source_by_purpose.get(key, decision.source),
            jurisdiction=decision.jurisdiction,
            occurred_at=decision.occurred_at or recorded_at,
            recorded_at=recorded_at,
            actor=decision.actor,
            ip_truncated=decision.ip_truncated,
            user_agent=decision.user_agent,
            pii_salt=salt,
            pii_digest=ledger.pii_digest(salt, decision.ip_truncated, decision.user_agent),
            client_event_id=decision.client_event_id,
            seq=seq,
            prev_hash=prev_hash,
        )
        event.hash = ledger.event_hash(
            event_record(
                event,
                decision.organization,
                subject,
                decision.purposes[key],
                decision.site,
                decision.notice,
            )
        )
        prev_hash = event.hash
        events.append(event)
    return events


def event_record(event: ConsentEvent, organization, subject, purpose, site, notice) -> dict:
    """The canonical record of an event not yet saved (see consents.records)."""
    return record_from_values(
        {
            "id": None,
            "organization__slug": organization.slug,
            "subject__uid": subject.uid,
            "seq": event.seq,
            "purpose__key": purpose.key,
            "granted": event.granted,
            "source": event.source,
            "notice__version": notice.version if notice else "",
            "jurisdiction": event.jurisdiction,
            "site__key": site.key if site else "",
            "occurred_at": event.occurred_at,
            "recorded_at": event.recorded_at,
            "actor": event.actor,
            "ip_truncated": event.ip_truncated,
            "user_agent": event.user_agent,
            "pii_salt": event.pii_salt,
            "pii_digest": event.pii_digest,
            "client_event_id": event.client_event_id,
            "prev_hash": event.prev_hash,
            "hash": "",
        }
    )


STATE_FIELDS = ("id", "purpose_id", "decided_at")  # read to decide whether a state moves
STATE_UPDATED = ["granted", "event", "source", "notice_version", "decided_at", "expires_at"]


def _project(organization, subject, events, purposes, notice) -> list[ConsentState]:
    """Update the state rows; an older decision arriving late never overwrites a newer one."""
    current = {}
    if not getattr(subject, "is_new", False):  # a subject created just now has no state yet
        purpose_ids = [e.purpose_id for e in events]
        current = {
            s.purpose_id: s
            for s in rows.fetch(
                ConsentState,
                STATE_FIELDS,
                f"subject_id = %s AND purpose_id IN ({rows.placeholders(len(purpose_ids))})",
                [subject.pk, *purpose_ids],
            )
        }
    to_create, to_update = [], []
    for event in events:
        purpose = purposes[event.purpose.key]
        expires_at = _expiry(event.occurred_at, purpose.validity_days) if event.granted else None
        values = {
            "granted": event.granted,
            "event": event,
            "source": event.source,
            "notice_version": notice.version if notice else "",
            "decided_at": event.occurred_at,
            "expires_at": expires_at,
        }
        state = current.get(event.purpose_id)
        if state is None:
            to_create.append(
                ConsentState(organization=organization, subject=subject, purpose=purpose, **values)
            )
        elif event.occurred_at >= state.decided_at:
            for name, value in values.items():
                setattr(state, name, value)
            to_update.append(state)
    rows.insert(to_create)
    for state in to_update:
        rows.update(state, STATE_UPDATED)
    return to_create + to_update


def _expiry(decided_at: datetime, validity_days: int | None) -> datetime | None:
    """When a grant lapses: None without a validity, or with one that ends past year 9999."""
    if not validity_days:
        return None
    try:
        return decided_at + timedelta(days=validity_days)
    except OverflowError:
        return None


def _lift_suppressions(organization, normalized, events, purposes) -> None:
    """A person who opts in again themselves lifts the erasure's records their grant
    contradicts: never-contact on a marketing grant, a kept refusal on its purpose's grant."""
    marketing = {Purpose.Kind.COMMUNICATION_CHANNEL, Purpose.Kind.MARKETING_TOPIC}
    granted = {e.purpose.key for e in events if e.granted}
    if not granted:
        return
    lifted = granted | ({""} if any(purposes[k].kind in marketing for k in granted) else set())
    for kind, value in normalized.items():
        value_hash = hash_identifier(organization.identifier_secret, kind, value)
        Suppression.objects.filter(
            organization=organization, kind=kind, value_hash=value_hash, purpose_key__in=lifted
        ).delete()


def webhook_payload(organization, subject, event: ConsentEvent) -> dict:
    return {
        "type": "consent.changed",
        "organization": organization.slug,
        "subject": str(subject.uid),
        "event_id": event.pk,
        "purpose": event.purpose.key,
        "granted": event.granted,
        "source": event.source,
        "jurisdiction": event.jurisdiction,
        "occurred_at": ledger.format_timestamp(event.occurred_at),
        "hash": event.hash,
    }


def _queue_webhooks(organization, subject, events) -> None:
    """A delivery per active endpoint of the organization and event it subscribed to (an
    endpoint with no purposes chosen takes all)."""
    through = WebhookEndpoint.purposes.through._meta
    endpoint_column = through.get_field("webhookendpoint").column
    purpose_column = through.get_field("purpose").column
    joined = f"{through.db_table} p ON p.{endpoint_column} = e.id"
    where = "e.organization_id = %s AND e.is_active"
    tables = f"consents_webhookendpoint e LEFT JOIN {joined}"
    sql = f"SELECT e.id, p.{purpose_column} FROM {tables} WHERE {where}"  # noqa: S608
    subscribed = rows.run(sql, [organization.pk])
    if not subscribed:
        return
    wanted: dict[int, set] = {}
    for endpoint_id, purpose_id in subscribed:
        purposes = wanted.setdefault(endpoint_id, set())
        if purpose_id is not None:
            purposes.add(purpose_id)
    deliveries = [
        WebhookDelivery(
            endpoint_id=endpoint_id,
            event=event,
            payload=webhook_payload(organization, subject, event),
        )
        for endpoint_id, purpose_ids in sorted(wanted.items())
        for event in events
        if not purpose_ids or event.purpose_id in purpose_ids
    ]
    rows.insert(deliveries)
