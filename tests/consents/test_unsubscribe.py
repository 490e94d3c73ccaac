"""One-click unsubscribe (RFC 8058): the links API and the endpoint a mailbox provider calls."""

import re
from urllib.parse import urlparse

import pytest
from django.test import Client

from consents import selectors
from consents.models import ConsentEvent, ConsentState
from consents.preferences import links
from consents.services import record_consent

ONE_CLICK = "List-Unsubscribe=One-Click"


@pytest.fixture
def provider():
    """A client like a mailbox provider's: no cookies, no CSRF token, CSRF checks enforced."""
    return Client(enforce_csrf_checks=True)


def link_for(api, organization, email="ada@example.com", purpose="marketing_email") -> dict:
    api.as_key(organization, "consents:write")
    response = api.post(
        "/api/v1/unsubscribe-links", {"email": email, "purpose": purpose}, format="json"
    )
    assert response.status_code == 200, response.content
    return response.json()


def path_of(url: str) -> str:
    return urlparse(url).path


def grant(organization, email="ada@example.com", purpose="marketing_email"):
    return record_consent(
        organization=organization,
        identifiers={"email": email},
        choices={purpose: True},
        source="api",
        actor="test",
    )


def test_link_api_returns_url_and_exact_header_values(api, organization, settings):
    settings.PUBLIC_BASE_URL = "https://consent.example.org"
    body = link_for(api, organization, "Ada@Example.com")
    assert body["email"] == "Ada@Example.com"
    assert body["purpose"] == "marketing_email"
    assert body["url"].startswith("https://consent.example.org/u/acme.")
    assert body["list_unsubscribe"] == f"<{body['url']}>"
    assert body["list_unsubscribe_post"] == "List-Unsubscribe=One-Click"
    assert body["preferences_url"].startswith("https://consent.example.org/preferences/p/")
    assert "ada" not in body["url"].lower() and "example.com" not in body["url"]


def test_link_api_answers_a_list_in_input_order(api, organization):
    api.as_key(organization, "consents:write")
    recipients = [{"email": f"p{i}@example.com", "purpose": "marketing_email"} for i in range(300)]
    recipients[7]["purpose"] = "marketing_sms"
    response = api.post("/api/v1/unsubscribe-links", {"recipients": recipients}, format="json")
    assert response.status_code == 200
    results = response.json()["results"]
    assert [r["email"] for r in results] == [r["email"] for r in recipients]
    assert results[7]["purpose"] == "marketing_sms"
    assert len({r["url"] for r in results}) == 300


def test_link_api_takes_ten_thousand_recipients_and_refuses_more(api, organization):
    api.as_key(organization, "consents:write")
    recipients = [{"email": f"p{i}@example.com"} for i in range(10_001)]
    too_many = api.post(
        "/api/v1/unsubscribe-links",
        {"purpose": "marketing_email", "recipients": recipients},
        format="json",
    )
    assert too_many.status_code == 400
    assert "recipients" in too_many.json()
    fits = api.post(
        "/api/v1/unsubscribe-links",
        {"purpose": "marketing_email", "recipients": recipients[:10_000]},
        format="json",
    )
    assert fits.status_code == 200
    assert len(fits.json()["results"]) == 10_000


def test_link_api_rejects_bad_input_with_field_errors(api, organization):
    api.as_key(organization, "consents:write")
    post = lambda body: api.post("/api/v1/unsubscribe-links", body, format="json")  # noqa: E731
    assert "purpose" in post({"email": "a@example.com", "purpose": "nope"}).json()
    not_marketing = post({"email": "a@example.com", "purpose": "analytics"})
    assert not_marketing.status_code == 400
    assert "not a marketing channel" in str(not_marketing.json())
    assert "email" in post({"email": "not-an-address", "purpose": "marketing_email"}).json()
    listed = post(
        {
            "recipients": [
                {"email": "ok@example.com", "purpose": "marketing_email"},
                {"email": "bad", "purpose": "marketing_email"},
            ]
        }
    )
    assert listed.status_code == 400
    assert "1" in listed.json()["recipients"]
    assert (
        post({"email": "a@example.com", "purpose": "marketing_email", "recipients": []}).status_code
        == 400
    )


def test_link_api_names_a_missing_email_or_purpose_as_required(api, organization):
    api.as_key(organization, "consents:write")
    post = lambda body: api.post("/api/v1/unsubscribe-links", body, format="json")  # noqa: E731
    single = post({"email": "a@example.com"})
    assert single.status_code == 400
    assert single.json() == {"purpose": ["This field is required."]}
    listed = post({"recipients": [{"purpose": "marketing_email"}, {"email": "b@example.com"}]})
    assert listed.status_code == 400
    assert listed.json() == {
        "recipients": {
            "0": {"email": ["This field is required."]},
            "1": {"purpose": ["This field is required."]},
        }
    }


def test_link_api_needs_consents_write(api, organization):
    api.as_key(organization, "consents:check")
    response = api.post(
        "/api/v1/unsubscribe-links",
        {"email": "a@example.com", "purpose": "marketing_email"},
        format="json",
    )
    assert response.status_code == 403


def test_mailbox_provider_post_unsubscribes_at_once(api, organization, provider):
    grant(organization)
    url = link_for(api, organization)["url"]
    response = provider.post(
        path_of(url),
        data=ONE_CLICK,
        content_type="application/x-www-form-urlencoded",
        HTTP_USER_AGENT="Mailbox-Provider/1.0",
    )
    assert response.status_code == 200
    event = ConsentEvent.objects.filter(organization=organization).latest("id")
    assert (event.purpose.key, event.granted, event.source) == (
        "marketing_email",
        False,
        "unsubscribe",
    )
    state = ConsentState.objects.get(subject=event.subject, purpose__key="marketing_email")
    assert state.granted is False
    [check] = selectors.check_identifiers(
        organization, organization.purpose_map["marketing_email"], "email", ["ada@example.com"]
    )
    assert (check.allowed, check.reason) == (False, "denied")


