import pytest
from django.test import Client

from tests.factories import CookieDefinitionFactory, SiteFactory, VendorFactory

SHOP_ORIGIN = "https://shop.example"


@pytest.fixture
def site(organization):
    """A site offering the cookie categories and the US opt-outs, country from CF-IPCountry."""
    shop = SiteFactory(
        organization=organization,
        key="shop",
        allowed_origins=f"{SHOP_ORIGIN}\nhttps://www.shop.example",
        jurisdiction_header="CF-IPCountry",
        default_jurisdiction="DE",
    )
    pm = organization.purpose_map
    offered = ("necessary", "analytics", "advertising", "sale_share", "targeted_advertising")
    shop.purposes.set([pm[k] for k in offered])
    vendor = VendorFactory(
        organization=organization,
        name="Stats Inc",
        purpose=pm["analytics"],
        privacy_policy_url="https://stats.example/privacy",
    )
    CookieDefinitionFactory(
        organization=organization,
        name="_stats_*",
        purpose=pm["analytics"],
        vendor=vendor,
        lifetime="13 months",
        provider="Stats Inc",
    )
    return shop


@pytest.fixture
def browser_client():
    """A client that behaves like the banner: JSON sent as text/plain from an allowed origin."""

    class BannerClient(Client):
        def post_consent(self, site_key, body, origin=SHOP_ORIGIN, raw=None, **headers):
            import json

            if origin:
                headers["HTTP_ORIGIN"] = origin
            return self.post(
                f"/api/v1/sites/{site_key}/consents",
                data=raw if raw is not None else json.dumps(body),
                content_type="text/plain;charset=UTF-8",
                **headers,
            )

        def get_config(self, site_key, lang="en", **headers):
            return self.get(f"/api/v1/sites/{site_key}/config", {"lang": lang}, **headers)

    return BannerClient()
