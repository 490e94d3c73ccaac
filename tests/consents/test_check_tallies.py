"""Check counts are batched in memory and still reach the dashboard and the tally table."""

import pytest
from django.urls import reverse

from consents import tallies
from consents.models import CheckTally, Membership
from tests.factories import MembershipFactory


@pytest.fixture
def batched(settings):
    settings.KAIZEN_CHECK_TALLY_FLUSH_SECONDS = 3600
    tallies.flush()
    yield
    tallies._pending.clear()


def check(api, organization, emails):
    api.as_key(organization, "consents:check")
    response = api.post(
        "/api/v1/checks",
        {"purpose": "marketing_email", "identifier_type": "email", "identifiers": emails},
        format="json",
    )
    assert response.status_code == 200


def test_checks_are_not_written_one_by_one_when_batched(api, organization, batched):
    check(api, organization, ["a@example.com", "b@example.com"])
    check(api, organization, ["c@example.com"])
    assert not CheckTally.objects.filter(organization=organization).exists()
    tallies.flush()
    tally = CheckTally.objects.get(organization=organization, purpose_key="marketing_email")
    assert (tally.answered, tally.allowed) == (3, 0)


def test_dashboard_shows_batched_checks_at_once(api, client, organization, batched):
    check(api, organization, ["a@example.com", "b@example.com"])
    check(api, organization, ["c@example.com", "d@example.com"])
    membership = MembershipFactory(organization=organization, role=Membership.Role.ADMIN)
    client.force_login(membership.user)
    html = client.get(
        reverse("admin:consents_organization_dashboard", args=[organization.pk])
    ).content.decode()
    assert "Checks answered: <strong>4</strong>" in html


def test_counts_add_up_across_flushes(api, organization, batched):
    check(api, organization, ["a@example.com"])
    tallies.flush()
    check(api, organization, ["b@example.com", "c@example.com"])
    tallies.flush()
    tally = CheckTally.objects.get(organization=organization, purpose_key="marketing_email")
    assert tally.answered == 3


def test_without_batching_each_check_is_counted_at_once(api, organization, settings):
    settings.KAIZEN_CHECK_TALLY_FLUSH_SECONDS = 0
    check(api, organization, ["a@example.com"])
    assert CheckTally.objects.get(organization=organization).answered == 1
