"""Check before send: answers in input order, with reasons, for up to 10,000 identifiers."""

from datetime import timedelta

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import timezone

from consents import selectors
from consents.models import ConsentState
from consents.services import record_consent

pytestmark = pytest.mark.django_db


def grant(org, email, **choices):
    record_consent(
        organization=org, identifiers={"email": email}, choices=choices, source="api", actor="test"
    )


def check(api, identifiers, purpose="marketing_email", **extra):
    return api.post(
        "/api/v1/checks",
        {"purpose": purpose, "identifier_type": "email", "identifiers": identifiers, **extra},
        format="json",
    )


def test_results_in_input_order_with_reasons(api, organization):
    grant(organization, "yes@example.com", marketing_email=True)
    grant(organization, "no@example.com", marketing_email=False)
    grant(organization, "other@example.com", analytics=True)
    api.as_key(organization, "consents:check")
    response = check(
        api, ["no@example.com", "unknown@example.com", "YES@example.com", "other@example.com"]
    )
    assert response.status_code == 200
    assert response.json() == {
        "purpose": "marketing_email",
        "results": [
            {"identifier": "no@example.com", "allowed": False, "reason": "denied"},
            {"identifier": "unknown@example.com", "allowed": False, "reason": "no_record"},
            {"identifier": "YES@example.com", "allowed": True, "reason": "granted"},
            {"identifier": "other@example.com", "allowed": False, "reason": "no_record"},
        ],
    }


def test_expired_grant_is_not_allowed(api, organization):
    grant(organization, "old@example.com", marketing_email=True)
    ConsentState.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    api.as_key(organization, "consents:check")
    assert check(api, ["old@example.com"]).json()["results"][0] == {
        "identifier": "old@example.com",
        "allowed": False,
        "reason": "expired",
    }


def test_expiry_is_judged_per_identifier_in_a_list(api, organization):
    grant(organization, "old@example.com", marketing_email=True)
    grant(organization, "fresh@example.com", marketing_email=True)
    now = timezone.now()
    for email, expires_at in (
        ("old@example.com", now - timedelta(seconds=1)),
        ("fresh@example.com", now + timedelta(minutes=5)),
    ):
        subject = selectors.subject_by_identifier(organization, "email", email)
        ConsentState.objects.filter(subject=subject).update(expires_at=expires_at)
    api.as_key(organization, "consents:check")
    results = check(api, ["old@example.com", "fresh@example.com"]).json()["results"]
    assert [(r["allowed"], r["reason"]) for r in results] == [(False, "expired"), (True, "granted")]


def test_opt_out_jurisdiction_allows_by_default(api, organization):
    api.as_key(organization, "consents:check")
    result = check(api, ["a@example.com"], purpose="sale_share", jurisdiction="US-CA").json()[
        "results"
    ][0]
    assert result == {"identifier": "a@example.com", "allowed": True, "reason": "default_opt_out"}


def test_ten_thousand_identifiers_take_a_constant_number_of_queries(api, organization):
    for i in range(20):
        grant(organization, f"p{i}@example.com", marketing_email=i % 2 == 0)
    api.as_key(organization, "consents:check")
    emails = [f"p{i}@example.com" for i in range(10_000)]
    check(api, emails[:10])  # warm the key cache
    with CaptureQueriesContext(connection) as queries:
        response = check(api, emails)
    assert response.status_code == 200
    results = response.json()["results"]
    assert len(results) == 10_000 and results[2]["allowed"] and not results[1]["allowed"]
    assert len(queries) <= 8, [q["sql"][:80] for q in queries]


@pytest.mark.parametrize(
    "body, field",
    [
        (
            {"purpose": "marketing_email", "identifier_type": "email", "identifiers": ["bad"]},
            "identifiers",
        ),
        (
            {"purpose": "nope", "identifier_type": "email", "identifiers": ["a@example.com"]},
            "purpose",
        ),
        (
            {"purpose": "marketing_email", "identifier_type": "fax", "identifiers": ["1"]},
            "identifier_type",
        ),
        (
            {"purpose": "marketing_email", "identifier_type": "email", "identifiers": []},
            "identifiers",
        ),
        (
            {
                "purpose": "marketing_email",
                "identifier_type": "email",
                "identifiers": "a@example.com",
            },
            "identifiers",
        ),
        (
            {
                "purpose": "marketing_email",
                "identifier_type": "email",
                "identifiers": ["a@example.com"] * 10_001,
            },
            "identifiers",
        ),
    ],
)
def test_bad_check_requests(api, organization, body, field):
    api.as_key(organization, "consents:check")
    response = api.post("/api/v1/checks", body, format="json")
    assert response.status_code == 400
    assert field in response.json()
