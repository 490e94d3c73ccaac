"""Preference center without JavaScript: the visitor's cookie choices and the known person's
marketing choices, reached through a signed, expiring link."""

import json
import logging
import re
import time
from urllib.parse import quote, unquote, urlparse

import pytest
from django.core import mail
from django.test import Client

from consents import selectors
from consents.models import ConsentEvent, ConsentState, EmailConfirmation
from consents.preferences import links, tokens
from consents.services import record_consent
from tests.factories import BannerTextFactory, PurposeFactory, SiteFactory

VISITOR = "visitor-0123456789abcdef"


@pytest.fixture
def browser():
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def site(organization):
    return SiteFactory(
        organization=organization, key="shop", name="Acme Shop", default_jurisdiction="DE"
    )


@pytest.fixture
def topics(organization):
    return [
        PurposeFactory(
            organization=organization,
            key=key,
            name=name,
            kind="marketing_topic",
            mode_us="opt_in",
            validity_days=730,
        )
        for key, name in (("topic_newsletter", "Newsletter"), ("topic_offers", "Offers"))
    ]


def banner_cookie(visitor_id: str) -> str:
    return quote(
        json.dumps({"id": visitor_id, "v": 1, "c": {"analytics": True}}, separators=(",", ":")),
        safe="",
    )


def submit(client: Client, path: str, fields: dict, **extra):
    """Load the page (for its CSRF cookie) and post the form the way a browser would."""
    page = client.get(path, **extra)
    assert page.status_code == 200, page.content
    token = client.cookies["csrftoken"].value
    return client.post(path, {**fields, "csrfmiddlewaretoken": token}, **extra)


def states(organization) -> dict:
    return dict(
        ConsentState.objects.filter(organization=organization).values_list(
            "purpose__key", "granted"
        )
    )


# Visitor page.


def test_visitor_page_shows_the_banner_choices_of_this_browser(browser, organization, site):
    record_consent(
        organization=organization,
        identifiers={"visitor_id": VISITOR},
        choices={"analytics": True, "advertising": False},
        source="banner",
        actor="visitor",
        site=site,
    )
    browser.cookies["kz_consent"] = banner_cookie(VISITOR)
    page = browser.get("/preferences/shop/").content.decode()
    assert "<h1>Privacy preferences</h1>" in page and "Acme Shop" in page
    assert re.search(r'name="purpose_analytics" checked', page)
    assert re.search(r'name="purpose_advertising" aria', page)
    assert "Always on" in page
    assert "version 2026-01" in page
    assert "<script" not in page and "style=" not in page


def test_visitor_page_speaks_the_banner_language_with_the_site_words(browser, organization, site):
    BannerTextFactory(
        site=site,
        language="de",
        purpose_names={"analytics": "Statistik"},
        purpose_descriptions={"analytics": "Zählt Besuche."},
    )
    page = browser.get("/preferences/shop/", HTTP_ACCEPT_LANGUAGE="de-DE,de;q=0.9,en;q=0.5")
    text = page.content.decode()
    assert '<html lang="de">' in text
    assert "<h1>Datenschutz-Einstellungen</h1>" in text
    assert ">Statistik</label>" in text and "Zählt Besuche." in text
    assert "Immer aktiv" in text and "Auswahl speichern" in text
    rtl = browser.get("/preferences/shop/?lang=ar").content.decode()
    assert '<html lang="ar" dir="rtl">' in rtl


@pytest.mark.parametrize("field", ["purpose_names", "purpose_descriptions"])
@pytest.mark.parametrize("value", [["Statistik"], "Statistik", {"analytics": 5}])
def test_wrongly_shaped_banner_words_never_break_the_visitor_page(
    browser, organization, site, field, value
):
    """As the banner's config: words saved without validation that are no key → text object
    are ignored, and the page shows the purpose's own name and description."""
    BannerTextFactory(site=site, language="de", **{field: value})
    page = browser.get("/preferences/shop/", {"lang": "de"})
    assert page.status_code == 200
    assert ">Analytics</label>" in page.content.decode()


