"""Reads: current state, check-before-send and ledger queries. All checks read ConsentState."""

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from django.db import connection
from django.db.models import (
    BooleanField,
    DateTimeField,
    FilteredRelation,
    Q,
    Value,
)
from django.utils import timezone

from consent_platform import memo
from consents import prepared, tallies
from consents.identifiers import hash_identifiers, identifier_hash, normalize_identifier
from consents.jurisdiction import default_allowed, jurisdiction_group, normalize_jurisdiction
from consents.models import (
    ConsentState,
    DataSubject,
    Organization,
    Purpose,
    SubjectIdentifier,
    Suppression,
)

MARKETING_KINDS = (Purpose.Kind.COMMUNICATION_CHANNEL, Purpose.Kind.MARKETING_TOPIC)


PURPOSE_CACHE_SECONDS = 30


def purposes_cache_key(organization_id: int) -> str:
    return f"kz:purposes:{organization_id}"


def organization_purposes(organization: Organization, wanted=()) -> dict[str, Purpose]:
    """The organization's purposes by key; cached like API keys. Do not modify the result.

    Every check and every write names purposes, so they are cached for PURPOSE_CACHE_SECONDS
    (consent_platform.memo). Saving or deleting a purpose drops the entry (consents.signals);
    when one of the `wanted` keys is missing the purposes are read again, so a purpose added
    through another process is usable at once."""
    cache_key = purposes_cache_key(organization.pk)

    def load():
        return {p.key: p for p in Purpose.objects.filter(organization=organization)}

    purposes = memo.get_or_load(cache_key, load, PURPOSE_CACHE_SECONDS)
    missing = any(key not in purposes for key in wanted)
    # At most one re-read a second per process: unknown keys sent on purpose must not turn
    # every request into a reload (and an eviction for every other process).
    if missing and memo.first_in(f"{cache_key}:reread", 1.0):
        memo.forget(cache_key)
        purposes = memo.get_or_load(cache_key, load, PURPOSE_CACHE_SECONDS)
    return purposes


def purpose_by_key(organization: Organization, key: str) -> Purpose | None:
    """The organization's purpose with this key, or None."""
    return organization_purposes(organization, wanted=(key,)).get(key)


def subject_by_identifier(organization: Organization, kind: str, value: str) -> DataSubject | None:
    """The subject an identifier names, or None. Raises ValidationError for a malformed value."""
    value_hash = identifier_hash(organization.identifier_secret, kind, value)
    row = (
        SubjectIdentifier.objects.filter(
            organization=organization, kind=kind, value_hash=value_hash
        )
        .select_related("subject")
        .first()
    )
    return row.subject if row else None


@dataclass
class PurposeDecision:
    purpose: Purpose
    allowed: bool
    decision: str | None  # granted | denied | None (never decided)
    basis: str  # explicit | default | expired
    decided_at: object = None
    source: str | None = None
    notice_version: str | None = None
    expires_at: object = None


def effective_decision(
    purpose: Purpose, state: ConsentState | None, group: str, now
) -> PurposeDecision:
    """The one place that turns a stored decision (or its absence) into allowed/not allowed."""
    mode = purpose.mode_for(group)
    if mode == "always_on":
        return PurposeDecision(
            purpose, True, "granted" if state and state.granted else None, "default"
        )
    if state is None:
        return PurposeDecision(purpose, default_allowed(mode), None, "default")
    decision = "granted" if state.granted else "denied"
    expired = state.granted and state.expires_at is not None and state.expires_at <= now
    return PurposeDecision(
        purpose,
        state.granted and not expired,
        decision,
        "expired" if expired else "explicit",
        state.decided_at,
        state.source,
        state.notice_version,
        state.expires_at,
    )


def consent_state_for_subject(
    organization: Organization,
    subject: DataSubject | None,
    jurisdiction: str = "",
    suppressed: frozenset[str] = frozenset(),
) -> list[PurposeDecision]:
    """The decision for every purpose of the organization, explicit or by default.

    `suppressed` holds the purpose keys of the suppressions kept for the identifier asked
    about (`suppressed_purpose_keys`); they win over the state and the default, as in
    `check_identifiers`."""
    group = jurisdiction_group(
        normalize_jurisdiction(jurisdiction) or organization.default_jurisdiction
    )
    states = {}
    if subject is not None:
        states = {s.purpose_id: s for s in ConsentState.objects.filter(subject=subject)}
    now = timezone.now()
    return [
        PurposeDecision(purpose, False, "denied", "suppressed")
        if consults_suppressions(purpose) and suppressed.intersection(suppression_keys(purpose))
        else effective_decision(purpose, states.get(purpose.pk), group, now)
        for purpose in organization.purposes.all()
    ]


