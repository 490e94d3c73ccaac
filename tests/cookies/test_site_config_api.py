import pytest
from django.utils import timezone

from consents.models import Notice
from cookies.texts import DEFAULT_TEXTS
from tests.cookies.conftest import SHOP_ORIGIN
from tests.cookies.test_banner_consent_api import consent_body
from tests.factories import BannerTextFactory, NoticeFactory

pytestmark = pytest.mark.django_db


def test_config_carries_purposes_inventory_and_contract_fields(browser_client, site):
    response = browser_client.get_config("shop")

    assert response.status_code == 200
    config = response.json()
    for field in (
        "site",
        "config_version",
        "language",
        "rtl",
        "jurisdiction",
        "jurisdiction_group",
        "notice",
        "purposes",
        "texts",
        "appearance",
        "cookie",
        "gpc_purposes",
        "consent_mode",
        "preference_center_url",
        "privacy_policy_url",
        "gpp",
    ):
        assert field in config
    assert config["site"] == "shop"
    assert config["jurisdiction"] == "DE" and config["jurisdiction_group"] == "eu"
    assert config["notice"]["version"] == "2026-01"
    assert config["cookie"]["name"] == "kz_consent"
    assert config["preference_center_url"].endswith("/preferences/shop/")
    purposes = {p["key"]: p for p in config["purposes"]}
    assert set(purposes) == {
        "necessary",
        "analytics",
        "advertising",
        "sale_share",
        "targeted_advertising",
    }
    assert purposes["necessary"]["mode"] == "always_on"
    assert purposes["analytics"]["mode"] == "opt_in"
    assert purposes["analytics"]["cookies"] == [
        {
            "name": "_stats_*",
            "domain": "",
            "lifetime": "13 months",
            "provider": "Stats Inc",
            "description": "",
        }
    ]
    assert purposes["analytics"]["vendors"][0]["privacy_policy_url"] == (
        "https://stats.example/privacy"
    )
    assert "marketing_email" not in purposes  # not offered by this site


def test_jurisdiction_comes_from_the_configured_header(browser_client, site):
    response = browser_client.get_config("shop", HTTP_CF_IPCOUNTRY="US-CA")

    config = response.json()
    assert config["jurisdiction"] == "US-CA"
    assert config["jurisdiction_group"] == "us"
    modes = {p["key"]: p["mode"] for p in config["purposes"]}
    assert modes["sale_share"] == "opt_out"
    assert "CF-IPCountry" in response["Vary"]


def test_us_opt_outs_of_sale_and_targeted_ads_also_deny_the_consent_mode_ad_signals(
    browser_client, site
):
    us = browser_client.get_config("shop", HTTP_CF_IPCOUNTRY="US-CA").json()
    assert us["consent_mode_opt_outs"] == {
        "ad_user_data": ["sale_share"],
        "ad_personalization": ["targeted_advertising"],
    }
    assert us["consent_mode"]["ad_user_data"] == "advertising"  # the site's map is unchanged
    # Outside the US these purposes are not opt-outs: only the mapped purpose counts.
    assert browser_client.get_config("shop").json()["consent_mode_opt_outs"] == {}


def test_garbage_in_the_jurisdiction_header_falls_back_to_the_site_default(browser_client, site):
    config = browser_client.get_config("shop", HTTP_CF_IPCOUNTRY="<script>").json()

    assert config["jurisdiction"] == "DE"


@pytest.mark.parametrize("language", ["en", "de", "fr", "es", "ar"])
def test_shipped_texts_for_each_language(browser_client, site, language):
    config = browser_client.get_config("shop", lang=language).json()

    assert config["language"] == language
    assert config["texts"]["accept_all"] == DEFAULT_TEXTS[language]["accept_all"]
    assert config["texts"]["reject_all"] == DEFAULT_TEXTS[language]["reject_all"]
    assert config["rtl"] is (language == "ar")