def test_the_visitor_page_names_purposes_as_the_banner_does_for_a_regional_language(
    browser, organization, site
):
    """A pt-BR text that holds only a title: purpose names come from the site's pt words, as
    in the banner's config, not from the purpose's own (English) name."""
    BannerTextFactory(site=site, language="pt", purpose_names={"analytics": "Estatísticas"})
    BannerTextFactory(site=site, language="pt-BR", title="Privacidade na Shop")
    page = browser.get("/preferences/shop/", {"lang": "pt-BR"}).content.decode()
    assert ">Estatísticas</label>" in page


def test_visitor_changes_choices_without_javascript(browser, organization, site):
    record_consent(
        organization=organization,
        identifiers={"visitor_id": VISITOR},
        choices={"analytics": True, "advertising": False},
        source="banner",
        actor="visitor",
        site=site,
    )
    browser.cookies["kz_consent"] = banner_cookie(VISITOR)
    response = submit(browser, "/preferences/shop/", {"purpose_advertising": "on"})
    assert response.status_code == 302
    assert "Your choices were saved." in browser.get(response["Location"]).content.decode()
    assert states(organization) == {"analytics": False, "advertising": True}
    new_events = ConsentEvent.objects.filter(source="preference_center")
    assert {(e.purpose.key, e.granted) for e in new_events} == {
        ("analytics", False),
        ("advertising", True),
    }
    assert {e.notice.version for e in new_events} == {"2026-01"}
    assert {e.site_id for e in new_events} == {site.pk}


def test_visitor_param_from_the_banner_link_works_without_the_cookie(browser, organization, site):
    submit(
        browser,
        f"/preferences/shop/?visitor={VISITOR}",
        {"purpose_analytics": "on", "visitor": VISITOR},
    )
    subject = selectors.subject_by_identifier(organization, "visitor_id", VISITOR)
    assert subject.states.get(purpose__key="analytics").granted is True


def test_visitor_form_refuses_a_post_without_csrf_token(browser, organization, site):
    browser.cookies["kz_consent"] = banner_cookie(VISITOR)
    response = browser.post("/preferences/shop/", {"purpose_analytics": "on"})
    assert response.status_code == 403
    assert not ConsentEvent.objects.exists()


def test_unknown_site_is_404(browser, db):
    assert browser.get("/preferences/nosuchsite/").status_code == 404


# Known person: marketing channels and topics.


def person_path(organization, email="ada@example.com") -> str:
    return f"/preferences/p/{links.preference_token(organization, email)}/"


def test_person_page_lists_channels_topics_and_transactional(browser, organization, topics):
    record_consent(
        organization=organization,
        identifiers={"email": "ada@example.com"},
        choices={"marketing_email": True},
        source="api",
        actor="test",
    )
    response = browser.get(person_path(organization))
    page = response.content.decode()
    assert response.status_code == 200
    assert "a••@example.com" in page
    assert re.search(r'name="purpose_marketing_email" checked', page)
    assert 'name="purpose_marketing_sms"' in page and "Newsletter" in page and "Offers" in page
    assert "Messages you always receive" in page and "cannot be turned off" in page
    assert "Unsubscribe from all marketing" in page
    assert "version 2026-01" in page
    assert response["Cache-Control"].startswith("max-age=0")
    assert response["Referrer-Policy"] == "same-origin"


def test_person_changes_channels_and_topics(browser, organization, topics):
    path = person_path(organization)
    response = submit(
        browser,
        path,
        {"purpose_marketing_email": "on", "purpose_topic_newsletter": "on", "action": "save"},
    )
    assert response.status_code == 302
    assert states(organization) == {
        "marketing_email": True,
        "marketing_sms": False,
        "topic_newsletter": True,
        "topic_offers": False,
    }
    events = ConsentEvent.objects.all()
    assert {e.source for e in events} == {"preference_center"}
    assert {e.notice.version for e in events} == {"2026-01"}
    # Saving the same choices again records nothing new.
    submit(browser, path, {"purpose_marketing_email": "on", "purpose_topic_newsletter": "on"})
    assert ConsentEvent.objects.count() == 4


