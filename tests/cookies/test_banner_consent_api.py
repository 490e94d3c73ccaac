import json

import pytest
from django.test import override_settings

from consents.models import ConsentEvent, ConsentState, SubjectIdentifier
from tests.cookies.conftest import SHOP_ORIGIN

pytestmark = pytest.mark.django_db

VISITOR = "visitor-0123456789abcdef"


def consent_body(**overrides):
    body = {
        "visitor_id": VISITOR,
        "choices": {"analytics": True, "advertising": False},
        "notice_version": "2026-01",
        "gpc": False,
        "event_id": "evt-0000000001",
        "occurred_at": "2026-11-20T10:00:00Z",
    }
    body.update(overrides)
    return body


def events_by_purpose():
    return {e.purpose.key: e for e in ConsentEvent.objects.select_related("purpose", "site")}


def test_banner_choices_are_recorded_in_the_ledger_and_state(browser_client, site):
    response = browser_client.post_consent("shop", consent_body())

    assert response.status_code == 201
    assert response.json()["choices"] == {"analytics": True, "advertising": False}
    assert response["Access-Control-Allow-Origin"] == SHOP_ORIGIN
    events = events_by_purpose()
    assert set(events) == {"analytics", "advertising"}
    analytics = events["analytics"]
    assert analytics.granted is True and analytics.source == "banner"
    assert analytics.actor == "visitor"
    assert analytics.site == site
    assert analytics.notice.version == "2026-01"
    assert analytics.jurisdiction == "DE"
    assert analytics.occurred_at.isoformat().startswith("2026-11-20T10:00:00")
    assert events["advertising"].granted is False
    states = {s.purpose.key: s.granted for s in ConsentState.objects.select_related("purpose")}
    assert states == {"analytics": True, "advertising": False}
    assert SubjectIdentifier.objects.filter(kind="visitor_id").count() == 1


def test_resending_the_same_event_is_a_harmless_replay(browser_client, site):
    first = browser_client.post_consent("shop", consent_body())
    again = browser_client.post_consent("shop", consent_body())

    assert first.status_code == 201
    assert again.status_code == 200
    assert again.json()["replayed"] is True
    assert ConsentEvent.objects.count() == 2


def test_reusing_an_event_id_for_other_choices_is_a_conflict(browser_client, site):
    browser_client.post_consent("shop", consent_body())

    response = browser_client.post_consent("shop", consent_body(choices={"analytics": False}))

    assert response.status_code == 409
    assert ConsentEvent.objects.count() == 2


def test_application_json_is_accepted_too(browser_client, site):
    response = browser_client.post(
        "/api/v1/sites/shop/consents",
        data=consent_body(),
        content_type="application/json",
        HTTP_ORIGIN=SHOP_ORIGIN,
    )

    assert response.status_code == 201


def test_refused_origin_gets_403_and_nothing_is_written(browser_client, site):
    response = browser_client.post_consent("shop", consent_body(), origin="https://evil.example")

    assert response.status_code == 403
    assert response.json()["code"] == "origin_not_allowed"
    assert "Access-Control-Allow-Origin" not in response
    assert ConsentEvent.objects.count() == 0


def test_missing_origin_gets_403(browser_client, site):
    response = browser_client.post_consent("shop", consent_body(), origin=None)

    assert response.status_code == 403
    assert ConsentEvent.objects.count() == 0


def test_unknown_site_is_404(browser_client, site):
    response = browser_client.post_consent("nope", consent_body())

    assert response.status_code == 404
    assert ConsentEvent.objects.count() == 0


@pytest.mark.parametrize(
    ("raw", "field"),
    [
        ("{not json", "detail"),
        ("[1, 2]", "detail"),
        ('"text"', "detail"),
        (json.dumps(consent_body(choices={})), "choices"),
        (json.dumps(consent_body(choices={"analytics": "yes"})), "choices"),
        (json.dumps(consent_body(choices=["analytics"])), "choices"),
        (json.dumps(consent_body(visitor_id="short")), "subject"),
        (json.dumps(consent_body(event_id="x")), "event_id"),
        (json.dumps(consent_body(occurred_at="yesterday")), "occurred_at"),
        (json.dumps(consent_body(notice_version="1999-01")), "notice_version"),
        (json.dumps({k: v for k, v in consent_body().items() if k != "visitor_id"}), "visitor_id"),
    ],
)
def test_malformed_bodies_get_400_and_nothing_is_written(browser_client, site, raw, field):
    response = browser_client.post_consent("shop", None, raw=raw)

    assert response.status_code == 400
    assert field in response.json()
    assert ConsentEvent.objects.count() == 0


def test_purpose_the_site_does_not_offer_is_refused(browser_client, site):
    # marketing_email exists in the organization but is not a banner purpose of this site.
    response = browser_client.post_consent(
        "shop", consent_body(choices={"analytics": True, "marketing_email": True})
    )

    assert response.status_code == 400
    assert "marketing_email" in response.json()["choices"]
    assert ConsentEvent.objects.count() == 0


def test_unknown_purpose_is_refused(browser_client, site):
    response = browser_client.post_consent("shop", consent_body(choices={"telepathy": True}))

    assert response.status_code == 400
    assert ConsentEvent.objects.count() == 0


def test_refusing_a_strictly_necessary_purpose_is_refused(browser_client, site):
    response = browser_client.post_consent("shop", consent_body(choices={"necessary": False}))

    assert response.status_code == 400
    assert ConsentEvent.objects.count() == 0


