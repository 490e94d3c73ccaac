"""Retention and erasure: what is past its time goes, the ledger still verifies, opt-outs stick."""

from datetime import timedelta

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import timezone

from consents.identifiers import identifier_hash
from consents.models import (
    ConsentEvent,
    ConsentState,
    DataSubject,
    IdentifierMove,
    PrivacyRequestLog,
    SubjectIdentifier,
    Suppression,
)
from consents.retention import apply_retention, ledger_maintenance
from consents.selectors import check_identifiers
from consents.services import record_consent
from consents.verification import verify_organization_ledger

pytestmark = pytest.mark.django_db


@pytest.fixture
def aged_ledger(organization):
    """An inactive visitor, an active visitor with old history, and an old identified person."""
    org = organization
    org.anonymous_event_retention_days = 30
    org.identified_event_retention_days = 60
    org.marketing_retention_days = 90
    org.save()
    now = timezone.now()
    old = now - timedelta(days=200)
    for identifiers, choices, when in [
        ({"visitor_id": "inactive-visitor-000001"}, {"analytics": True}, old),
        ({"visitor_id": "active-visitor-0000001"}, {"analytics": True}, old),
        ({"visitor_id": "active-visitor-0000001"}, {"advertising": False}, old),
        ({"visitor_id": "active-visitor-0000001"}, {"analytics": False}, now),
        ({"email": "old@example.com"}, {"marketing_email": True, "marketing_sms": False}, old),
        ({"email": "new@example.com"}, {"marketing_email": True}, now),
    ]:
        record_consent(
            organization=org,
            identifiers=identifiers,
            choices=choices,
            source="api",
            actor="t",
            ip="192.0.2.9",
            user_agent="UA",
            occurred_at=when,
        )
    # Backdate what happened "long ago": recorded time and activity (fixture set-up only).
    with ledger_maintenance():
        ConsentEvent._base_manager.filter(occurred_at__lt=now - timedelta(days=1)).update(
            recorded_at=old
        )
    for subject in DataSubject.objects.all():
        if not subject.events.filter(recorded_at__gte=now - timedelta(days=1)).exists():
            DataSubject.objects.filter(pk=subject.pk).update(last_activity_at=old)
    return org


def fix_hashes_after_backdating(org):
    """Backdating recorded_at changed hashed content: re-chain the fixture so it verifies."""
    from consents import ledger
    from consents.records import EVENT_VALUE_FIELDS, record_from_values

    for subject in DataSubject.objects.filter(organization=org):
        prev = ""
        for row in (
            ConsentEvent.objects.filter(subject=subject).order_by("seq").values(*EVENT_VALUE_FIELDS)
        ):
            record = record_from_values(row)
            record["prev_hash"] = prev
            new_hash = ledger.event_hash(record)
            with ledger_maintenance():
                ConsentEvent._base_manager.filter(pk=row["id"]).update(
                    prev_hash=prev, hash=new_hash
                )
            prev = new_hash
        DataSubject.objects.filter(pk=subject.pk).update(chain_head_hash=prev)


@pytest.fixture
def retained(aged_ledger):
    fix_hashes_after_backdating(aged_ledger)
    assert verify_organization_ledger(aged_ledger).ok
    return aged_ledger


def test_dry_run_reports_and_changes_nothing(retained, capsys):
    before = (ConsentEvent.objects.count(), DataSubject.objects.count())
    call_command("apply_retention", "--org", retained.slug, "--dry-run")
    out = capsys.readouterr().out
    assert "Would delete 1 anonymous subjects and 2 events" in out
    assert "lapse 1 marketing grants" in out
    assert (ConsentEvent.objects.count(), DataSubject.objects.count()) == before
    assert not PrivacyRequestLog.objects.exists()