def test_unsubscribe_from_all_marketing(browser, organization, topics):
    record_consent(
        organization=organization,
        identifiers={"email": "ada@example.com"},
        choices={"marketing_email": True, "marketing_sms": True, "topic_newsletter": True},
        source="api",
        actor="test",
    )
    path = person_path(organization)
    response = submit(browser, path, {"purpose_marketing_email": "on", "action": "unsubscribe_all"})
    page = browser.get(response["Location"]).content.decode()
    assert "unsubscribed from all marketing" in page
    assert set(states(organization).values()) == {False}
    [check] = selectors.check_identifiers(
        organization, organization.purpose_map["marketing_email"], "email", ["ada@example.com"]
    )
    assert check.allowed is False


def test_tampered_preference_token_shows_a_clear_page_and_no_data(browser, organization):
    record_consent(
        organization=organization,
        identifiers={"email": "ada@example.com"},
        choices={"marketing_email": True},
        source="api",
        actor="test",
    )
    token = links.preference_token(organization, "ada@example.com")
    position = len(token) // 2
    forged = token[:position] + ("x" if token[position] != "x" else "y") + token[position + 1 :]
    for candidate in (forged, token[:-3], "acme.garbage", "nosuchorg." + token.split(".", 1)[1]):
        response = browser.get(f"/preferences/p/{candidate}/")
        page = response.content.decode()
        assert response.status_code == 400
        assert "This link is not valid" in page
        assert "example.com" not in page and "purpose_" not in page


def test_a_token_cannot_be_moved_to_another_organization(browser, organization, other_organization):
    foreign = links.preference_token(other_organization, "ada@example.com")
    moved = "acme." + foreign.split(".", 1)[1]
    assert browser.get(f"/preferences/p/{moved}/").status_code == 400


def test_an_unsubscribe_token_is_not_a_preference_token(browser, organization):
    url = links.unsubscribe_url(organization, "ada@example.com", "marketing_email")
    token = urlparse(url).path.rsplit("/", 1)[1]
    assert browser.get(f"/preferences/p/{token}/").status_code == 400


def test_expired_preference_token_shows_expiry_page_and_changes_nothing(browser, organization):
    old = int(time.time()) - 181 * 24 * 3600
    token = tokens.make_token(
        organization, tokens.PREFERENCES, {"e": "ada@example.com"}, issued_at=old
    )
    response = browser.get(f"/preferences/p/{token}/")
    assert response.status_code == 410
    assert "This link has expired" in response.content.decode()
    posted = browser.post(f"/preferences/p/{token}/", {"purpose_marketing_email": "on"})
    assert posted.status_code in (403, 410)
    assert not ConsentEvent.objects.exists()
    recent = tokens.make_token(
        organization,
        tokens.PREFERENCES,
        {"e": "ada@example.com"},
        issued_at=int(time.time()) - 179 * 24 * 3600,
    )
    assert browser.get(f"/preferences/p/{recent}/").status_code == 200


def test_token_does_not_reveal_the_address(organization):
    token = links.preference_token(organization, "ada.lovelace@example.com")
    assert "ada" not in token.lower() and "example" not in token.lower()


# Double opt-in.


def confirmation_link(caplog) -> str:
    """The path of the link mailed last; the log holds no link (it confirms a subscription)."""
    assert mail.outbox, "no confirmation link was sent"
    [link] = re.findall(r"https?://\S+", mail.outbox[-1].body)
    assert link not in caplog.text
    return urlparse(link).path


