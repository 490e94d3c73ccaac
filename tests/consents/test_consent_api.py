"""The server-side consent API: record, state, checks, events, with scopes and bad input."""

import hashlib
from datetime import timedelta

import pytest
from django.utils import timezone

from consents.identifiers import identifier_hash
from consents.models import ConsentEvent, ConsentState, DataSubject, SubjectIdentifier
from consents.verification import verify_organization_ledger

pytestmark = pytest.mark.django_db


def record(api, body, **headers):
    return api.post("/api/v1/consents", body, format="json", **headers)


def test_recording_choices_appends_events_and_updates_state(api, organization):
    api.as_key(organization, "consents:write")
    response = record(
        api,
        {
            "subject": {"email": "Ada@Example.com"},
            "choices": {"marketing_email": True, "analytics": False},
            "notice_version": "2026-01",
        },
    )
    assert response.status_code == 201, response.content
    body = response.json()
    assert [e["purpose"] for e in body["events"]] == ["analytics", "marketing_email"]
    assert (
        body["events"][0]["seq"] == 1
        and body["events"][1]["prev_hash"] == body["events"][0]["hash"]
    )
    assert body["events"][1]["notice_version"] == "2026-01"
    state = {s["purpose"]: s for s in body["state"]}
    assert (
        state["marketing_email"]["allowed"] is True
        and state["marketing_email"]["basis"] == "explicit"
    )
    assert state["analytics"]["decision"] == "denied"
    assert state["necessary"]["allowed"] is True
    assert ConsentEvent.objects.count() == 2
    assert ConsentState.objects.get(purpose__key="marketing_email").granted is True
    assert verify_organization_ledger(organization).ok


def test_email_is_stored_only_as_a_keyed_hash(api, organization):
    api.as_key(organization, "consents:write")
    record(api, {"subject": {"email": "ada@example.com"}, "choices": {"marketing_email": True}})
    identifier = SubjectIdentifier.objects.get()
    # The organization's HMAC of the normalized address, not the address nor its plain SHA-256.
    keyed = identifier_hash(organization.identifier_secret, "email", "ada@example.com")
    assert identifier.value_hash == keyed
    assert keyed != hashlib.sha256(b"email:ada@example.com").hexdigest()
    assert not SubjectIdentifier.objects.filter(value_hash__contains="@").exists()


def test_identifiers_given_together_are_linked_and_follow_the_person(api, organization):
    api.as_key(organization, "consents:write", "consents:read")
    record(api, {"subject": {"visitor_id": "v" * 20}, "choices": {"analytics": True}})
    record(
        api,
        {
            "subject": {"visitor_id": "v" * 20, "email": "ada@example.com"},
            "choices": {"marketing_email": True},
        },
    )
    record(
        api,
        {
            "subject": {"email": "ADA@example.com", "phone": "+49 151 1234 5678"},
            "choices": {"marketing_sms": True},
        },
    )
    state = api.get("/api/v1/consents/state", {"phone": "+4915112345678"}).json()
    decisions = {p["purpose"]: p["allowed"] for p in state["purposes"]}
    assert decisions["marketing_email"] and decisions["marketing_sms"]
    by_visitor = api.get("/api/v1/consents/state", {"visitor_id": "v" * 20}).json()
    assert by_visitor["subject"] == state["subject"]


def test_state_reports_jurisdiction_defaults_for_unknown_subject(api, organization):
    api.as_key(organization, "consents:read")
    eu = api.get(
        "/api/v1/consents/state", {"email": "new@example.com", "jurisdiction": "FR"}
    ).json()
    us = api.get(
        "/api/v1/consents/state", {"email": "new@example.com", "jurisdiction": "US-CA"}
    ).json()
    assert eu["subject"] is None
    assert {p["purpose"]: p["allowed"] for p in eu["purposes"]}["sale_share"] is False
    assert {p["purpose"]: p["allowed"] for p in us["purposes"]}["sale_share"] is True
    assert all(p["basis"] == "default" for p in us["purposes"])