def test_retention_removes_what_is_past_its_time_and_ledger_still_verifies(retained):
    dry = apply_retention(retained, dry_run=True)
    report = apply_retention(retained)
    assert report.as_dict() == {**dry.as_dict(), "dry_run": False}
    assert report.subjects_deleted == 1 and report.events_deleted == 2
    assert not SubjectIdentifier.objects.filter(
        kind="visitor_id", subject__events__isnull=True
    ).exists()
    active = DataSubject.objects.get(identifiers__kind="visitor_id")
    # Its oldest event (the superseded analytics grant) went; the advertising refusal stays
    # because the current state rests on it.
    assert active.chain_anchor_seq == 1
    assert list(active.events.values_list("seq", flat=True)) == [2, 3]
    old_person = DataSubject.objects.get(
        identifiers__kind="email",
        is_identified=True,
        last_activity_at__lt=timezone.now() - timedelta(days=1),
    )
    old_events = ConsentEvent.objects.filter(subject=old_person, source="api")
    assert all(e.ip_truncated is None and e.user_agent is None for e in old_events)
    lapsed = ConsentState.objects.get(subject=old_person, purpose__key="marketing_email")
    assert lapsed.granted is False and lapsed.source == "retention"
    assert (
        ConsentState.objects.get(subject=old_person, purpose__key="marketing_sms").granted is False
    )
    report = verify_organization_ledger(retained)
    assert report.ok, report.problems
    assert PrivacyRequestLog.objects.filter(action="retention").count() == 1


def test_an_active_visitors_event_kept_past_the_period_loses_its_personal_data(retained):
    """The advertising refusal is older than the anonymous period; it stays because the state
    rests on it, but its IP address and user agent go like those of the events removed."""
    dry = apply_retention(retained, dry_run=True)
    report = apply_retention(retained)
    assert report.as_dict() == {**dry.as_dict(), "dry_run": False}
    active = DataSubject.objects.get(identifiers__kind="visitor_id")
    kept, recent = active.events.order_by("seq")
    assert (kept.ip_truncated, kept.user_agent, kept.pii_salt) == (None, None, None)
    assert (recent.ip_truncated, recent.user_agent) == ("192.0.2.0", "UA")
    assert verify_organization_ledger(retained).ok


def test_retention_then_export_verifies(retained, tmp_path):
    apply_retention(retained)
    path = tmp_path / "after.ndjson"
    call_command("export_events", "--org", retained.slug, "--output", str(path))
    call_command("verify_events", str(path), "--org", retained.slug)


def test_erasure_keeps_a_suppression_that_still_blocks_marketing(organization, capsys):
    record_consent(
        organization=organization,
        identifiers={"email": "gone@example.com", "phone": "+4915100000001"},
        choices={"marketing_email": True},
        source="api",
        actor="t",
        ip="192.0.2.1",
    )
    call_command("erase_subject", "--org", organization.slug, "--email", "Gone@example.com")
    assert "2 suppression records kept" in capsys.readouterr().out
    assert not SubjectIdentifier.objects.exists() and not ConsentState.objects.exists()
    assert ConsentEvent.objects.get().ip_truncated is None
    assert Suppression.objects.count() == 2
    # An old mailing list re-imports the address: still blocked.
    record_consent(
        organization=organization,
        identifiers={"email": "gone@example.com"},
        choices={"marketing_email": True},
        source="import",
        actor="t",
    )
    result = check_identifiers(
        organization, organization.purpose_map["marketing_email"], "email", ["gone@example.com"]
    )
    assert (result[0].allowed, result[0].reason) == (False, "suppressed")
    log = PrivacyRequestLog.objects.get(action="erasure")
    assert "gone" not in str(log.details)
    assert verify_organization_ledger(organization).ok


def test_opting_in_again_themselves_lifts_the_suppression(organization):
    record_consent(
        organization=organization,
        identifiers={"email": "back@example.com"},
        choices={"marketing_email": False},
        source="api",
        actor="t",
    )
    call_command("erase_subject", "--org", organization.slug, "--email", "back@example.com")
    record_consent(
        organization=organization,
        identifiers={"email": "back@example.com"},
        choices={"marketing_email": True},
        source="preference_center",
        actor="subject",
    )
    result = check_identifiers(
        organization, organization.purpose_map["marketing_email"], "email", ["back@example.com"]
    )
    assert result[0].reason == "granted"


def test_erasure_command_errors_are_readable(organization):
    with pytest.raises(CommandError, match="No subject"):
        call_command("erase_subject", "--org", organization.slug, "--email", "nobody@example.com")
    with pytest.raises(CommandError, match="Invalid email"):
        call_command("erase_subject", "--org", organization.slug, "--email", "not-an-email")
    with pytest.raises(CommandError, match="exactly one"):
        call_command("erase_subject", "--org", organization.slug)