def test_regional_tag_uses_its_language_and_unknown_falls_back_to_english(browser_client, site):
    assert browser_client.get_config("shop", lang="de-AT").json()["language"] == "de"
    assert browser_client.get_config("shop", lang="xx").json()["language"] == "en"


def test_site_texts_override_the_shipped_ones(browser_client, site):
    BannerTextFactory(
        site=site,
        language="de",
        title="Cookies bei Shop",
        accept_all="",
        purpose_names={"analytics": "Statistik"},
    )

    config = browser_client.get_config("shop", lang="de").json()

    assert config["texts"]["title"] == "Cookies bei Shop"
    assert config["texts"]["accept_all"] == DEFAULT_TEXTS["de"]["accept_all"]
    names = {p["key"]: p["name"] for p in config["purposes"]}
    assert names["analytics"] == "Statistik"


def test_a_language_added_in_the_admin_is_served(browser_client, site):
    BannerTextFactory(site=site, language="he", title="עוגיות", right_to_left=True)

    config = browser_client.get_config("shop", lang="he").json()

    assert config["language"] == "he"
    assert config["rtl"] is True
    assert config["texts"]["title"] == "עוגיות"


def test_etag_and_cache_control_and_304_on_if_none_match(browser_client, site):
    first = browser_client.get_config("shop")
    etag = first["ETag"]

    assert etag == f'"{first.json()["config_version"]}"'
    assert "max-age" in first["Cache-Control"] and "public" in first["Cache-Control"]
    again = browser_client.get_config("shop", HTTP_IF_NONE_MATCH=etag)
    assert again.status_code == 304
    assert again.content == b""
    assert again["ETag"] == etag


def test_config_version_changes_when_the_config_changes(browser_client, site, organization):
    before = browser_client.get_config("shop").json()["config_version"]
    NoticeFactory(organization=organization, version="2026-02")

    after = browser_client.get_config("shop", HTTP_IF_NONE_MATCH=f'"{before}"')

    assert after.status_code == 200
    assert after.json()["notice"]["version"] == "2026-02"
    assert after.json()["config_version"] != before


def test_unknown_site_is_404(browser_client, db):
    response = browser_client.get_config("nope")

    assert response.status_code == 404
    assert response.json()["code"] == "unknown_site"


def test_cors_header_only_for_the_sites_own_origins(browser_client, site):
    allowed = browser_client.get_config("shop", HTTP_ORIGIN=SHOP_ORIGIN)
    refused = browser_client.get_config("shop", HTTP_ORIGIN="https://evil.example")

    assert allowed["Access-Control-Allow-Origin"] == SHOP_ORIGIN
    assert "Access-Control-Allow-Origin" not in refused
    assert "origin" in allowed["Vary"].lower()


def test_origin_of_one_site_is_not_allowed_for_another(browser_client, site, organization):
    from tests.factories import SiteFactory

    SiteFactory(organization=organization, key="blog", allowed_origins="https://blog.example")

    response = browser_client.get_config("blog", HTTP_ORIGIN=SHOP_ORIGIN)

    assert "Access-Control-Allow-Origin" not in response


def test_preflight_is_answered_for_allowed_origins_only(browser_client, site):
    def preflight(origin):
        return browser_client.options(
            "/api/v1/sites/shop/consents",
            HTTP_ORIGIN=origin,
            HTTP_ACCESS_CONTROL_REQUEST_METHOD="POST",
            HTTP_ACCESS_CONTROL_REQUEST_HEADERS="content-type",
        )

    allowed = preflight("https://www.shop.example")
    refused = preflight("https://evil.example")

    assert allowed["Access-Control-Allow-Origin"] == "https://www.shop.example"
    assert "POST" in allowed["Access-Control-Allow-Methods"]
    assert "Access-Control-Allow-Origin" not in refused


def test_changing_allowed_origins_takes_effect_at_once(browser_client, site):
    before = browser_client.get_config("shop", HTTP_ORIGIN=SHOP_ORIGIN)
    assert "Access-Control-Allow-Origin" in before
    site.allowed_origins = "https://new.example"
    site.save()

    response = browser_client.get_config("shop", HTTP_ORIGIN=SHOP_ORIGIN)

    assert "Access-Control-Allow-Origin" not in response