def suppressed_purpose_keys(organization: Organization, kind: str, value: str) -> frozenset[str]:
    """The purpose_key of every suppression kept for an identifier ("" for all marketing).

    An erasure deletes the person's state but keeps these: without them the state would fall
    back to the default (often "allowed" in the US) while the check answers "suppressed"."""
    return identifiers_suppressed_purpose_keys(organization, {kind: value})


def identifiers_suppressed_purpose_keys(
    organization: Organization, identifiers: Mapping[str, str]
) -> frozenset[str]:
    """`suppressed_purpose_keys` of every identifier given (a write names a person by several,
    and the state it answers with is the one the state API gives for each), in one query."""
    if not identifiers:
        return frozenset()  # an empty Q() would match every suppression of the organization
    secret = organization.identifier_secret
    named = Q()
    for kind, value in identifiers.items():
        named |= Q(kind=kind, value_hash=identifier_hash(secret, kind, value))
    return frozenset(
        Suppression.objects.filter(named, organization=organization).values_list(
            "purpose_key", flat=True
        )
    )


@dataclass
class CheckResult:
    identifier: str
    allowed: bool
    reason: str


def check_identifiers(
    organization: Organization,
    purpose: Purpose,
    identifier_type: str,
    identifiers: Sequence[str],
    jurisdiction: str = "",
    normalized: Sequence[str] | None = None,
) -> list[CheckResult]:
    """Answer, in input order, whether each identifier may be used for `purpose`.

    One query for all identifiers (their states and suppressions). Values must already be
    valid: the API validates them and passes the `normalized` forms it computed.
    """
    secret = organization.identifier_secret
    if normalized is None:
        normalized = [normalize_identifier(identifier_type, value) for value in identifiers]
    hashes = hash_identifiers(secret, identifier_type, normalized)
    group = jurisdiction_group(
        normalize_jurisdiction(jurisdiction) or organization.default_jurisdiction
    )
    mode = purpose.mode_for(group)
    unique_hashes = list(dict.fromkeys(hashes))
    found, suppressed = _states_by_hash(
        organization, purpose, identifier_type, unique_hashes, consults_suppressions(purpose)
    )
    results = []
    allowed_count = 0
    for value, value_hash in zip(identifiers, hashes, strict=True):
        if value_hash in suppressed:
            result = CheckResult(value, False, "suppressed")
        elif mode == "always_on":
            result = CheckResult(value, True, "always_on")
        elif value_hash not in found or found[value_hash] is None:
            result = CheckResult(
                value, default_allowed(mode), "no_record" if mode == "opt_in" else "default_opt_out"
            )
        else:
            granted, expired = found[value_hash]
            if not granted:
                result = CheckResult(value, False, "denied")
            elif expired:
                result = CheckResult(value, False, "expired")
            else:
                result = CheckResult(value, True, "granted")
        allowed_count += result.allowed
        results.append(result)
    tally_checks(organization, purpose.key, len(results), allowed_count)
    return results


# The check's one query on PostgreSQL, as SQL: building it through the ORM cost more CPU than
# the database spends answering it. The identifiers' hashes travel as one comma-joined text
# (hex digests hold no comma): a 10,000-element array parameter cost more to quote in Python
# than the database spent on the look-up. As a set to join (rather than `= ANY`) they make
# the planner probe the indexes per hash; with `= ANY` it sometimes scanned the whole
# identifier table in parallel, 40% slower for 10,000 of 1,000,000 subjects. Whether a grant
# has expired is decided in SQL too, so no timestamp comes back to be parsed.
CHECK_SQL = """
SELECT i.value_hash, s.granted, s.expires_at <= statement_timestamp(), FALSE
FROM consents_subjectidentifier i
LEFT JOIN consents_consentstate s ON s.subject_id = i.subject_id AND s.purpose_id = %s
WHERE i.organization_id = %s AND i.kind = %s
  AND i.value_hash IN (SELECT unnest(string_to_array(%s, ',')))
"""
CHECK_SUPPRESSIONS_SQL = """
UNION ALL
SELECT value_hash, NULL, NULL, TRUE
FROM consents_suppression
WHERE organization_id = %s AND kind = %s AND purpose_key IN (%s, %s)
  AND value_hash IN (SELECT unnest(string_to_array(%s, ',')))
"""
ONE_HASH = "IN (SELECT unnest(string_to_array(%s, ',')))"


