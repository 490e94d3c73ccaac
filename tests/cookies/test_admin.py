import pytest

from cookies.models import CookieDefinition
from tests.factories import MembershipFactory, UserFactory, VendorFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def admin_client(client, organization):
    user = UserFactory(is_superuser=False)
    MembershipFactory(organization=organization, user=user)
    client.force_login(user)
    return client


def test_site_page_shows_the_exact_embed_snippet(admin_client, site, settings):
    settings.PUBLIC_BASE_URL = "https://consent.example"

    response = admin_client.get(f"/admin/cookies/site/{site.pk}/change/")

    assert response.status_code == 200
    expected = (
        "&lt;script src=&quot;https://consent.example/static/kaizen/banner.js&quot; "
        "data-site-key=&quot;shop&quot; data-api=&quot;https://consent.example&quot;&gt;"
        "&lt;/script&gt;"
    )
    assert expected in response.content.decode()


def test_cookies_are_added_to_a_vendor_in_its_organization(admin_client, site, organization):
    vendor = VendorFactory(organization=organization, purpose=organization.purpose_map["analytics"])
    prefix = "cookies-"
    data = {
        "organization": organization.pk,
        "name": vendor.name,
        "purpose": organization.purpose_map["analytics"].pk,
        "script_url": "",
        "privacy_policy_url": "https://v.example/privacy",
        "description": "",
        f"{prefix}TOTAL_FORMS": "1",
        f"{prefix}INITIAL_FORMS": "0",
        f"{prefix}MIN_NUM_FORMS": "0",
        f"{prefix}MAX_NUM_FORMS": "1000",
        f"{prefix}0-name": "_v_id",
        f"{prefix}0-domain": ".shop.example",
        f"{prefix}0-lifetime": "1 year",
        f"{prefix}0-provider": "V",
        f"{prefix}0-purpose": organization.purpose_map["analytics"].pk,
        f"{prefix}0-description": "Visitor id",
    }

    response = admin_client.post(f"/admin/cookies/vendor/{vendor.pk}/change/", data)

    assert response.status_code == 302, response.content.decode()[:2000]
    cookie = CookieDefinition.objects.get(name="_v_id")
    assert cookie.organization == organization and cookie.vendor == vendor


def test_inventory_edits_show_up_in_the_banner_config(admin_client, site, organization, client):
    CookieDefinition.objects.create(
        organization=organization,
        name="_ads_id",
        purpose=organization.purpose_map["advertising"],
        lifetime="90 days",
    )

    config = client.get("/api/v1/sites/shop/config").json()

    advertising = next(p for p in config["purposes"] if p["key"] == "advertising")
    assert [c["name"] for c in advertising["cookies"]] == ["_ads_id"]
