"""Abuse: floods stay local to their site, failed authentication is limited and logged safely."""

import json
import logging

import pytest
from django.test import Client, override_settings

from consents.models import ConsentEvent
from tests.factories import SiteFactory

pytestmark = pytest.mark.django_db


def limits(*, visitor_ip=120, visitor_site=20_000, public_ip=60, auth_failure_ip=20) -> dict:
    """Rate limits for a test: requests allowed per minute (failed sign-ins per 5 minutes)."""
    return {
        "visitor_ip": (visitor_ip, 60),
        "visitor_site": (visitor_site, 60),
        "public_ip": (public_ip, 60),
        "auth_failure_ip": (auth_failure_ip, 300),
    }


@override_settings(KAIZEN_RATE_LIMITS=limits(visitor_ip=10_000, visitor_site=5))
def test_flood_against_one_site_does_not_degrade_another(organization):
    SiteFactory(organization=organization, key="flooded")
    SiteFactory(organization=organization, key="quiet")
    client = Client()
    flood = [
        client.get("/api/v1/sites/flooded/config", REMOTE_ADDR=f"203.0.113.{n}").status_code
        for n in range(1, 31)
    ]
    assert flood.count(429) == 25
    assert client.get("/api/v1/sites/quiet/config", REMOTE_ADDR="203.0.113.1").status_code == 200


@override_settings(KAIZEN_RATE_LIMITS=limits(auth_failure_ip=3))
def test_failed_authentication_is_rate_limited_and_logged_without_the_key(
    api, organization, caplog
):
    secret = "kzc_abcdef123456_this-is-a-guessed-secret-value"
    api.credentials(HTTP_AUTHORIZATION=f"Bearer {secret}")
    with caplog.at_level(logging.WARNING, logger="kaizen.auth"):
        answers = [api.get("/api/v1/events") for _ in range(5)]
    assert [a.status_code for a in answers] == [401, 401, 401, 429, 429]
    assert 1 <= int(answers[-1]["Retry-After"]) <= 300
    assert "authentication failed" in caplog.text
    assert "this-is-a-guessed-secret-value" not in caplog.text
    api.as_key(organization, "events:read")
    # The limit is per address: callers elsewhere are not locked out by one guesser.
    assert api.get("/api/v1/events", REMOTE_ADDR="198.51.100.20").status_code == 200


def test_last_used_time_is_recorded(api, organization):
    from consents.models import ApiKey

    api.as_key(organization, "events:read")
    assert ApiKey.objects.get().last_used_at is None
    api.get("/api/v1/events")
    assert ApiKey.objects.get().last_used_at is not None


def test_oversized_api_body_is_refused_cleanly(api, organization):
    api.as_key(organization, "consents:check")
    huge = json.dumps(
        {
            "purpose": "marketing_email",
            "identifier_type": "email",
            "identifiers": ["a" * 300 + "@example.com"] * 10_000,
        }
    )
    response = api.post("/api/v1/checks", huge, content_type="application/json")
    assert response.status_code == 413
    assert response.json()


def test_malformed_json_is_a_400_not_a_500(api, organization):
    api.as_key(organization, "consents:write")
    response = api.post("/api/v1/consents", "{not json", content_type="application/json")
    assert response.status_code == 400
    assert ConsentEvent.objects.count() == 0


def test_deeply_nested_json_is_a_400_on_the_banner_api(organization):
    site = SiteFactory(
        organization=organization, key="deep", allowed_origins="https://deep.example"
    )
    response = Client().post(
        "/api/v1/sites/deep/consents",
        "[" * 1000 + "]" * 1000,
        content_type="text/plain",
        HTTP_ORIGIN="https://deep.example",
    )
    assert response.status_code == 400 and site.pk
    assert ConsentEvent.objects.count() == 0


def test_malformed_consent_cookie_does_not_break_preference_pages(organization):
    site = SiteFactory(organization=organization, key="cookieshop")
    client = Client()
    client.cookies["kz_consent"] = "[" * 1000
    assert client.get(f"/preferences/{site.key}/").status_code == 200
    assert client.get(f"/privacy-choices/{organization.slug}/").status_code == 200