@override_settings(KAIZEN_VISITOR_MAX_BODY_BYTES=512)
def test_oversized_body_gets_413_and_nothing_is_written(browser_client, site):
    body = consent_body(notice_version="2026-01", padding="x" * 600)

    response = browser_client.post_consent("shop", body)

    assert response.status_code == 413
    assert response.json()["code"] == "body_too_large"
    assert ConsentEvent.objects.count() == 0


@pytest.mark.parametrize("header", ["1", "0, 1"])
def test_gpc_header_in_an_opt_out_jurisdiction_opts_out_of_sale_and_sharing(
    browser_client, site, header
):
    response = browser_client.post_consent(
        "shop",
        consent_body(choices={"analytics": True, "sale_share": True}),
        HTTP_SEC_GPC=header,
        HTTP_CF_IPCOUNTRY="US-CA",
    )

    assert response.status_code == 201
    assert sorted(response.json()["gpc_applied"]) == ["sale_share", "targeted_advertising"]
    events = events_by_purpose()
    assert events["sale_share"].granted is False and events["sale_share"].source == "gpc"
    assert events["targeted_advertising"].granted is False
    assert events["targeted_advertising"].source == "gpc"
    assert events["analytics"].granted is True and events["analytics"].source == "banner"
    assert events["sale_share"].jurisdiction == "US-CA"
    assert "Sec-GPC" in response["Vary"]


@pytest.mark.parametrize("unknown", ["XX", "ZZ", "T1"])
def test_a_country_header_that_does_not_know_the_country_falls_back_to_the_site_default(
    browser_client, site, unknown
):
    response = browser_client.post_consent(
        "shop", consent_body(choices={"analytics": True}), HTTP_CF_IPCOUNTRY=unknown
    )

    assert response.status_code == 201
    assert events_by_purpose()["analytics"].jurisdiction == "DE"


def test_gpc_flag_in_the_body_counts_like_the_header(browser_client, site):
    response = browser_client.post_consent(
        "shop", consent_body(choices={"analytics": False}, gpc=True), HTTP_CF_IPCOUNTRY="US"
    )

    assert response.status_code == 201
    assert events_by_purpose()["sale_share"].source == "gpc"


def test_gpc_header_with_another_value_is_ignored(browser_client, site):
    browser_client.post_consent(
        "shop",
        consent_body(choices={"sale_share": True}),
        HTTP_SEC_GPC="0",
        HTTP_CF_IPCOUNTRY="US-CA",
    )

    events = events_by_purpose()
    assert set(events) == {"sale_share"}
    assert events["sale_share"].granted is True and events["sale_share"].source == "banner"


def test_gpc_in_an_opt_in_jurisdiction_records_no_gpc_source(browser_client, site):
    response = browser_client.post_consent(
        "shop", consent_body(choices={"sale_share": False}), HTTP_SEC_GPC="1"
    )

    assert response.json()["gpc_applied"] == []
    events = events_by_purpose()
    assert set(events) == {"sale_share"}
    assert events["sale_share"].source == "banner"


@override_settings(KAIZEN_RATE_LIMITS={"visitor_ip": (2, 60), "visitor_site": (1000, 60)})
def test_rate_limit_per_ip(browser_client, site):
    statuses = [
        browser_client.post_consent("shop", consent_body(event_id=f"evt-ip-{n:08d}")).status_code
        for n in range(3)
    ]

    assert statuses == [201, 201, 429]
    limited = browser_client.post_consent("shop", consent_body(event_id="evt-ip-99999999"))
    assert int(limited["Retry-After"]) >= 1
    assert ConsentEvent.objects.count() == 4
    other_ip = browser_client.post_consent(
        "shop", consent_body(event_id="evt-ip-77777777"), REMOTE_ADDR="198.51.100.9"
    )
    assert other_ip.status_code == 201


@override_settings(KAIZEN_RATE_LIMITS={"visitor_ip": (1000, 60), "visitor_site": (2, 60)})
def test_rate_limit_per_site_across_addresses(browser_client, site):
    statuses = [
        browser_client.get_config("shop", REMOTE_ADDR=f"198.51.100.{n}").status_code
        for n in range(1, 4)
    ]

    assert statuses == [200, 200, 429]
    assert browser_client.get_config("shop")["Retry-After"]


def _choice_body(event_id, **choices):
    return consent_body(event_id=f"evt-cache-{event_id}", choices=choices)


def test_site_edits_reach_the_cached_site_at_once(browser_client, site, organization):
    """The site, its offered purposes and key are cached per key; edits drop them at once."""

    def status(event, **choices):
        return browser_client.post_consent("shop", _choice_body(event, **choices)).status_code

    assert status("e1", analytics=True) == 201
    assert status("e2", marketing_email=True) == 400
    site.purposes.add(organization.purpose_map["marketing_email"])
    assert status("e3", marketing_email=True) == 201
    site.purposes.remove(organization.purpose_map["analytics"])
    assert status("e4", analytics=True) == 400
    site.key = "shop-renamed"
    site.save()
    assert status("e5", marketing_email=True) == 404
    assert browser_client.get_config("shop").status_code == 404
    assert browser_client.get_config("shop-renamed").status_code == 200


@pytest.mark.parametrize("gpc", ["true", 1, "yes"])
def test_the_gpc_flag_must_be_a_boolean(browser_client, site, gpc):
    response = browser_client.post_consent("shop", consent_body(gpc=gpc))
    assert response.status_code == 400, response.content
    assert not ConsentEvent.objects.exists()