def test_multipart_body_is_accepted_too(api, organization, provider):
    url = link_for(api, organization)["url"]
    response = provider.post(path_of(url), {"List-Unsubscribe": "One-Click"})
    assert response.status_code == 200
    assert ConsentEvent.objects.filter(source="unsubscribe", granted=False).count() == 1


def test_person_never_seen_before_gets_a_subject_and_a_refusal(api, organization, provider):
    url = link_for(api, organization, "new.person@example.com")["url"]
    assert selectors.subject_by_identifier(organization, "email", "new.person@example.com") is None
    assert (
        provider.post(
            path_of(url), data=ONE_CLICK, content_type="application/x-www-form-urlencoded"
        ).status_code
        == 200
    )
    subject = selectors.subject_by_identifier(organization, "email", "new.person@example.com")
    assert subject is not None
    assert subject.states.get(purpose__key="marketing_email").granted is False


def test_replay_answers_200_and_records_nothing_more(api, organization, provider):
    grant(organization)
    path = path_of(link_for(api, organization)["url"])
    for _ in range(3):
        response = provider.post(
            path, data=ONE_CLICK, content_type="application/x-www-form-urlencoded"
        )
        assert response.status_code == 200
    assert ConsentEvent.objects.filter(source="unsubscribe").count() == 1


def test_get_shows_a_confirmation_page_and_changes_nothing(api, organization, provider):
    grant(organization)
    body = link_for(api, organization)
    response = provider.get(path_of(body["url"]))
    assert response.status_code == 200
    page = response.content.decode()
    assert "Unsubscribe from" in page and "Marketing Email" in page
    match = re.search(r'href="[^"]*(/preferences/p/[^"]+)"', page)
    assert match is not None
    assert "Your message preferences" in provider.get(match.group(1)).content.decode()
    assert 'name="List-Unsubscribe" value="One-Click"' in page
    assert not ConsentEvent.objects.filter(source="unsubscribe").exists()
    assert ConsentState.objects.get(purpose__key="marketing_email").granted is True


def test_post_without_the_one_click_body_changes_nothing(api, organization, provider):
    path = path_of(link_for(api, organization)["url"])
    response = provider.post(path, data="", content_type="application/x-www-form-urlencoded")
    assert response.status_code == 400
    assert not ConsentEvent.objects.exists()


def altered(token: str) -> str:
    position = len(token) - 20
    replacement = "A" if token[position] != "A" else "B"
    return token[:position] + replacement + token[position + 1 :]


def test_forged_or_altered_tokens_change_nothing(api, organization, other_organization, provider):
    grant(organization)
    path = path_of(link_for(api, organization)["url"])
    token = path.rsplit("/", 1)[1]
    foreign = links.unsubscribe_url(other_organization, "ada@example.com", "marketing_email")
    candidates = [
        altered(token),
        token[:-5],
        "acme.not-a-token",
        "globex." + token.split(".", 1)[1],
        path_of(foreign).rsplit("/", 1)[1].replace("globex.", "acme.", 1),
        links.preference_token(organization, "ada@example.com"),
    ]
    for candidate in candidates:
        response = provider.post(
            f"/u/{candidate}", data=ONE_CLICK, content_type="application/x-www-form-urlencoded"
        )
        assert response.status_code == 400, candidate
        assert "not valid" in response.content.decode()
    assert not ConsentEvent.objects.filter(source="unsubscribe").exists()
    assert ConsentState.objects.get(purpose__key="marketing_email").granted is True


def test_topic_link_unsubscribes_from_that_topic_only(api, organization, provider):
    from tests.factories import PurposeFactory

    PurposeFactory(
        organization=organization, key="topic_newsletter", kind="marketing_topic", mode_us="opt_in"
    )
    record_consent(
        organization=organization,
        identifiers={"email": "ada@example.com"},
        choices={"marketing_email": True, "topic_newsletter": True},
        source="api",
        actor="test",
    )
    url = link_for(api, organization, purpose="topic_newsletter")["url"]
    provider.post(path_of(url), data=ONE_CLICK, content_type="application/x-www-form-urlencoded")
    states = dict(ConsentState.objects.values_list("purpose__key", "granted"))
    assert states == {"marketing_email": True, "topic_newsletter": False}


def test_an_old_unsubscribe_link_never_hands_out_a_fresh_preference_link(organization, provider):
    """Unsubscribe links only refuse and never expire; the preference link they offer is dated
    like them, so a years-old mail cannot become a way to opt the person back in."""
    import time
    from html import unescape

    from consents.preferences import tokens

    sent = int(time.time()) - 170 * 86400

    def unsubscribe_page(issued_at: int) -> str:
        token = tokens.make_token(
            organization,
            tokens.UNSUBSCRIBE,
            {"e": "ada@example.com", "p": "marketing_email"},
            issued_at=issued_at,
        )
        response = provider.get(f"/u/{token}")
        assert response.status_code == 200
        return response.content.decode()

    assert "/preferences/p/" not in unsubscribe_page(sent - 3 * 365 * 86400)  # no link at all
    link = re.search(r'href="[^"]*/preferences/p/([^/"]+)/', unsubscribe_page(sent)).group(1)
    offered = tokens.read_token(unescape(link), tokens.PREFERENCES)
    assert offered.issued_at == sent  # expires 180 days after the mail, not after this visit
    assert provider.get(f"/preferences/p/{unescape(link)}/").status_code == 200