def check(organization, purpose_key, kind, value, jurisdiction="US-CA"):
    [result] = check_identifiers(
        organization, organization.purpose_map[purpose_key], kind, [value], jurisdiction
    )
    return result.allowed, result.reason


def test_erasure_keeps_a_do_not_sell_opt_out_under_every_identifier(organization):
    record_consent(
        organization=organization,
        identifiers={"email": "ca@example.com", "visitor_id": "visitor-0123456789abcdef"},
        choices={"sale_share": False, "targeted_advertising": True},
        source="preference_center",
        actor="t",
        jurisdiction="US-CA",
    )
    assert check(organization, "sale_share", "email", "ca@example.com") == (False, "denied")
    call_command("erase_subject", "--org", organization.slug, "--email", "ca@example.com")

    for kind, value in (("email", "ca@example.com"), ("visitor_id", "visitor-0123456789abcdef")):
        assert check(organization, "sale_share", kind, value) == (False, "suppressed")
    # Only refusals are kept: a grant the person gave is not turned into a refusal.
    allowed = check(organization, "targeted_advertising", "email", "ca@example.com")
    assert allowed == (True, "default_opt_out")
    # Marketing stays blocked for the address, as before.
    assert check(organization, "marketing_email", "email", "ca@example.com")[1] == "suppressed"

    # The person opts in to sale again themselves: that refusal is lifted, marketing is not.
    record_consent(
        organization=organization,
        identifiers={"email": "ca@example.com"},
        choices={"sale_share": True},
        source="preference_center",
        actor="subject",
        jurisdiction="US-CA",
    )
    assert check(organization, "sale_share", "email", "ca@example.com") == (True, "granted")
    assert check(organization, "marketing_email", "email", "ca@example.com")[1] == "suppressed"


def test_an_erased_person_is_not_contacted_by_their_account_id_either(organization):
    marketing_email = organization.purpose_map["marketing_email"]
    marketing_email.mode_us = "opt_out"
    marketing_email.save()
    record_consent(
        organization=organization,
        identifiers={"user_id": "crm-4711", "email": "acct@example.com"},
        choices={"marketing_email": False},
        source="preference_center",
        actor="t",
        jurisdiction="US-CA",
    )
    call_command("erase_subject", "--org", organization.slug, "--user-id", "crm-4711")
    # Opt-out in the US here: without a record the default would allow it.
    for kind, value in (("user_id", "crm-4711"), ("email", "acct@example.com")):
        assert check(organization, "marketing_email", kind, value) == (False, "suppressed")


def test_retention_keeps_the_chain_of_an_erased_person(organization):
    record_consent(
        organization=organization,
        identifiers={"email": "old@example.com"},
        choices={"marketing_email": False},
        source="api",
        actor="t",
    )
    call_command("erase_subject", "--org", organization.slug, "--email", "old@example.com")
    DataSubject.objects.update(last_activity_at=timezone.now() - timedelta(days=400))

    report = apply_retention(organization, performed_by="test")
    assert (report.subjects_deleted, report.events_deleted) == (0, 0)
    assert ConsentEvent.objects.get().granted is False  # the opt-out proof is still there
    assert verify_organization_ledger(organization).ok


def test_personal_data_put_back_without_its_salt_is_detected(organization):
    record_consent(
        organization=organization,
        identifiers={"email": "ada@example.com"},
        choices={"marketing_email": True},
        source="api",
        actor="t",
        ip="192.0.2.1",
        user_agent="UA/1",
    )
    assert verify_organization_ledger(organization).ok
    with ledger_maintenance():
        ConsentEvent._base_manager.update(
            ip_truncated="203.0.113.0", user_agent="Forged/9", pii_salt=None
        )
    report = verify_organization_ledger(organization)
    assert not report.ok
    assert "present without its salt" in report.problems[0].message


