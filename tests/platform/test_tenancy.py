"""Tenancy matrix: no endpoint, admin page or export of one organization reaches another's data."""

import json

import pytest
from django.urls import reverse

from consents.models import ApiKey, ConsentEvent, Membership, Purpose
from consents.services import record_consent
from tests.factories import (
    CookieDefinitionFactory,
    MembershipFactory,
    SiteFactory,
    SuppressionFactory,
    VendorFactory,
    WebhookEndpointFactory,
    api_key_for,
)

pytestmark = pytest.mark.django_db

SHARED_EMAIL = "shared@example.com"


@pytest.fixture
def two_tenants(organization, other_organization):
    """Both organizations know the same person and have one of everything."""
    for org, granted in ((organization, True), (other_organization, False)):
        record_consent(
            organization=org,
            identifiers={"email": SHARED_EMAIL},
            choices={"marketing_email": granted},
            source="api",
            actor="t",
        )
        site = SiteFactory(organization=org, key=f"site-{org.slug}")
        vendor = VendorFactory(
            organization=org, purpose=org.purpose_map["analytics"], name=f"V {org.slug}"
        )
        CookieDefinitionFactory(
            organization=org,
            purpose=org.purpose_map["analytics"],
            vendor=vendor,
            name=f"cookie_{org.slug}",
        )
        WebhookEndpointFactory(organization=org, url=f"https://{org.slug}.example/hook")
        SuppressionFactory(organization=org)
        api_key_for(org, "consents:read")
        site.purposes.set([org.purpose_map["analytics"]])
    return organization, other_organization


API_READS = [
    ("get", "/api/v1/consents/state", {"email": SHARED_EMAIL}),
    ("get", "/api/v1/events", {}),
    ("get", "/api/v1/subjects/proof", {"email": SHARED_EMAIL}),
    ("get", "/api/v1/events/export", {}),
]


@pytest.mark.parametrize("method, path, params", API_READS)
def test_api_reads_see_only_the_callers_organization(api, two_tenants, method, path, params):
    mine, theirs = two_tenants
    api.as_key(mine, *ApiKey.Scope.values)
    response = getattr(api, method)(path, params)
    assert response.status_code == 200
    body = (
        b"".join(response.streaming_content) if response.streaming else response.content
    ).decode()
    their_subject = str(ConsentEvent.objects.get(organization=theirs).subject.uid)
    mine_subject = str(ConsentEvent.objects.get(organization=mine).subject.uid)
    assert their_subject not in body and theirs.slug not in body
    assert mine_subject in body


def test_checks_answer_from_the_callers_organization_only(api, two_tenants):
    mine, theirs = two_tenants
    api.as_key(mine, "consents:check")
    result = api.post(
        "/api/v1/checks",
        {"purpose": "marketing_email", "identifier_type": "email", "identifiers": [SHARED_EMAIL]},
        format="json",
    ).json()
    assert result["results"][0]["reason"] == "granted"  # theirs says denied
    api.as_key(theirs, "consents:check")
    result = api.post(
        "/api/v1/checks",
        {"purpose": "marketing_email", "identifier_type": "email", "identifiers": [SHARED_EMAIL]},
        format="json",
    ).json()
    assert result["results"][0]["reason"] == "denied"


def test_writes_land_in_the_callers_organization_only(api, two_tenants):
    mine, theirs = two_tenants
    before = ConsentEvent.objects.filter(organization=theirs).count()
    api.as_key(mine, "consents:write")
    response = api.post(
        "/api/v1/consents",
        {"subject": {"email": SHARED_EMAIL}, "choices": {"analytics": True}},
        format="json",
    )
    assert response.status_code == 201
    assert ConsentEvent.objects.filter(organization=theirs).count() == before
    # A purpose key that exists only in the other organization is unknown here.
    Purpose.objects.create(organization=theirs, key="only_theirs", name="x", kind="cookie_category")
    response = api.post(
        "/api/v1/consents",
        {"subject": {"email": SHARED_EMAIL}, "choices": {"only_theirs": True}},
        format="json",
    )
    assert response.status_code == 400


def test_export_command_exports_one_organization(two_tenants, tmp_path):
    from django.core.management import call_command

    mine, theirs = two_tenants
    path = tmp_path / "mine.ndjson"
    call_command("export_events", "--org", mine.slug, "--output", str(path))
    rows = [json.loads(line) for line in path.read_text().splitlines()]
    assert rows and {r["organization"] for r in rows} == {mine.slug}


ADMIN_MODELS = [
    "consents_consentevent",
    "consents_consentstate",
    "consents_purpose",
    "consents_notice",
    "consents_apikey",
    "consents_membership",
    "consents_suppression",
    "consents_webhookendpoint",
    "cookies_site",
    "cookies_vendor",
    "cookies_cookiedefinition",
]


