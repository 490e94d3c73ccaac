import pytest

from cookies.models import CookieDefinition
from tests.factories import MembershipFactory, SiteFactory, UserFactory, VendorFactory

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


def vendor_form_with_a_cookie(vendor, **cookie) -> dict:
    """The vendor's change form as posted, with one new cookie row in its inline."""
    prefix = "cookies-"
    return {
        "organization": vendor.organization.pk,
        "name": vendor.name,
        "purpose": vendor.purpose.pk,
        "script_url": "",
        "privacy_policy_url": "https://v.example/privacy",
        "description": "",
        f"{prefix}TOTAL_FORMS": "1",
        f"{prefix}INITIAL_FORMS": "0",
        f"{prefix}MIN_NUM_FORMS": "0",
        f"{prefix}MAX_NUM_FORMS": "1000",
        **{f"{prefix}0-{name}": value for name, value in cookie.items()},
    }


def test_cookies_are_added_to_a_vendor_in_its_organization(admin_client, site, organization):
    vendor = VendorFactory(organization=organization, purpose=organization.purpose_map["analytics"])
    data = vendor_form_with_a_cookie(
        vendor,
        name="_v_id",
        domain=".shop.example",
        lifetime="1 year",
        provider="V",
        purpose=organization.purpose_map["analytics"].pk,
        description="Visitor id",
    )

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


def test_rows_of_one_organization_never_link_to_another_ones(
    client, organization, other_organization
):
    """A member of both organizations (admin of one, auditor of the other, or admin of both)
    is offered, or can post, the other's purposes: the admin refuses the link."""
    from consents.models import Membership
    from tests.factories import MembershipFactory

    user = MembershipFactory(organization=organization, role=Membership.Role.ADMIN).user
    MembershipFactory(organization=other_organization, user=user, role=Membership.Role.ADMIN)
    client.force_login(user)
    foreign = other_organization.purpose_map["analytics"]
    site = SiteFactory(organization=organization, key="shop-a")
    vendor = VendorFactory(organization=organization, purpose=organization.purpose_map["analytics"])

    added = client.post(
        "/admin/cookies/cookiedefinition/add/",
        {"organization": organization.pk, "name": "injected", "purpose": foreign.pk},
    )
    assert added.status_code == 200 and "this row&#x27;s own organization" in added.content.decode()
    inline = client.post(
        f"/admin/cookies/vendor/{vendor.pk}/change/",
        vendor_form_with_a_cookie(vendor, name="_foreign", purpose=foreign.pk),
    )
    assert inline.status_code == 200
    page = client.get(f"/admin/cookies/site/{site.pk}/change/")
    data = {name: field.value() for name, field in page.context["adminform"].form._bound_items()}
    data = {name: value for name, value in data.items() if value is not None}
    for inline in page.context["inline_admin_formsets"]:
        management = inline.formset.management_form
        data.update({f"{management.prefix}-{k}": v for k, v in management.initial.items()})
    unchanged = client.post(f"/admin/cookies/site/{site.pk}/change/", data)
    assert unchanged.status_code == 302  # the form as shown saves
    changed = client.post(
        f"/admin/cookies/site/{site.pk}/change/", {**data, "purposes": [foreign.pk]}
    )
    assert changed.status_code == 200 and "own organization" in changed.content.decode()
    assert not CookieDefinition.objects.filter(name__in=["injected", "_foreign"]).exists()
    assert list(site.purposes.all()) == []
