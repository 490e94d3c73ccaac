"""Signs of interest keep a person's marketing grants from lapsing; they change no consent."""

from datetime import timedelta

import pytest
from django.utils import timezone

from consents.models import ConsentEvent, ConsentState, DataSubject
from consents.retention import apply_retention
from consents.services import record_consent

pytestmark = pytest.mark.django_db


def report(api, body):
    return api.post("/api/v1/activity", body, format="json")


def subscribed(organization, email: str, days_ago: int) -> DataSubject:
    result = record_consent(
        organization=organization,
        identifiers={"email": email},
        choices={"marketing_email": True},
        source="api",
        actor="t",
    )
    DataSubject.objects.filter(pk=result.subject.pk).update(
        last_activity_at=timezone.now() - timedelta(days=days_ago)
    )
    return result.subject


def test_an_opened_email_keeps_the_grant_past_the_marketing_period(api, organization):
    period = organization.marketing_retention_days
    reader = subscribed(organization, "reader@example.com", days_ago=period + 5)
    silent = subscribed(organization, "silent@example.com", days_ago=period + 5)
    api.as_key(organization, "consents:write")
    events_before = ConsentEvent.objects.count()

    response = report(
        api,
        {"identifier_type": "email", "identifiers": ["Reader@Example.com", "nobody@example.com"]},
    )

    assert response.status_code == 200
    assert response.json() == {"received": 2, "known": 1, "subjects_updated": 1}
    assert ConsentEvent.objects.count() == events_before  # no consent changed
    apply_retention(organization)
    granted = dict(
        ConsentState.objects.filter(purpose__key="marketing_email").values_list(
            "subject_id", "granted"
        )
    )
    assert granted[reader.pk] is True
    assert granted[silent.pk] is False  # lapsed: no sign of interest in the period


def test_a_sign_of_interest_never_moves_backwards_or_into_the_future(api, organization):
    subject = subscribed(organization, "ada@example.com", days_ago=10)
    before = DataSubject.objects.get(pk=subject.pk).last_activity_at
    api.as_key(organization, "consents:write")
    older = (timezone.now() - timedelta(days=30)).isoformat()
    answer = report(
        api, {"identifier_type": "email", "identifiers": ["ada@example.com"], "occurred_at": older}
    ).json()
    assert answer["subjects_updated"] == 0
    assert DataSubject.objects.get(pk=subject.pk).last_activity_at == before
    future = (timezone.now() + timedelta(days=30)).isoformat()
    report(
        api, {"identifier_type": "email", "identifiers": ["ada@example.com"], "occurred_at": future}
    )
    assert DataSubject.objects.get(pk=subject.pk).last_activity_at <= timezone.now()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"identifiers": ["a@example.com"]}, "identifier_type"),
        ({"identifier_type": "email", "identifiers": []}, "identifiers"),
        ({"identifier_type": "email", "identifiers": ["not an address"]}, "identifiers"),
        ({"identifier_type": "fax", "identifiers": ["1"]}, "identifier_type"),
        (
            {"identifier_type": "email", "identifiers": ["a@example.com"], "occurred_at": "soon"},
            "occurred_at",
        ),
    ],
)
def test_bad_input_is_a_400_naming_the_field(api, organization, body, field):
    api.as_key(organization, "consents:write")
    response = report(api, body)
    assert response.status_code == 400
    assert field in response.json()


def test_a_key_that_may_only_check_cannot_report_activity(api, organization):
    api.as_key(organization, "consents:check")
    response = report(api, {"identifier_type": "email", "identifiers": ["a@example.com"]})
    assert response.status_code == 403