def test_state_answers_suppressed_as_the_check_does(api, organization):
    from consents.retention import erase_subject

    organization.default_jurisdiction = "US-CA"
    organization.save()
    api.as_key(organization, "consents:write")
    record(
        api,
        {
            "subject": {"email": "gone@example.com"},
            "choices": {"sale_share": False, "marketing_email": True},
        },
    )
    erase_subject(organization, kind="email", value="gone@example.com", performed_by="t")
    # An old list re-imports the address with a grant: the erasure's never-contact stays.
    record(
        api,
        {
            "subject": {"email": "gone@example.com"},
            "choices": {"marketing_email": True},
            "source": "import",
        },
    )
    api.as_key(organization, "consents:check")
    state = api.get("/api/v1/consents/state", {"email": "Gone@example.com"}).json()
    by_key = {p["purpose"]: p for p in state["purposes"]}
    for key in ("sale_share", "marketing_email"):
        checked = api.post(
            "/api/v1/checks",
            {"purpose": key, "identifier_type": "email", "identifiers": ["gone@example.com"]},
            format="json",
        ).json()["results"][0]
        assert (checked["allowed"], checked["reason"]) == (False, "suppressed")
        assert (by_key[key]["allowed"], by_key[key]["basis"]) == (False, "suppressed")
    assert by_key["analytics"]["basis"] == "default"  # cookie categories ignore suppressions
    assert state["us_privacy"] == "1YYN"  # opted out of sale, as recorded before the erasure


def test_the_state_a_write_answers_with_is_the_state_api_s(api, organization):
    """After an erasure, a re-import's answer must not call allowed what GET state and the
    check call suppressed."""
    from consents.retention import erase_subject

    organization.default_jurisdiction = "US-CA"
    organization.save()
    api.as_key(organization, "consents:write", "consents:read")
    subject = {"email": "gone@example.com"}
    record(api, {"subject": subject, "choices": {"sale_share": False}})
    erase_subject(organization, kind="email", value="gone@example.com", performed_by="t")
    body = {"subject": subject, "choices": {"marketing_email": True}, "source": "import"}
    written = record(api, body).json()["state"]
    read = api.get("/api/v1/consents/state", subject).json()["purposes"]
    assert written == read
    by_key = {p["purpose"]: p for p in written}
    assert (by_key["marketing_email"]["allowed"], by_key["marketing_email"]["basis"]) == (
        False,
        "suppressed",
    )
    assert by_key["sale_share"]["basis"] == "suppressed"


@pytest.mark.parametrize(
    "body, field",
    [
        ({"subject": {"email": "x@example.com"}, "choices": {"nope": True}}, "choices"),
        ({"subject": {"email": "not-an-email"}, "choices": {"analytics": True}}, "subject"),
        ({"subject": {}, "choices": {"analytics": True}}, "subject"),
        ({"subject": {"email": "x@example.com"}, "choices": {"analytics": "yes"}}, "choices"),
        ({"subject": {"email": "x@example.com"}, "choices": {}}, "choices"),
        ({"subject": {"email": "x@example.com"}}, "choices"),
        ({"choices": {"analytics": True}}, "subject"),
        (
            {
                "subject": {"email": "x@example.com"},
                "choices": {"analytics": True},
                "source": "martian",
            },
            "source",
        ),
        (
            {
                "subject": {"email": "x@example.com"},
                "choices": {"analytics": True},
                "notice_version": "v999",
            },
            "notice_version",
        ),
        ({"subject": {"email": "x@example.com"}, "choices": {"necessary": False}}, "choices"),
        ({"subject": {"phone": "12"}, "choices": {"analytics": True}}, "subject"),
        ({"subject": "ada", "choices": {"analytics": True}}, "subject"),
    ],
)
def test_bad_input_is_refused_with_field_errors_and_nothing_written(api, organization, body, field):
    api.as_key(organization, "consents:write")
    response = record(api, body)
    assert response.status_code == 400
    assert field in response.json()
    assert ConsentEvent.objects.count() == 0
    assert DataSubject.objects.count() == 0


def test_one_unknown_purpose_among_valid_ones_writes_nothing(api, organization):
    api.as_key(organization, "consents:write")
    response = record(
        api,
        {
            "subject": {"email": "x@example.com"},
            "choices": {"analytics": True, "marketing_email": True, "bogus": False},
        },
    )
    assert response.status_code == 400
    assert ConsentEvent.objects.count() == 0 and ConsentState.objects.count() == 0


def test_missing_revoked_and_wrong_scope_keys(api, organization):
    body = {"subject": {"email": "x@example.com"}, "choices": {"analytics": True}}
    assert record(api, body).status_code == 401
    api.credentials(HTTP_AUTHORIZATION="Bearer kzc_000000000000_forged")
    assert record(api, body).status_code == 401
    api.as_key(organization, "consents:check")
    assert record(api, body).status_code == 403
    from consents.keys import revoke_api_key
    from consents.models import ApiKey

    api.as_key(organization, "consents:write")
    assert record(api, body).status_code == 201
    for key in ApiKey.objects.all():
        revoke_api_key(key)
    assert record(api, body).status_code == 401


