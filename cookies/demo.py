"""The demo site (site key `demo`) and its cookie inventory."""

from urllib.parse import urlsplit

from django.conf import settings

from consents.models import Organization
from cookies.models import CookieDefinition, Site, Vendor


def seed_demo_site(organization: Organization) -> Site:
    site, _ = Site.objects.get_or_create(
        key="demo",
        defaults={
            "organization": organization,
            "name": "Demo site",
            "allowed_origins": "http://127.0.0.1:8000\nhttp://localhost:8000",
            "default_jurisdiction": "DE",
            "jurisdiction_header": "CF-IPCountry",
        },
    )
    # The demo page calls the API from wherever the server runs (`make run PORT=8080`).
    served_at = urlsplit(settings.PUBLIC_BASE_URL)
    origin = f"{served_at.scheme}://{served_at.netloc}".lower()
    if origin not in site.origin_list():
        site.allowed_origins = f"{site.allowed_origins.rstrip()}\n{origin}".strip()
        site.save(update_fields=["allowed_origins", "updated_at"])
    site.purposes.set(
        organization.purposes.filter(
            key__in=[
                "necessary",
                "functional",
                "analytics",
                "advertising",
                "sale_share",
                "targeted_advertising",
            ]
        )
    )
    purposes = {p.key: p for p in organization.purposes.all()}
    analytics_vendor, _ = Vendor.objects.get_or_create(
        organization=organization,
        name="Demo Analytics",
        defaults={
            "purpose": purposes["analytics"],
            "privacy_policy_url": "https://analytics.example/privacy",
            "description": "Counts page views.",
        },
    )
    ads_vendor, _ = Vendor.objects.get_or_create(
        organization=organization,
        name="Demo Ads",
        defaults={
            "purpose": purposes["advertising"],
            "privacy_policy_url": "https://ads.example/privacy",
            "description": "Measures ad campaigns.",
        },
    )
    inventory = [
        ("kz_consent", purposes["necessary"], None, "6 months", "Remembers your cookie choices."),
        ("csrftoken", purposes["necessary"], None, "1 year", "Protects forms against forgery."),
        ("demo_lang", purposes["functional"], None, "1 year", "Remembers your language."),
        (
            "demo_analytics",
            purposes["analytics"],
            analytics_vendor,
            "13 months",
            "Distinguishes visitors.",
        ),
        ("demo_ads", purposes["advertising"], ads_vendor, "90 days", "Ad campaign measurement."),
    ]
    for name, purpose, vendor, lifetime, description in inventory:
        CookieDefinition.objects.get_or_create(
            organization=organization,
            name=name,
            defaults={
                "purpose": purpose,
                "vendor": vendor,
                "lifetime": lifetime,
                "description": description,
                "provider": vendor.name if vendor else organization.name,
            },
        )
    return site
