"""Configuration edited in the admin: a wrong value is a readable error, nothing is saved."""

import pytest

from consents.models import Membership
from tests.factories import MembershipFactory

pytestmark = pytest.mark.django_db


def change_form_data(client, url) -> dict:
    """The change form's fields as the page shows them, ready to post back."""
    page = client.get(url)
    data = {name: field.value() for name, field in page.context["adminform"].form._bound_items()}
    return {name: value for name, value in data.items() if value is not None}


@pytest.mark.parametrize("jurisdiction", ["Germany", "USA", "de", "US CA"])
def test_the_organizations_default_jurisdiction_must_be_a_code(client, organization, jurisdiction):
    client.force_login(
        MembershipFactory(organization=organization, role=Membership.Role.ADMIN).user
    )
    url = f"/admin/consents/organization/{organization.pk}/change/"
    data = change_form_data(client, url)
    assert client.post(url, data).status_code == 302  # the form as shown saves

    response = client.post(url, {**data, "default_jurisdiction": jurisdiction})

    assert response.status_code == 200
    assert "ISO 3166 code such as DE or US-CA" in response.content.decode()
    organization.refresh_from_db()
    assert organization.default_jurisdiction == "DE"


@pytest.mark.parametrize("language", ["German", "DE", "de_DE"])
def test_a_notices_language_must_be_a_language_code(client, organization, language):
    from consents.models import Notice

    client.force_login(
        MembershipFactory(organization=organization, role=Membership.Role.ADMIN).user
    )
    notice = {"organization": organization.pk, "version": "2026-02", "title": "T", "text": "X"}

    response = client.post("/admin/consents/notice/add/", {**notice, "language": language})

    assert response.status_code == 200
    assert "Use a code like en or pt-BR." in response.content.decode()
    assert not Notice.objects.filter(version="2026-02").exists()
    added = client.post("/admin/consents/notice/add/", {**notice, "language": "de"})
    assert added.status_code == 302


def test_a_webhook_receiver_must_be_an_http_url(client, organization):
    """The worker only posts over HTTP(S): any other URL would fail every delivery."""
    from consents.models import WebhookEndpoint

    client.force_login(
        MembershipFactory(organization=organization, role=Membership.Role.ADMIN).user
    )
    endpoint = {"organization": organization.pk, "is_active": "on"}

    response = client.post(
        "/admin/consents/webhookendpoint/add/", {**endpoint, "url": "ftp://hooks.example/in"}
    )

    assert response.status_code == 200
    assert "Enter an http or https URL." in response.content.decode()
    assert not WebhookEndpoint.objects.exists()
    added = client.post(
        "/admin/consents/webhookendpoint/add/", {**endpoint, "url": "https://hooks.example/in"}
    )
    assert added.status_code == 302