@pytest.mark.parametrize(
    "method, path, scope",
    [
        ("post", "/api/v1/consents", "consents:write"),
        ("get", "/api/v1/consents/state?email=a@example.com", "consents:read"),
        ("post", "/api/v1/checks", "consents:check"),
        ("get", "/api/v1/events", "events:read"),
    ],
)
def test_every_endpoint_requires_its_scope(api, organization, method, path, scope):
    from consents.models import ApiKey

    others = [
        s
        for s in ApiKey.Scope.values
        if s != scope
        and not (scope == "consents:read" and s == "consents:check")
        and not (scope == "events:read" and s == "events:export")
    ]
    api.as_key(organization, *others)
    body = {
        "purpose": "marketing_email",
        "identifier_type": "email",
        "identifiers": ["a@example.com"],
    }
    response = getattr(api, method)(path, body if method == "post" else None, format="json")
    assert response.status_code == 403
    api.as_key(organization, scope)
    response = getattr(api, method)(path, body if method == "post" else None, format="json")
    assert response.status_code != 403


def test_idempotency_key_makes_a_replay_harmless(api, organization):
    api.as_key(organization, "consents:write")
    body = {"subject": {"email": "x@example.com"}, "choices": {"analytics": True}}
    first = record(api, body, HTTP_IDEMPOTENCY_KEY="k-1")
    second = record(api, body, HTTP_IDEMPOTENCY_KEY="k-1")
    assert first.status_code == 201 and second.status_code == 200
    assert second.json()["replayed"] is True
    assert ConsentEvent.objects.count() == 1
    changed = record(api, {**body, "choices": {"analytics": False}}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert changed.status_code == 409
    assert ConsentEvent.objects.count() == 1


def test_older_decision_arriving_late_does_not_overwrite_newer(api, organization):
    api.as_key(organization, "consents:write", "consents:read")
    record(
        api,
        {
            "subject": {"email": "x@example.com"},
            "choices": {"analytics": False},
            "occurred_at": "2026-11-20T10:00:00Z",
        },
    )
    record(
        api,
        {
            "subject": {"email": "x@example.com"},
            "choices": {"analytics": True},
            "occurred_at": "2026-11-19T10:00:00Z",
        },
    )
    state = api.get("/api/v1/consents/state", {"email": "x@example.com"}).json()
    assert {p["purpose"]: p["decision"] for p in state["purposes"]}["analytics"] == "denied"
    assert ConsentEvent.objects.count() == 2


def test_a_decision_dated_slightly_ahead_does_not_hide_the_next_one(api, organization):
    """A client clock a few minutes fast dates a grant in the future; the refusal the person
    makes a moment later (dated by the server) is the last decision and must be the state."""
    api.as_key(organization, "consents:write", "consents:read")
    ahead = timezone.now() + timedelta(minutes=3)
    subject = {"email": "fast-clock@example.com"}
    granted = record(
        api,
        {"subject": subject, "choices": {"analytics": True}, "occurred_at": ahead.isoformat()},
    )
    assert granted.status_code == 201, granted.content
    refused = record(api, {"subject": subject, "choices": {"analytics": False}})
    assert refused.status_code == 201, refused.content

    state = api.get("/api/v1/consents/state", {"email": "fast-clock@example.com"}).json()
    assert {p["purpose"]: p["decision"] for p in state["purposes"]}["analytics"] == "denied"
    last = ConsentEvent.objects.order_by("-seq").first()
    assert ConsentState.objects.get(purpose__key="analytics").event_id == last.pk
    for event in ConsentEvent.objects.all():
        assert event.occurred_at <= event.recorded_at


def test_a_validity_past_the_calendar_is_a_grant_that_does_not_expire(api, organization):
    """A validity entered as "forever" (millions of days) ends after year 9999: the grant is
    recorded without an expiry instead of failing with a 500."""
    organization.purpose_map["analytics"].validity_days = 5_000_000
    organization.purpose_map["analytics"].save()
    api.as_key(organization, "consents:write")
    response = record(api, {"subject": {"email": "x@example.com"}, "choices": {"analytics": True}})
    assert response.status_code == 201, response.content
    state = ConsentState.objects.get(purpose__key="analytics")
    assert state.granted is True and state.expires_at is None


def test_tenancy_key_never_sees_or_writes_other_organization(api, organization, other_organization):
    api.as_key(other_organization, "consents:write")
    record(api, {"subject": {"email": "x@example.com"}, "choices": {"analytics": True}})
    api.as_key(organization, "consents:read", "events:read", "consents:check")
    state = api.get("/api/v1/consents/state", {"email": "x@example.com"}).json()
    assert state["subject"] is None
    assert api.get("/api/v1/events").json()["results"] == []
    check = api.post(
        "/api/v1/checks",
        {"purpose": "analytics", "identifier_type": "email", "identifiers": ["x@example.com"]},
        format="json",
    ).json()
    assert check["results"][0]["reason"] == "no_record"
    assert ConsentEvent.objects.filter(organization=organization).count() == 0


def test_events_are_listed_with_filters_and_cursor(api, organization):
    api.as_key(organization, "consents:write", "events:read")
    for i in range(5):
        record(
            api,
            {
                "subject": {"email": f"p{i}@example.com"},
                "choices": {"analytics": True, "marketing_email": i % 2 == 0},
            },
        )
    page = api.get("/api/v1/events", {"limit": 4}).json()
    assert len(page["results"]) == 4 and page["next"]
    rest = api.get(page["next"]).json()
    assert len(rest["results"]) == 4 and rest["next"]
    last = api.get(rest["next"]).json()
    assert len(last["results"]) == 2 and last["next"] is None
    ids = [e["id"] for e in page["results"] + rest["results"] + last["results"]]
    assert ids == sorted(ids) and len(set(ids)) == 10
    only = api.get("/api/v1/events", {"purpose": "marketing_email"}).json()["results"]
    assert {e["purpose"] for e in only} == {"marketing_email"} and len(only) == 5
    one = api.get("/api/v1/events", {"email": "p3@example.com"}).json()["results"]
    assert len(one) == 2
    assert api.get("/api/v1/events", {"since": "not-a-date"}).status_code == 400


@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/events/export"])
def test_a_malformed_identifier_filter_is_a_field_error(api, organization, path):
    api.as_key(organization, "events:read", "events:export")
    response = api.get(path, {"email": "not-an-email"})
    assert response.status_code == 400
    assert list(response.json()) == ["email"] and response.json()["email"]


def test_a_new_subjects_identifiers_are_inserted_in_one_order_whatever_the_request_order(
    organization,
):
    # Two new visitors' writes naming the same identifiers in two orders must take their rows'
    # locks in one order, or each waits for the other (a deadlock, answered 503).
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    from consents.services import record_consent

    with CaptureQueriesContext(connection) as queries:
        record_consent(
            organization=organization,
            identifiers={"visitor_id": "v" * 22, "user_id": "u-1", "email": "o@example.com"},
            choices={"analytics": True},
            source="api",
            actor="t",
        )
    [insert] = [
        q["sql"] for q in queries if "INSERT INTO" in q["sql"] and "subjectidentifier" in q["sql"]
    ]
    positions = [insert.index(f"'{kind}'") for kind in ("email", "user_id", "visitor_id")]
    assert positions == sorted(positions)


def test_a_replay_whose_decision_retention_removed_is_a_conflict_not_an_error(api, organization):
    from consents.models import DataSubject
    from consents.retention import ledger_maintenance
    from consents.services import IDEMPOTENCY_GONE

    api.as_key(organization, "consents:write")
    body = {"subject": {"visitor_id": "w" * 22}, "choices": {"analytics": True}}
    assert record(api, body, HTTP_IDEMPOTENCY_KEY="k-gone").status_code == 201
    with ledger_maintenance():  # as retention removes an inactive anonymous visitor
        ConsentState.objects.all().delete()
        SubjectIdentifier.objects.all().delete()
        ConsentEvent._base_manager.all().delete()
        DataSubject.objects.all().delete()
    replay = record(api, body, HTTP_IDEMPOTENCY_KEY="k-gone")
    assert replay.status_code == 409
    assert IDEMPOTENCY_GONE in str(replay.json())


@pytest.mark.parametrize("path", ["/api/v1/events", "/api/v1/events/export"])
@pytest.mark.parametrize(
    "query, field, message",
    [
        ("sinse=2030-01-01T00:00", "sinse", "Unknown parameter."),
        ("subject=0b5c6a43-9a4f-4a55-9d55-6a0ef6d6b3f0", "subject", "Unknown parameter."),
        ("purpose=analytics&purpose=marketing_email", "purpose", "Give this parameter once."),
        ("since=2030-01-01T00:00&since=2000-01-01T00:00", "since", "Give this parameter once."),
    ],
)
def test_a_misspelt_or_repeated_filter_is_a_field_error(
    api, organization, path, query, field, message
):
    """Ignored, a misspelt filter answered with the whole ledger, and of a repeated one the
    last value counted: both asked for fewer events than they got."""
    api.as_key(organization, "consents:write", "events:read", "events:export")
    record(api, {"subject": {"email": "a@example.com"}, "choices": {"analytics": True}})
    response = api.get(f"{path}?{query}")
    assert response.status_code == 400
    assert response.json() == {field: [message]}


def test_repeated_page_size_is_a_field_error(api, organization):
    api.as_key(organization, "events:read")
    response = api.get("/api/v1/events?limit=1&limit=5")
    assert response.status_code == 400 and list(response.json()) == ["limit"]