def test_double_opt_in_grants_email_only_after_confirmation(browser, organization, caplog):
    organization.email_double_opt_in = True
    organization.save()
    caplog.set_level(logging.INFO, logger="kaizen.preferences")
    path = person_path(organization)
    response = submit(
        browser, path, {"purpose_marketing_email": "on", "purpose_marketing_sms": "on"}
    )
    assert "done=confirm" in response["Location"]
    assert states(organization) == {"marketing_sms": True}
    page = browser.get(response["Location"]).content.decode()
    assert "sent a confirmation link" in page and "Waiting for you to confirm" in page
    assert EmailConfirmation.objects.get().confirmed_at is None

    confirm_path = confirmation_link(caplog)
    shown = browser.get(confirm_path)
    assert "Confirm your subscription" in shown.content.decode()
    assert "marketing_email" not in states(organization)  # a link scanner's GET grants nothing

    confirmed = submit(browser, confirm_path, {})
    assert confirmed.status_code == 200
    assert "your address is confirmed" in confirmed.content.decode()
    assert states(organization) == {"marketing_sms": True, "marketing_email": True}
    event = ConsentEvent.objects.get(purpose__key="marketing_email")
    assert (event.source, event.granted, event.notice.version) == (
        "preference_center",
        True,
        "2026-01",
    )
    assert EmailConfirmation.objects.get().confirmed_at is not None
    submit(browser, confirm_path, {})
    assert ConsentEvent.objects.filter(purpose__key="marketing_email").count() == 1


def test_a_double_submit_sends_one_confirmation_mail(browser, organization, caplog):
    organization.email_double_opt_in = True
    organization.save()
    caplog.set_level(logging.INFO, logger="kaizen.preferences")
    path = person_path(organization, "new@example.com")  # no record yet: no pending row either
    for _ in range(3):
        response = submit(browser, path, {"purpose_marketing_email": "on"})
        assert "done=confirm" in response["Location"]
    assert len(mail.outbox) == 1
    assert not ConsentEvent.objects.filter(purpose__key="marketing_email").exists()


def test_a_save_while_confirmation_waits_is_no_refusal_and_unsubscribing_ends_the_wait(
    browser, organization, topics, caplog
):
    organization.email_double_opt_in = True
    organization.save()
    path = person_path(organization)
    submit(browser, path, {"purpose_marketing_email": "on", "purpose_topic_newsletter": "on"})
    # Back later to add a topic: the email box is shown unticked, waiting for confirmation.
    page = browser.get(path).content.decode()
    assert "Waiting for you to confirm" in page
    assert not re.search(r'name="purpose_marketing_email" checked', page)
    submit(browser, path, {"purpose_topic_newsletter": "on", "purpose_topic_offers": "on"})
    assert not ConsentEvent.objects.filter(purpose__key="marketing_email").exists()
    assert "Waiting for you to confirm" in browser.get(path).content.decode()

    response = submit(browser, path, {"action": "unsubscribe_all"})
    page = browser.get(response["Location"]).content.decode()
    assert "unsubscribed from all marketing" in page
    assert "Waiting for you to confirm" not in page
    assert states(organization)["marketing_email"] is False


def test_confirmation_link_tampered_or_expired_grants_nothing(browser, organization):
    stale = tokens.make_token(
        organization,
        tokens.EMAIL_CONFIRMATION,
        {"e": "ada@example.com", "k": ["marketing_email"], "n": "2026-01", "r": "x"},
        issued_at=int(time.time()) - 8 * 24 * 3600,
    )
    assert browser.get(f"/preferences/confirm/{stale}/").status_code == 410
    assert browser.get(f"/preferences/confirm/{stale[:-4]}/").status_code == 400
    assert not ConsentEvent.objects.exists()


def test_without_double_opt_in_the_grant_counts_at_once(browser, organization):
    submit(browser, person_path(organization), {"purpose_marketing_email": "on"})
    assert states(organization)["marketing_email"] is True
    assert not EmailConfirmation.objects.exists()