def test_longest_site_key_and_event_id_are_accepted(organization):
    site = SiteFactory(
        organization=organization, key="k" * 64, allowed_origins="https://long.example"
    )
    site.purposes.set([organization.purpose_map["analytics"]])
    body = json.dumps(
        {
            "visitor_id": "visitor-0123456789abcdef",
            "event_id": "e" * 64,
            "choices": {"analytics": True},
        }
    )
    for expected in (201, 200):  # the replay answers from the stored result
        response = Client().post(
            f"/api/v1/sites/{site.key}/consents",
            body,
            content_type="text/plain",
            HTTP_ORIGIN="https://long.example",
        )
        assert response.status_code == expected, response.content
    assert ConsentEvent.objects.count() == 1


@override_settings(KAIZEN_RATE_LIMITS=limits(visitor_ip=5, public_ip=5))
def test_an_ipv6_client_cannot_escape_the_per_address_limit_by_changing_address(organization):
    """A client gets a whole /64 and may pick any address in it: the limit counts the /64."""
    SiteFactory(organization=organization, key="shop")
    client = Client()
    answers = [
        client.get("/api/v1/sites/shop/config", REMOTE_ADDR=f"2001:db8:1:2::{n:x}").status_code
        for n in range(1, 9)
    ]
    assert answers.count(429) == 3
    decoded = [
        client.get(
            "/api/v1/gpp/decode", {"string": "1YNN"}, REMOTE_ADDR=f"2001:db8:1:2:{n:x}::1"
        ).status_code
        for n in range(1, 9)
    ]
    assert decoded.count(429) == 3
    # Another /64, and IPv4 (also written IPv4-mapped), have limits of their own.
    assert client.get("/api/v1/sites/shop/config", REMOTE_ADDR="2001:db8:1:3::1").status_code == 200
    for address in ("203.0.113.9", "::ffff:203.0.113.9", "::ffff:203.0.113.9"):
        assert client.get("/api/v1/sites/shop/config", REMOTE_ADDR=address).status_code == 200


def test_failed_authentication_logs_the_network_not_the_full_address(api, caplog):
    """Logs keep the least personal data: the caller's /24 (IPv6 /48), as the ledger does."""
    api.credentials(HTTP_AUTHORIZATION="Bearer kzc_abcdef123456_wrong")
    with caplog.at_level(logging.WARNING, logger="kaizen.auth"):
        api.get("/api/v1/events", REMOTE_ADDR="198.51.100.77")
        api.get("/api/v1/events", REMOTE_ADDR="2001:db8:1:2:3:4:5:6")
    assert "authentication failed" in caplog.text
    assert "198.51.100.77" not in caplog.text and "198.51.100.0" in caplog.text
    assert "2001:db8:1:2:3:4:5:6" not in caplog.text and "2001:db8:1::" in caplog.text


@override_settings(KAIZEN_RATE_LIMITS=limits(auth_failure_ip=3))
def test_admin_sign_in_guesses_are_limited_per_address(db):
    from django.core.cache import cache

    from tests.factories import UserFactory

    cache.clear()  # the failure counts of earlier tests from this address

    user = UserFactory(username="ada", is_staff=True)
    user.set_password("right-password-4711")
    user.save()
    client = Client()
    guesses = [
        client.post("/admin/login/", {"username": "ada", "password": f"guess-{n}"}).status_code
        for n in range(4)
    ]
    assert guesses == [200, 200, 200, 429]
    # Refused before the password is looked at: even the right one gets no answer here...
    right = {"username": "ada", "password": "right-password-4711"}
    refused = client.post("/admin/login/", right)
    assert refused.status_code == 429 and 1 <= int(refused["Retry-After"]) <= 300
    # ...while a person on another network signs in as usual.
    assert client.post("/admin/login/", right, REMOTE_ADDR="198.51.100.20").status_code == 302