@pytest.mark.parametrize("changelist", ADMIN_MODELS)
@pytest.mark.parametrize("role", [Membership.Role.ADMIN, Membership.Role.AUDITOR])
def test_admin_lists_only_the_members_organization(client, two_tenants, changelist, role):
    mine, theirs = two_tenants
    MembershipFactory(organization=theirs, role=Membership.Role.ADMIN)
    member = MembershipFactory(organization=mine, role=role)
    client.force_login(member.user)
    response = client.get(reverse(f"admin:{changelist}_changelist"))
    assert response.status_code == 200
    rows = response.context["cl"].result_list
    for row in rows:
        org = row.organization if hasattr(row, "organization") else row.endpoint.organization
        assert org == mine


def test_admin_cannot_open_or_change_another_organizations_rows(client, two_tenants):
    mine, theirs = two_tenants
    member = MembershipFactory(organization=mine, role=Membership.Role.ADMIN)
    client.force_login(member.user)
    their_purpose = theirs.purpose_map["analytics"]
    url = reverse("admin:consents_purpose_change", args=[their_purpose.pk])
    assert client.get(url).status_code in (302, 404)
    client.post(url, {"name": "hijacked"})
    their_purpose.refresh_from_db()
    assert their_purpose.name != "hijacked"
    assert (
        client.get(reverse("admin:consents_organization_dashboard", args=[theirs.pk])).status_code
        == 403
    )


def test_auditor_cannot_change_configuration(client, two_tenants):
    mine, _ = two_tenants
    member = MembershipFactory(organization=mine, role=Membership.Role.AUDITOR)
    client.force_login(member.user)
    purpose = mine.purpose_map["analytics"]
    response = client.post(
        reverse("admin:consents_purpose_change", args=[purpose.pk]), {"name": "changed by auditor"}
    )
    assert response.status_code == 403
    purpose.refresh_from_db()
    assert purpose.name != "changed by auditor"


@pytest.mark.parametrize(
    "changelist",
    [
        "/admin/consents/purpose/",
        "/admin/consents/consentevent/",
        "/admin/cookies/site/",
        "/admin/cookies/vendor/",
        "/admin/cookies/cookiedefinition/",
    ],
)
def test_the_organization_filter_names_only_the_members_organizations(
    client, two_tenants, changelist
):
    mine, theirs = two_tenants
    theirs.name = "Secret Customer Globex"
    theirs.save()
    user = MembershipFactory(organization=mine, role=Membership.Role.AUDITOR).user
    client.force_login(user)
    response = client.get(changelist)
    assert response.status_code == 200
    assert "Secret Customer Globex" not in response.content.decode()


@pytest.mark.parametrize(
    "changelist",
    [
        "/admin/consents/consentevent/",
        "/admin/consents/consentstate/",
        "/admin/cookies/vendor/",
        "/admin/cookies/cookiedefinition/",
    ],
)
def test_the_purpose_filter_names_only_the_members_purposes(client, two_tenants, changelist):
    mine, theirs = two_tenants
    Purpose.objects.create(
        organization=theirs, key="globex_secret_launch", name="x", kind="marketing_topic"
    )
    user = MembershipFactory(organization=mine, role=Membership.Role.AUDITOR).user
    client.force_login(user)
    response = client.get(changelist)
    assert response.status_code == 200
    page = response.content.decode()
    assert "?purpose__key=analytics" in page
    assert "globex_secret_launch" not in page


def test_an_organizations_admin_adds_members_by_username_without_seeing_other_users(
    client, two_tenants
):
    from django.contrib.auth import get_user_model

    mine, theirs = two_tenants
    MembershipFactory(organization=theirs, user__username="globex_ceo_secret")
    newcomer = get_user_model().objects.create_user("newcomer", password="x" * 12)
    admin = MembershipFactory(organization=mine, role=Membership.Role.ADMIN).user
    client.force_login(admin)

    page = client.get("/admin/consents/membership/add/")
    assert page.status_code == 200 and "globex_ceo_secret" not in page.content.decode()
    base = {"organization": mine.pk, "role": Membership.Role.AUDITOR}
    unknown = client.post("/admin/consents/membership/add/", {**base, "username": "nobody"})
    assert "No user with that username." in unknown.content.decode()
    added = client.post("/admin/consents/membership/add/", {**base, "username": "newcomer"})
    assert added.status_code == 302
    assert Membership.objects.get(user=newcomer).organization == mine
    again = client.post("/admin/consents/membership/add/", {**base, "username": "newcomer"})
    assert "Already a member of this organization." in again.content.decode()
