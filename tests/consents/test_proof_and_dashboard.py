"""Proof of consent (API and admin page) and the dashboard, with each role's view."""

import json

import pytest
from django.urls import reverse

from consents.models import Membership
from consents.selectors import check_identifiers
from consents.services import record_consent
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def history(organization):
    record_consent(
        organization=organization,
        identifiers={"email": "ada@example.com"},
        choices={"marketing_email": True},
        source="api",
        actor="t",
        notice_version="2026-01",
    )
    record_consent(
        organization=organization,
        identifiers={"email": "ada@example.com"},
        choices={"marketing_email": False},
        source="preference_center",
        actor="subject",
    )
    record_consent(
        organization=organization,
        identifiers={"visitor_id": "v" * 20},
        choices={"analytics": True, "sale_share": False},
        source="banner",
        actor="visitor",
        source_by_purpose={"sale_share": "gpc"},
    )
    check_identifiers(
        organization,
        organization.purpose_map["marketing_email"],
        "email",
        ["ada@example.com", "bob@example.com"],
    )
    return organization


def test_proof_api_shows_history_with_exact_notice_text(api, history):
    api.as_key(history, "consents:read")
    response = api.get("/api/v1/subjects/proof", {"email": "ADA@example.com"})
    assert response.status_code == 200
    proof = response.json()
    assert [e["granted"] for e in proof["events"]] == [True, False]
    assert proof["events"][0]["notice"]["text"] == history.notice.text
    assert proof["events"][1]["notice"] is None
    assert proof["identifier_kinds"] == ["email"]
    state = {s["purpose"]: s for s in proof["state"]}
    assert state["marketing_email"]["decision"] == "denied"


def test_proof_api_errors(api, history, other_organization):
    api.as_key(history, "consents:check")
    assert api.get("/api/v1/subjects/proof", {"email": "ada@example.com"}).status_code == 403
    api.as_key(other_organization, "consents:read")
    assert api.get("/api/v1/subjects/proof", {"email": "ada@example.com"}).status_code == 404
    assert api.get("/api/v1/subjects/proof", {"email": "nope"}).status_code == 400


def member_client(client, organization, role):
    membership = MembershipFactory(organization=organization, role=role)
    client.force_login(membership.user)
    return client


def test_auditor_sees_proof_page_with_notice_text(client, history):
    member_client(client, history, Membership.Role.AUDITOR)
    url = reverse("admin:consents_organization_proof", args=[history.pk])
    page = client.get(url, {"kind": "email", "value": "ada@example.com"})
    assert page.status_code == 200
    assert history.notice.text in page.content.decode()
    assert (
        "No subject"
        in client.get(url, {"kind": "email", "value": "x@example.com"}).content.decode()
    )


def test_the_proof_page_says_when_the_person_decided_and_who_recorded_it(client, organization):
    from datetime import timedelta

    from django.utils import timezone

    from consents.ledger import format_timestamp

    decided = timezone.now() - timedelta(days=90)  # an import of consents given earlier
    [event] = record_consent(
        organization=organization,
        identifiers={"email": "ada@example.com"},
        choices={"marketing_email": True},
        source="import",
        actor="api_key:7",
        occurred_at=decided,
    ).events
    member_client(client, organization, Membership.Role.AUDITOR)
    url = reverse("admin:consents_organization_proof", args=[organization.pk])

    page = client.get(url, {"kind": "email", "value": "ada@example.com"}).content.decode()

    assert format_timestamp(decided) in page
    assert format_timestamp(event.recorded_at) in page
    assert "api_key:7" in page


def test_marketing_and_strangers_cannot_open_proof_page(client, history, other_organization):
    member_client(client, history, Membership.Role.MARKETING)
    assert (
        client.get(reverse("admin:consents_organization_proof", args=[history.pk])).status_code
        == 403
    )
    client.logout()
    member_client(client, other_organization, Membership.Role.ADMIN)
    assert (
        client.get(reverse("admin:consents_organization_proof", args=[history.pk])).status_code
        == 403
    )
    assert (
        client.get(reverse("admin:consents_organization_dashboard", args=[history.pk])).status_code
        == 403
    )


def test_dashboard_for_admin_shows_all_figures(client, history):
    member_client(client, history, Membership.Role.ADMIN)
    page = client.get(reverse("admin:consents_organization_dashboard", args=[history.pk]))
    html = page.content.decode()
    assert page.status_code == 200
    assert "Events per day by source" in html and "<svg" in html
    assert "Checks answered: <strong>2</strong>" in html
    assert "Global Privacy Control: <strong>100.0%</strong>" in html
    assert "Consent rate for analytics" in html


def test_dashboard_for_marketing_shows_only_its_figures(client, history):
    member_client(client, history, Membership.Role.MARKETING)
    html = client.get(
        reverse("admin:consents_organization_dashboard", args=[history.pk])
    ).content.decode()
    assert "Checks answered" in html and "Consent rate for marketing_email" in html
    assert "analytics" not in html and "Events per day by source" not in html
    assert "Global Privacy Control" not in html


def test_auditor_downloads_the_export_from_the_admin_session(client, history, other_organization):
    membership = MembershipFactory(organization=history, role=Membership.Role.AUDITOR)
    MembershipFactory(
        organization=other_organization, role=Membership.Role.AUDITOR, user=membership.user
    )
    client.force_login(membership.user)
    page = client.get(reverse("admin:consents_organization_dashboard", args=[history.pk]))
    assert f"?org={history.slug}&amp;format=ndjson" in page.content.decode()
    response = client.get("/api/v1/events/export", {"org": history.slug, "format": "ndjson"})
    assert response.status_code == 200
    lines = b"".join(response.streaming_content).decode().splitlines()
    assert json.loads(lines[-1])["manifest"]["organization"] == history.slug
    assert len(lines) == 5  # four events and the manifest


def test_marketing_member_cannot_export(client, history):
    member_client(client, history, Membership.Role.MARKETING)
    assert client.get("/api/v1/events/export", {"org": history.slug}).status_code == 403


def test_a_member_of_several_organizations_is_told_to_name_one(client, history, other_organization):
    membership = MembershipFactory(organization=history, role=Membership.Role.AUDITOR)
    MembershipFactory(
        organization=other_organization, role=Membership.Role.AUDITOR, user=membership.user
    )
    client.force_login(membership.user)
    unnamed = client.get("/api/v1/events")
    assert unnamed.status_code == 400
    assert "?org=" in unnamed.json()["org"][0]
    stranger = client.get("/api/v1/events", {"org": "initech"})
    assert stranger.status_code == 403
    assert "not a member" in stranger.json()["detail"]
    assert client.get("/api/v1/events", {"org": history.slug}).status_code == 200


def test_a_signed_in_user_without_an_organization_is_told_so(client, db):
    from tests.factories import UserFactory

    client.force_login(UserFactory())
    response = client.get("/api/v1/events")
    assert response.status_code == 403
    assert "not a member of any organization" in response.json()["detail"]
