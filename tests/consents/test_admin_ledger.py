"""The ledger in the admin: read-only, searchable by identifier, filterable."""

import pytest
from django.urls import reverse

from consents.models import ConsentEvent, Membership
from consents.services import record_consent
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def auditor_client(client, organization):
    for email in ("ada@example.com", "bob@example.com"):
        record_consent(
            organization=organization,
            identifiers={"email": email},
            choices={"marketing_email": True, "analytics": False},
            source="api",
            actor="t",
        )
    client.force_login(
        MembershipFactory(organization=organization, role=Membership.Role.AUDITOR).user
    )
    return client


def test_ledger_is_searchable_by_identifier_value(auditor_client):
    url = reverse("admin:consents_consentevent_changelist")
    rows = auditor_client.get(url, {"q": "ADA@example.com"}).context["cl"].result_list
    ada = ConsentEvent.objects.filter(subject__identifiers__kind="email").order_by("id")[:2]
    assert sorted(r.pk for r in rows) == sorted(e.pk for e in ada)
    assert (
        list(auditor_client.get(url, {"q": "nobody@example.com"}).context["cl"].result_list) == []
    )


def test_ledger_filters_by_purpose_and_source(auditor_client):
    url = reverse("admin:consents_consentevent_changelist")
    rows = auditor_client.get(url, {"purpose__key": "analytics"}).context["cl"].result_list
    assert len(rows) == 2 and {r.purpose.key for r in rows} == {"analytics"}