def test_erasure_reaches_the_history_an_identifier_left_on_an_earlier_subject(organization):
    def decide(identifiers, **choices):
        return record_consent(
            organization=organization,
            identifiers=identifiers,
            choices=choices,
            source="api",
            actor="t",
            ip="192.0.2.1",
            user_agent="UA/1",
        ).subject

    alone = decide({"email": "x@example.com"}, marketing_email=True)  # the address alone
    browser = decide({"visitor_id": "visitor-0123456789abcdef"}, analytics=False)  # signed out
    person = decide({"user_id": "u-1"}, marketing_sms=False)
    decide({"user_id": "u-1", "email": "x@example.com"}, marketing_email=False)  # linked
    decide({"user_id": "u-1", "visitor_id": "visitor-0123456789abcdef"}, analytics=True)
    someone_else = decide({"email": "y@example.com"}, marketing_email=True)

    call_command("erase_subject", "--org", organization.slug, "--email", "x@example.com")

    for subject in (alone, browser, person):
        subject.refresh_from_db()
        assert subject.erased_at is not None
        events = ConsentEvent.objects.filter(subject=subject)
        assert events.exists() and not events.exclude(ip_truncated=None).exists()
    assert not SubjectIdentifier.objects.exclude(subject=someone_else).exists()
    assert ConsentEvent.objects.filter(subject=someone_else).get().user_agent == "UA/1"
    log = PrivacyRequestLog.objects.get(action="erasure")
    assert log.details["linked_subjects"] == 2
    assert verify_organization_ledger(organization).ok


def test_erasure_leaves_no_identifier_hash_in_the_record_of_links(organization):
    """The moves that link an erased person's subjects stay (the links), their identifiers'
    hashes go like the identifiers: only the suppressions keep an address's hash."""
    for identifiers in (
        {"visitor_id": "visitor-0123456789abcdef"},
        {"user_id": "u-1"},
        {"user_id": "u-1", "visitor_id": "visitor-0123456789abcdef", "email": "x@example.com"},
    ):
        record_consent(
            organization=organization,
            identifiers=identifiers,
            choices={"analytics": True},
            source="api",
            actor="t",
        )
    moves = IdentifierMove.objects.filter(organization=organization)
    assert moves.count() == 1

    call_command("erase_subject", "--org", organization.slug, "--user-id", "u-1")

    assert moves.count() == 1 and moves.get().value_hash == ""
    visitor_hash = identifier_hash(
        organization.identifier_secret, "visitor_id", "visitor-0123456789abcdef"
    )
    assert not IdentifierMove.objects.filter(value_hash=visitor_hash).exists()
    assert not Suppression.objects.filter(kind="visitor_id").exists()


@pytest.mark.parametrize(
    "period",
    [
        "anonymous_event_retention_days",
        "identified_event_retention_days",
        "marketing_retention_days",
    ],
)
def test_a_retention_period_under_a_day_is_refused_not_applied(client, aged_ledger, period):
    from consents.models import Membership
    from tests.factories import MembershipFactory

    org = aged_ledger
    client.force_login(MembershipFactory(organization=org, role=Membership.Role.ADMIN).user)
    url = f"/admin/consents/organization/{org.pk}/change/"
    page = client.get(url)
    data = {name: field.value() for name, field in page.context["adminform"].form._bound_items()}
    data = {name: value for name, value in data.items() if value is not None}

    response = client.post(url, {**data, period: "0"})

    assert response.status_code == 200
    assert "greater than or equal to 1" in response.content.decode()
    org.refresh_from_db()
    assert getattr(org, period) > 0

    # Saved past the admin (a shell, a script): the run refuses rather than take everything.
    type(org).objects.filter(pk=org.pk).update(**{period: 0})
    events, states = ConsentEvent.objects.count(), list(ConsentState.objects.values("granted"))
    with pytest.raises(CommandError, match="at least 1 day"):
        call_command("apply_retention", "--org", org.slug)
    assert ConsentEvent.objects.count() == events
    assert list(ConsentState.objects.values("granted")) == states
    assert not PrivacyRequestLog.objects.exists()


def test_retention_forgets_idempotency_keys_older_than_the_anonymous_period(organization):
    from datetime import timedelta

    from django.utils import timezone

    from consents.models import IdempotencyRecord
    from consents.retention import apply_retention
    from tests.factories import IdempotencyRecordFactory

    old = IdempotencyRecordFactory(organization=organization, key="old")
    recent = IdempotencyRecordFactory(organization=organization, key="recent")
    days = organization.anonymous_event_retention_days
    IdempotencyRecord.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=days + 1)
    )
    apply_retention(organization, dry_run=True)
    assert IdempotencyRecord.objects.filter(pk=old.pk).exists()
    apply_retention(organization)
    assert list(IdempotencyRecord.objects.values_list("key", flat=True)) == [recent.key]
