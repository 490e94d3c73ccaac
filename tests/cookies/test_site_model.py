import pytest
from django.core.exceptions import ValidationError

from tests.factories import BannerTextFactory, SiteFactory

pytestmark = pytest.mark.django_db


def errors_of(site) -> dict:
    with pytest.raises(ValidationError) as raised:
        site.full_clean()
    return raised.value.message_dict


def test_a_well_configured_site_is_valid(organization):
    SiteFactory(organization=organization).full_clean()


def test_low_contrast_text_is_refused(organization):
    site = SiteFactory.build(organization=organization, text_color="#eeeeee")

    assert "text_color" in errors_of(site)


def test_a_malformed_colour_is_a_field_error_not_a_crash(organization):
    site = SiteFactory.build(organization=organization, background_color="white")

    assert "background_color" in errors_of(site)


@pytest.mark.parametrize(
    ("field", "value"),
    [
        ("consent_mode_map", ["ad_storage"]),
        ("consent_mode_map", {"ad_storage": 1}),
        ("consent_mode_map", {"tv_storage": "advertising"}),
        ("gpc_purposes", "sale_share"),
    ],
)
def test_wrongly_shaped_json_is_refused(organization, field, value):
    site = SiteFactory.build(organization=organization, **{field: value})

    assert field in errors_of(site)


def test_origins_must_be_scheme_host_and_port(organization):
    site = SiteFactory.build(organization=organization, allowed_origins="shop.example/path")

    assert "allowed_origins" in errors_of(site)


@pytest.mark.parametrize("field", ["purpose_names", "purpose_descriptions"])
@pytest.mark.parametrize("value", [["Statistics"], "Statistics", {"analytics": 5}])
def test_wrongly_shaped_banner_words_are_refused_and_never_break_the_banner(
    client, organization, field, value
):
    site = SiteFactory(organization=organization, key="shop")
    site.purposes.set([organization.purpose_map["analytics"]])
    text = BannerTextFactory.build(site=site, language="en", **{field: value})

    with pytest.raises(ValidationError) as raised:
        text.full_clean()
    assert field in raised.value.message_dict

    text.save()  # saved without validation (a shell, a data migration)
    response = client.get("/api/v1/sites/shop/config", {"lang": "en"})
    assert response.status_code == 200
    [analytics] = response.json()["purposes"]
    assert analytics["name"] == "Analytics"


@pytest.mark.parametrize("jurisdiction", ["Germany", "USA", "de", "US CA"])
def test_the_sites_default_jurisdiction_must_be_a_code(organization, jurisdiction):
    site = SiteFactory.build(organization=organization, default_jurisdiction=jurisdiction)

    assert "ISO 3166" in errors_of(site)["default_jurisdiction"][0]


def test_the_consent_cookie_lives_at_least_a_day(organization):
    site = SiteFactory.build(organization=organization, cookie_lifetime_days=0)

    assert "cookie_lifetime_days" in errors_of(site)


def test_gpc_purposes_must_be_purposes_of_the_organization(organization):
    """A mistyped key would leave the Global Privacy Control signal honoring nothing."""
    site = SiteFactory.build(organization=organization, gpc_purposes=["sale-share"])

    assert "sale-share" in errors_of(site)["gpc_purposes"][0]


def test_the_default_gpc_purposes_do_not_stop_an_organization_without_them(db):
    """An organization with no US opt-outs (cookie categories only) can still save a site with
    the shipped GPC purposes: they are no typo, there is simply nothing for them to opt out of."""
    from tests.factories import OrganizationFactory, PurposeFactory

    organization = OrganizationFactory(slug="eu-only")
    PurposeFactory(organization=organization, key="analytics", kind="cookie_category")
    SiteFactory.build(organization=organization, key="eu-shop").full_clean()
    typo = SiteFactory.build(organization=organization, key="eu-shop", gpc_purposes=["sale-share"])
    assert "sale-share" in errors_of(typo)["gpc_purposes"][0]


@pytest.mark.parametrize(
    "domain",
    [
        "https://example.com",  # a URL, not a domain
        "example.com/",
        "www.example.com:443",
        "192.0.2.10",  # an address has no subdomains to share with
        "example..com",
        "example.com.",
        "other.example",  # covers none of the site's hosts: refused by every browser there
    ],
)
def test_a_cookie_domain_the_browser_would_refuse_is_refused(organization, domain):
    site = SiteFactory.build(
        organization=organization,
        allowed_origins="https://www.example.com\nhttps://shop.example.com",
        cookie_domain=domain,
    )

    assert "cookie_domain" in errors_of(site)


@pytest.mark.parametrize("domain", ["", "example.com", ".example.com", "Shop.Example.com"])
def test_a_cookie_domain_covering_the_sites_hosts_is_valid(organization, domain):
    SiteFactory.build(
        organization=organization,
        allowed_origins="https://www.example.com\nhttps://shop.example.com",
        cookie_domain=domain,
    ).full_clean()


def test_an_opted_out_visitor_is_not_asked_again_within_twelve_months(organization):
    """CCPA: wait at least 12 months before asking an opted-out consumer to opt back in."""
    site = SiteFactory.build(organization=organization, opt_out_reprompt_days=90)

    assert "opt_out_reprompt_days" in errors_of(site)
    SiteFactory.build(organization=organization, opt_out_reprompt_days=365).full_clean()