def check_query(
    organization, purpose, identifier_type, hashes: list[str], with_suppressions: bool
) -> tuple[str, list]:
    """The check's SQL and parameters on PostgreSQL (the bench runs the same text raw)."""
    joined = ",".join(hashes)
    sql = CHECK_SQL
    params = [purpose.pk, organization.pk, identifier_type, joined]
    if with_suppressions:
        sql += CHECK_SUPPRESSIONS_SQL
        params += [organization.pk, identifier_type, *suppression_keys(purpose), joined]
    return sql, params


def consults_suppressions(purpose: Purpose) -> bool:
    """Marketing answers to never-contact records; a data-use opt-out to the refusals an
    erasure kept (an erased person's "do not sell" must not turn back into the default)."""
    return purpose.kind in MARKETING_KINDS or purpose.kind == Purpose.Kind.DATA_USE_OPT_OUT


def suppression_keys(purpose: Purpose) -> tuple[str, str]:
    """The purpose_key values of the suppressions that answer for `purpose`: "" (all
    marketing) and its own key for marketing, its own key alone for anything else."""
    return ("" if purpose.kind in MARKETING_KINDS else purpose.key), purpose.key


def _states_by_hash(
    organization, purpose, identifier_type, hashes: list[str], with_suppressions: bool
) -> tuple[dict, set[str]]:
    """value_hash → (granted, expired) for identifiers whose subject decided on `purpose`
    (None for known identifiers without a decision), and the suppressed hashes. One query,
    whatever the list's length: the identifiers LEFT JOIN their state, UNION ALL the
    suppressions (which also cover addresses we hold no subject for)."""
    if not hashes:
        return {}, set()
    if connection.vendor == "postgresql":
        sql, params = check_query(organization, purpose, identifier_type, hashes, with_suppressions)
        if len(hashes) == 1 and prepared.enabled():
            # The single check, prepared: `=` rather than `= ANY`, so that the generic plan
            # costs what a custom one does and PostgreSQL keeps it.
            rows = prepared.fetch_prepared(sql.replace(ONE_HASH, "= %s"), params)
        else:
            with connection.cursor() as cursor:
                cursor.execute(sql, params)
                rows = cursor.fetchall()
    else:
        rows = _states_by_hash_orm(organization, purpose, identifier_type, hashes)
        if with_suppressions:
            rows = rows.union(
                Suppression.objects.filter(
                    organization=organization,
                    kind=identifier_type,
                    purpose_key__in=suppression_keys(purpose),
                    value_hash__in=hashes,
                ).values_list(
                    "value_hash",
                    Value(None, output_field=BooleanField()),
                    Value(None, output_field=DateTimeField()),
                    Value(True, output_field=BooleanField()),
                ),
                all=True,
            )
        now = timezone.now()
        rows = [
            (value_hash, granted, expires_at is not None and expires_at <= now, suppression)
            for value_hash, granted, expires_at, suppression in rows
        ]
    found: dict = {}
    suppressed: set[str] = set()
    for value_hash, granted, expired, is_suppression in rows:
        if is_suppression:
            suppressed.add(value_hash)
        else:
            found[value_hash] = None if granted is None else (granted, bool(expired))
    return found, suppressed


def _states_by_hash_orm(organization, purpose, identifier_type, hashes: list[str]):
    return (
        SubjectIdentifier.objects.filter(
            organization=organization, kind=identifier_type, value_hash__in=hashes
        )
        .annotate(
            state=FilteredRelation("subject__states", condition=Q(subject__states__purpose=purpose))
        )
        .values_list(
            "value_hash",
            "state__granted",
            "state__expires_at",
            Value(False, output_field=BooleanField()),
        )
    )


def tally_checks(organization: Organization, purpose_key: str, answered: int, allowed: int) -> None:
    """Count checks per day for the dashboard (batched in memory, see consents.tallies)."""
    tallies.count_checks(organization.pk, purpose_key, answered, allowed)