def _add_cookie(site, organization):
    from tests.factories import CookieDefinitionFactory

    CookieDefinitionFactory(
        organization=organization, name="_new", purpose=organization.purpose_map["advertising"]
    )


def _rename_purpose(site, organization):
    purpose = organization.purpose_map["analytics"]
    purpose.name = "Audience measurement"
    purpose.save()


def _override_text(site, organization):
    BannerTextFactory(site=site, language="en", title="Cookies at Shop")


def _offer_purpose(site, organization):
    site.purposes.add(organization.purpose_map["marketing_email"])


def _recolour(site, organization):
    site.accent_color = "#000000"
    site.save()


@pytest.mark.parametrize(
    "edit", [_add_cookie, _rename_purpose, _override_text, _offer_purpose, _recolour]
)
def test_edits_reach_the_config_at_once_despite_the_server_cache(
    browser_client, site, organization, edit
):
    before = browser_client.get_config("shop").json()
    assert browser_client.get_config("shop").json() == before  # served from the cache

    edit(site, organization)

    after = browser_client.get_config("shop").json()
    assert after["config_version"] != before["config_version"]


def test_an_origin_registered_with_its_default_port_is_allowed(browser_client, site):
    """Browsers leave the default port out of `Origin`: `https://shop.example:443` registered
    in the admin is the origin `https://shop.example`."""
    site.allowed_origins = "https://shop.example:443\nhttp://legacy.shop.example:80/"
    site.full_clean()
    site.save()

    for origin in ("https://shop.example", "http://legacy.shop.example"):
        response = browser_client.get_config("shop", HTTP_ORIGIN=origin)
        assert response["Access-Control-Allow-Origin"] == origin
    assert "Access-Control-Allow-Origin" not in browser_client.get_config(
        "shop", HTTP_ORIGIN="https://shop.example:8443"
    )
    recorded = browser_client.post_consent("shop", consent_body(), origin="https://shop.example")
    assert recorded.status_code == 201


def test_a_regional_text_falls_back_to_the_sites_own_words_for_its_language(browser_client, site):
    """pt-BR words the site left empty come from its pt words, then the shipped ones."""
    BannerTextFactory(
        site=site,
        language="pt",
        title="Suas escolhas de privacidade",
        accept_all="Aceitar tudo",
        purpose_names={"analytics": "Estatísticas"},
    )
    BannerTextFactory(site=site, language="pt-BR", title="Privacidade na Shop")

    config = browser_client.get_config("shop", lang="pt-BR").json()

    assert config["language"] == "pt-BR"
    assert config["texts"]["title"] == "Privacidade na Shop"
    assert config["texts"]["accept_all"] == "Aceitar tudo"
    assert config["texts"]["close"] == DEFAULT_TEXTS["en"]["close"]
    names = {p["key"]: p["name"] for p in config["purposes"]}
    assert names["analytics"] == "Estatísticas"


def test_a_language_without_a_notice_gets_the_english_one_not_the_newest_of_any(
    browser_client, site, organization
):
    """A French banner with no French notice shows the English one, not a newer German one;
    a notice matches its language whatever the case of the site's tag (pt-br, pt-BR)."""
    day = timezone.timedelta(days=1)
    Notice.objects.filter(pk=organization.notice.pk).update(published_at=timezone.now() - 3 * day)
    NoticeFactory(
        organization=organization,
        version="2026-01-pt",
        language="pt-BR",
        published_at=timezone.now() - 2 * day,
    )
    NoticeFactory(organization=organization, version="2026-01-de", language="de")
    BannerTextFactory(site=site, language="pt-br", title="Privacidade")

    def notice_version(language):
        return browser_client.get_config("shop", lang=language).json()["notice"]["version"]

    assert notice_version("fr") == "2026-01"
    assert notice_version("de") == "2026-01-de"
    assert notice_version("pt-BR") == "2026-01-pt"
