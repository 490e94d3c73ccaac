"""US privacy choices page (no account needed), Global Privacy Control, and gpc.json."""

import json
import re
from datetime import date
from urllib.parse import unquote

import pytest
from django.test import Client

from consents.models import ConsentEvent, ConsentState
from consents.services import record_consent
from tests.factories import PurposeFactory

GPC_HONORED = "Global Privacy Control detected: opt-out request honored"
VISITOR = "visitor-0123456789abcdef"


@pytest.fixture
def browser():
    return Client(enforce_csrf_checks=True)


@pytest.fixture
def profiling(organization):
    return PurposeFactory(
        organization=organization, key="profiling", name="Profiling", kind="data_use_opt_out"
    )


def visitor_in_cookie(client: Client) -> str:
    return json.loads(unquote(client.cookies["kz_consent"].value))["id"]


def events(**filters):
    return {(e.purpose.key, e.granted, e.source) for e in ConsentEvent.objects.filter(**filters)}


def test_page_offers_the_opt_outs_without_an_account(browser, organization, profiling):
    response = browser.get("/privacy-choices/acme/")
    page = response.content.decode()
    assert response.status_code == 200
    for name in ("purpose_sale_share", "purpose_targeted_advertising", "purpose_profiling"):
        assert f'name="{name}"' in page
    assert "Limit the use of my sensitive personal information" not in page
    assert GPC_HONORED not in page
    assert not ConsentEvent.objects.exists()
    assert len(visitor_in_cookie(browser)) >= 16
    assert "Sec-GPC" in response["Vary"]


def test_sensitive_data_limit_is_offered_when_the_organization_has_it(browser, organization):
    PurposeFactory(
        organization=organization,
        key="sensitive_data_limit",
        name="Use of sensitive personal information",
        kind="data_use_opt_out",
    )
    page = browser.get("/privacy-choices/acme/").content.decode()
    assert "Limit the use of my sensitive personal information" in page
    assert 'name="purpose_sensitive_data_limit"' in page


def test_opting_out_records_refusals_for_this_browser(browser, organization, profiling):
    browser.get("/privacy-choices/acme/")
    token = browser.cookies["csrftoken"].value
    visitor = visitor_in_cookie(browser)
    response = browser.post(
        "/privacy-choices/acme/",
        {
            "csrfmiddlewaretoken": token,
            "visitor": visitor,
            "purpose_sale_share": "on",
            "purpose_profiling": "on",
        },
    )
    assert response.status_code == 302
    page = browser.get(response["Location"]).content.decode()
    assert "Your choices were saved." in page
    assert re.search(r'name="purpose_sale_share" checked', page)
    # Targeted advertising was left as shown (allowed by default here): no grant is recorded.
    assert events() == {
        ("sale_share", False, "preference_center"),
        ("profiling", False, "preference_center"),
    }
    assert {e.notice.version for e in ConsentEvent.objects.all()} == {"2026-01"}
    # The banner reads the same cookie: what was left as shown is not written as a grant there.
    stored = json.loads(unquote(response.cookies["kz_consent"].value))
    assert stored["c"] == {"sale_share": 0, "profiling": 0}


def test_gpc_signal_is_honored_recorded_and_shown(browser, organization, profiling):
    response = browser.get("/privacy-choices/acme/", HTTP_SEC_GPC="1")
    page = response.content.decode()
    assert GPC_HONORED in page
    assert re.search(r'name="purpose_sale_share" checked', page)
    assert re.search(r'name="purpose_targeted_advertising" checked', page)
    assert not re.search(r'name="purpose_profiling" checked', page)
    assert events() == {("sale_share", False, "gpc"), ("targeted_advertising", False, "gpc")}
    visitor = visitor_in_cookie(browser)
    assert ConsentEvent.objects.filter(subject__identifiers__kind="visitor_id").count() == 2
    # The same browser again: nothing new to record, still shown as honored.
    again = browser.get("/privacy-choices/acme/", HTTP_SEC_GPC="1")
    assert GPC_HONORED in again.content.decode()
    assert ConsentEvent.objects.count() == 2
    assert visitor_in_cookie(browser) == visitor


def test_gpc_overrides_an_earlier_opt_in_from_elsewhere(browser, organization):
    record_consent(
        organization=organization,
        identifiers={"visitor_id": VISITOR},
        choices={"sale_share": True},
        source="banner",
        actor="visitor",
    )
    browser.get(f"/privacy-choices/acme/?visitor={VISITOR}", HTTP_SEC_GPC="1")
    state = ConsentState.objects.get(purpose__key="sale_share")
    assert (state.granted, state.source) == (False, "gpc")


def test_gpc_keeps_an_opt_in_made_on_this_page_and_says_so(browser, organization):
    record_consent(
        organization=organization,
        identifiers={"visitor_id": VISITOR},
        choices={"sale_share": True},
        source="preference_center",
        actor="visitor",
    )
    page = browser.get(f"/privacy-choices/acme/?visitor={VISITOR}", HTTP_SEC_GPC="1")
    assert "We keep your choice" in page.content.decode()
    assert ConsentState.objects.get(purpose__key="sale_share").granted is True


def test_gpc_lists_only_what_the_signal_opted_out(browser, organization):
    record_consent(
        organization=organization,
        identifiers={"visitor_id": VISITOR},
        choices={"targeted_advertising": True},
        source="preference_center",
        actor="visitor",
    )
    page = browser.get(f"/privacy-choices/acme/?visitor={VISITOR}", HTTP_SEC_GPC="1")
    assert "Opted out because of the signal: Sale Share</p>" in page.content.decode()
    record_consent(
        organization=organization,
        identifiers={"visitor_id": VISITOR},
        choices={"sale_share": True},
        source="preference_center",
        actor="visitor",
    )
    page = browser.get(f"/privacy-choices/acme/?visitor={VISITOR}", HTTP_SEC_GPC="1")
    text = page.content.decode()
    assert "Opted out because of the signal" not in text and "We keep your choice" in text


def test_other_sec_gpc_values_are_ignored(browser, organization):
    for value in ("0", "true", "1.0", ""):
        page = browser.get("/privacy-choices/acme/", HTTP_SEC_GPC=value).content.decode()
        assert GPC_HONORED not in page
    assert not ConsentEvent.objects.exists()


def test_unknown_organization_is_404(browser, db):
    assert browser.get("/privacy-choices/nobody/").status_code == 404


def test_gpc_json_declares_support(client, db):
    response = client.get("/.well-known/gpc.json")
    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    body = response.json()
    assert body["gpc"] is True
    assert date.fromisoformat(body["lastUpdate"]) <= date.today()


def test_public_pages_are_rate_limited_per_address(browser, organization, settings):
    settings.KAIZEN_RATE_LIMITS = {**settings.KAIZEN_RATE_LIMITS, "public_ip": (3, 60)}
    for _ in range(3):
        assert browser.get("/privacy-choices/acme/", HTTP_SEC_GPC="1").status_code == 200
    subjects = organization.subjects.count()
    limited = browser.get("/privacy-choices/acme/", HTTP_SEC_GPC="1")
    assert limited.status_code == 429
    assert int(limited["Retry-After"]) >= 1
    assert organization.subjects.count() == subjects


def test_gpc_is_noted_in_the_banner_cookie(browser, organization):
    response = browser.get("/privacy-choices/acme/", HTTP_SEC_GPC="1")
    stored = json.loads(unquote(response.cookies["kz_consent"].value))
    assert stored["g"] == 1
    assert stored["c"] == {"sale_share": 0, "targeted_advertising": 0}
    assert stored["d"] == 0  # the banner still asks about cookies