# The banner's cookie follows changes made here.


def cookie_value(response) -> dict:
    return json.loads(unquote(response.cookies["kz_consent"].value))


def test_saving_updates_the_banner_cookie_on_a_shared_host(browser, organization, site):
    site.cookie_domain = ".testserver"
    site.save()
    browser.cookies["kz_consent"] = quote(
        json.dumps(
            {
                "id": VISITOR,
                "c": {"analytics": 1, "advertising": 0},
                "n": "2025-01",
                "t": 1,
                "g": 0,
                "cv": "abc",
                "d": 1,
            },
            separators=(",", ":"),
        ),
        safe="",
    )
    response = submit(browser, "/preferences/shop/", {"purpose_advertising": "on"})
    stored = cookie_value(response)
    assert stored["id"] == VISITOR
    assert stored["c"] == {"analytics": 0, "advertising": 1}
    assert (stored["n"], stored["d"], stored["cv"], stored["g"]) == ("2026-01", 1, "abc", 0)
    assert stored["t"] > 1
    assert response.cookies["kz_consent"]["domain"] == ".testserver"
    assert response.cookies["kz_consent"]["samesite"] == "Lax"


def test_a_new_browser_gets_a_banner_cookie_with_its_decision(browser, organization, site):
    response = submit(browser, "/preferences/shop/", {"purpose_analytics": "on"})
    stored = cookie_value(response)
    assert stored["c"] == {"analytics": 1, "advertising": 0}
    assert stored["d"] == 1
    subject = selectors.subject_by_identifier(organization, "visitor_id", stored["id"])
    assert subject.states.get(purpose__key="analytics").granted is True
    assert response.cookies["kz_consent"]["domain"] == ""  # host-only without a cookie domain


def test_another_browsers_id_in_the_link_leaves_this_cookie_alone(browser, organization, site):
    browser.cookies["kz_consent"] = banner_cookie("mine-0123456789abcdef")
    response = submit(
        browser,
        f"/preferences/shop/?visitor={VISITOR}",
        {"purpose_analytics": "on", "visitor": VISITOR},
    )
    assert "kz_consent" not in response.cookies
    assert selectors.subject_by_identifier(organization, "visitor_id", VISITOR) is not None


def test_a_link_cannot_plant_another_visitor_id_in_a_browser(browser, organization, site):
    """A browser without the banner's cookie that follows someone's ?visitor= link (or posts
    their id) works on that id for the visit, but does not keep it for its own choices."""
    site.cookie_domain = ".testserver"
    site.save()
    page = browser.get(f"/preferences/shop/?visitor={VISITOR}")
    assert "kz_consent" not in page.cookies
    response = submit(
        browser,
        f"/preferences/shop/?visitor={VISITOR}",
        {"purpose_analytics": "on", "visitor": VISITOR},
    )
    assert "kz_consent" not in response.cookies
    privacy = browser.get(f"/privacy-choices/acme/?visitor={VISITOR}", HTTP_SEC_GPC="1")
    assert "kz_consent" not in privacy.cookies
    assert states(organization)["analytics"] is True  # the change itself is recorded