def test_ledger_is_read_only_in_the_admin(client, organization):
    record_consent(
        organization=organization,
        identifiers={"email": "a@example.com"},
        choices={"analytics": True},
        source="api",
        actor="t",
    )
    event = ConsentEvent.objects.get()
    client.force_login(
        MembershipFactory(organization=organization, role=Membership.Role.ADMIN).user
    )
    change = reverse("admin:consents_consentevent_change", args=[event.pk])
    assert client.post(change, {"granted": ""}).status_code == 403
    delete = reverse("admin:consents_consentevent_delete", args=[event.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    assert client.get(reverse("admin:consents_consentevent_add")).status_code == 403
    event.refresh_from_db()
    assert event.granted is True


@pytest.mark.parametrize(
    ("url_name", "field", "of"),
    [
        ("admin:consents_purpose_change", "key", "purpose"),
        ("admin:consents_organization_change", "slug", "organization"),
        ("admin:cookies_site_change", "key", "site"),
    ],
)
def test_names_the_ledger_hashes_cannot_be_renamed(client, organization, url_name, field, of):
    from tests.factories import SiteFactory

    site = SiteFactory(organization=organization, key="shop")
    rows = {"purpose": organization.purpose_map["analytics"], "organization": organization}
    row = rows.get(of, site)
    client.force_login(
        MembershipFactory(organization=organization, role=Membership.Role.ADMIN).user
    )
    page = client.get(reverse(url_name, args=[row.pk]))
    assert page.status_code == 200
    assert f'name="{field}"' not in page.content.decode()  # shown, not an input
    assert field in page.context["adminform"].readonly_fields


def test_an_auditor_cannot_queue_webhook_deliveries_again(auditor_client, organization):
    from consents.models import WebhookDelivery
    from tests.factories import WebhookEndpointFactory

    endpoint = WebhookEndpointFactory(organization=organization)
    record_consent(
        organization=organization,
        identifiers={"email": "cy@example.com"},
        choices={"marketing_email": True},
        source="api",
        actor="t",
    )
    delivery = WebhookDelivery.objects.filter(endpoint=endpoint).first()
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="delivered", attempts=1)
    page = auditor_client.get("/admin/consents/webhookdelivery/")
    action_form = page.context["action_form"]  # None: no action is offered at all
    assert action_form is None or "replay" not in str(action_form.fields["action"].choices)
    auditor_client.post(
        "/admin/consents/webhookdelivery/",
        {"action": "replay", "_selected_action": [delivery.pk]},
    )
    delivery.refresh_from_db()
    assert (delivery.status, delivery.attempts) == ("delivered", 1)


def test_only_an_administrator_is_offered_revoking_and_told_what_was_revoked(
    client, organization, other_organization
):
    from consents.models import ApiKey
    from tests.factories import ApiKeyFactory

    mine = ApiKeyFactory(organization=organization)
    audited = ApiKeyFactory(organization=other_organization)
    user = MembershipFactory(organization=other_organization, role=Membership.Role.AUDITOR).user
    client.force_login(user)
    page = client.get("/admin/consents/apikey/")
    action_form = page.context["action_form"]  # None: no action is offered at all
    assert action_form is None or "revoke" not in str(action_form.fields["action"].choices)
    client.post("/admin/consents/apikey/", {"action": "revoke", "_selected_action": [audited.pk]})
    assert ApiKey.objects.get(pk=audited.pk).revoked_at is None

    MembershipFactory(organization=organization, user=user, role=Membership.Role.ADMIN)
    response = client.post(
        "/admin/consents/apikey/",
        {"action": "revoke", "_selected_action": [mine.pk, audited.pk]},
        follow=True,
    )

    shown = [str(m) for m in response.context["messages"]]
    assert shown == [
        "1 revoked; 1 not: only an administrator of their organization may revoke them."
    ]
    assert ApiKey.objects.get(pk=mine.pk).revoked_at is not None
    assert ApiKey.objects.get(pk=audited.pk).revoked_at is None


def test_a_published_notice_keeps_the_purposes_it_named(client, organization):
    notice = organization.notice  # published, names the organization's cookie categories
    notice.purposes.set([organization.purpose_map["analytics"]])
    client.force_login(
        MembershipFactory(organization=organization, role=Membership.Role.ADMIN).user
    )
    change = reverse("admin:consents_notice_change", args=[notice.pk])
    page = client.get(change)
    assert page.status_code == 200
    assert 'name="purposes"' not in page.content.decode()
    client.post(change, {"purposes": [organization.purpose_map["marketing_email"].pk]})
    assert list(notice.purposes.values_list("key", flat=True)) == ["analytics"]


def test_an_erased_persons_suppressions_cannot_be_deleted_in_the_admin(client, organization):
    from consents.models import Suppression
    from tests.factories import SuppressionFactory

    suppression = SuppressionFactory(organization=organization)
    client.force_login(
        MembershipFactory(organization=organization, role=Membership.Role.ADMIN).user
    )
    delete = reverse("admin:consents_suppression_delete", args=[suppression.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    client.post(
        reverse("admin:consents_suppression_changelist"),
        {"action": "delete_selected", "_selected_action": [suppression.pk], "post": "yes"},
    )
    assert client.get(reverse("admin:consents_suppression_add")).status_code == 403
    assert Suppression.objects.filter(pk=suppression.pk).exists()


def test_an_organization_keeps_at_least_one_administrator(client, organization):
    admin_membership = MembershipFactory(organization=organization, role=Membership.Role.ADMIN)
    auditor = MembershipFactory(organization=organization, role=Membership.Role.AUDITOR)
    client.force_login(admin_membership.user)
    change = reverse("admin:consents_membership_change", args=[admin_membership.pk])
    demoted = client.post(
        change, {"organization": organization.pk, "role": Membership.Role.AUDITOR}
    )
    assert demoted.status_code == 200 and "at least one administrator" in demoted.content.decode()
    delete = reverse("admin:consents_membership_delete", args=[admin_membership.pk])
    assert client.post(delete, {"post": "yes"}).status_code == 403
    admin_membership.refresh_from_db()
    assert admin_membership.role == Membership.Role.ADMIN
    # Another member made administrator first: then the first may step down, and an auditor
    # can always be removed.
    client.post(
        reverse("admin:consents_membership_change", args=[auditor.pk]),
        {"organization": organization.pk, "role": Membership.Role.ADMIN},
    )
    assert (
        client.post(change, {"organization": organization.pk, "role": "auditor"}).status_code == 302
    )
    admin_membership.refresh_from_db()
    assert admin_membership.role == Membership.Role.AUDITOR


def test_a_bulk_delete_cannot_remove_every_administrator(client, organization):
    first = MembershipFactory(organization=organization, role=Membership.Role.ADMIN)
    second = MembershipFactory(organization=organization, role=Membership.Role.ADMIN)
    client.force_login(first.user)
    response = client.post(
        reverse("admin:consents_membership_changelist"),
        {"action": "delete_selected", "_selected_action": [first.pk, second.pk], "post": "yes"},
    )
    assert response.status_code == 403
    assert Membership.objects.filter(pk__in=[first.pk, second.pk]).count() == 2


def test_a_new_api_keys_secret_is_shown_once_and_never_stored_in_a_cookie(client, organization):
    from consents.api.authentication import KEY_PREFIX

    client.force_login(
        MembershipFactory(organization=organization, role=Membership.Role.ADMIN).user
    )
    created = client.post(
        reverse("admin:consents_apikey_add"),
        {"organization": organization.pk, "name": "crm", "scope_choices": ["consents:check"]},
    )
    assert created.status_code == 302
    assert "messages" not in created.cookies  # the message with the secret stays server-side
    shown = [str(m) for m in client.get(created["Location"]).context["messages"]]
    assert any(f"{KEY_PREFIX}_" in m for m in shown)
    assert all(f"{KEY_PREFIX}_" not in str(m) for m in client.get("/admin/").context["messages"])


def test_a_membership_cannot_be_moved_to_another_organization(
    admin_client, organization, other_organization
):
    # Even a platform superuser: moving one could take the last administrator away, or collide
    # with the user's own membership there (a 500).
    member = MembershipFactory(organization=organization, role=Membership.Role.ADMIN)
    MembershipFactory(organization=other_organization, user=member.user)
    change = reverse("admin:consents_membership_change", args=[member.pk])
    page = admin_client.get(change)
    assert "organization" in page.context["adminform"].readonly_fields
    admin_client.post(change, {"organization": other_organization.pk, "role": "admin"})
    member.refresh_from_db()
    assert member.organization == organization