def test_visitor_page_honors_gpc_and_does_not_turn_defaults_into_grants(client, organization):
    """GPC in an opt-out jurisdiction: sale/share is refused (source gpc), never granted."""
    from consents.models import ConsentEvent
    from tests.factories import SiteFactory

    site = SiteFactory(organization=organization, key="gpcshop", jurisdiction_header="CF-IPCountry")
    keys = ("analytics", "sale_share", "targeted_advertising")
    site.purposes.set([organization.purpose_map[k] for k in keys])
    url = "/preferences/gpcshop/?visitor=visitor-0123456789abcdef"
    page = client.get(url, HTTP_SEC_GPC="1", HTTP_CF_IPCOUNTRY="US").content.decode()
    assert 'name="purpose_sale_share" checked' not in page and 'name="purpose_sale_share"' in page
    # The form as shown, with only analytics changed (ticked by default in the US, unticked).
    client.post(url, {}, HTTP_SEC_GPC="1", HTTP_CF_IPCOUNTRY="US")
    events = {e.purpose.key: e for e in ConsentEvent.objects.select_related("purpose")}
    assert events["sale_share"].granted is False and events["sale_share"].source == "gpc"
    assert events["targeted_advertising"].granted is False
    assert (
        events["analytics"].granted is False and events["analytics"].source == "preference_center"
    )
    # Without GPC, leaving a default-allowed purpose ticked records nothing.
    other = "/preferences/gpcshop/?visitor=visitor-fedcba9876543210"
    client.post(
        other,
        {
            "purpose_analytics": "on",
            "purpose_sale_share": "on",
            "purpose_targeted_advertising": "on",
        },
        HTTP_CF_IPCOUNTRY="US",
    )
    assert ConsentEvent.objects.count() == 3


def test_visitor_page_with_gpc_says_so_locks_the_switch_and_records_the_signal(
    browser, organization
):
    """As in the banner: the opted-out purpose cannot be ticked, and the page says why."""
    site = SiteFactory(organization=organization, key="gpcshop", default_jurisdiction="US-CA")
    site.purposes.set([organization.purpose_map[k] for k in ("analytics", "sale_share")])
    browser.cookies["kz_consent"] = banner_cookie(VISITOR)
    url = "/preferences/gpcshop/"
    response = browser.get(url, HTTP_SEC_GPC="1")
    page = response.content.decode()
    assert "Opt-out request honored" in page
    assert re.search(r'name="purpose_sale_share" disabled', page)
    assert re.search(r'name="purpose_analytics" checked aria', page)
    assert "Sec-GPC" in response["Vary"]
    # The site's GPC purposes, as the banner records them.
    refused = {"sale_share": False, "targeted_advertising": False}
    assert states(organization) == refused
    assert {e.source for e in ConsentEvent.objects.all()} == {"gpc"}
    stored = json.loads(unquote(response.cookies["kz_consent"].value))
    assert (
        stored["g"] == 1 and stored["c"]["sale_share"] == stored["c"]["targeted_advertising"] == 0
    )
    # Reloading records nothing more; a tick sent anyway is not taken as a grant.
    token = browser.cookies["csrftoken"].value
    browser.post(
        url,
        {
            "purpose_sale_share": "on",
            "purpose_analytics": "on",
            "visitor": VISITOR,
            "csrfmiddlewaretoken": token,
        },
        HTTP_SEC_GPC="1",
    )
    assert states(organization) == refused
    assert ConsentEvent.objects.count() == 2


def test_the_confirmation_mail_goes_to_the_address_in_the_pages_language(browser, organization):
    organization.email_double_opt_in = True
    organization.save()
    path = person_path(organization, "ada@example.com")
    submit(browser, f"{path}?lang=de", {"purpose_marketing_email": "on"})
    [message] = mail.outbox
    assert message.to == ["ada@example.com"]
    assert message.subject == "Bestätigen Sie Ihr Abonnement"
    assert organization.name in message.body and "/preferences/confirm/" in message.body
    assert "innerhalb von 7 Tagen" in message.body


def test_a_mail_server_that_refuses_leaves_the_page_working(browser, organization, settings):
    organization.email_double_opt_in = True
    organization.save()
    settings.EMAIL_BACKEND = "django.core.mail.backends.smtp.EmailBackend"
    settings.EMAIL_HOST, settings.EMAIL_PORT, settings.EMAIL_TIMEOUT = "127.0.0.1", 9, 2
    response = submit(browser, person_path(organization), {"purpose_marketing_email": "on"})
    assert response.status_code == 302 and "done=confirm" in response["Location"]
