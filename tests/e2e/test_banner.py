"""The banner in a real browser, on the /demo/ page, against the live visitor API."""

from urllib.parse import urlsplit

import pytest

from tests.e2e.conftest import (
    cookie_names,
    ledger_for,
    stored_consent,
    wait_delivered,
    wait_until,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

BANNER = ".kz-banner"
PREFS = "dialog.kz-prefs"
SAMPLE_COOKIES = {"demo_analytics", "demo_ads"}
ALL_DENIED = {
    "ad_storage": "denied",
    "ad_user_data": "denied",
    "ad_personalization": "denied",
    "analytics_storage": "denied",
    "functionality_storage": "denied",
    "personalization_storage": "denied",
    "security_storage": "denied",
    "wait_for_update": 500,
}
# dataLayer as JSON: each entry's kind ([object Arguments] for gtag calls) and its items.
DATA_LAYER = """() => window.dataLayer.map(e => ({
  kind: Object.prototype.toString.call(e),
  items: Array.from(e).map(x => x instanceof Date ? "<date>" : x)
}))"""


def banner_button(page, name):
    return page.locator(BANNER).get_by_role("button", name=name, exact=True)


def wait_settled(page):
    """Wait until the banner decided what to show: the banner or the floating button."""
    wait_until(page, "document.querySelector('.kz-banner:not([hidden]), .kz-fab:not([hidden])')")


def tab_to(page, locator, presses=40):
    """Press Tab until `locator` has the focus, as a keyboard-only visitor would."""
    handle = locator.element_handle()
    for _ in range(presses):
        if page.evaluate("el => document.activeElement === el", handle):
            return
        page.keyboard.press("Tab")
    raise AssertionError(f"Tab never reached {locator}")


def test_first_visit_shows_the_banner_and_sets_no_sample_cookie(open_page, demo_site):
    page = open_page()
    hosts = set()
    page.on("request", lambda request: hosts.add(urlsplit(request.url).netloc))

    page.goto(demo_site.url)

    banner = page.get_by_role("dialog", name="Your privacy choices")
    banner.wait_for()
    for name in ("Accept all", "Reject all", "Preferences"):
        assert banner_button(page, name).is_visible()
    assert not cookie_names(page)  # not even the consent cookie before a choice
    assert page.text_content("#analytics-status") == "blocked"
    assert page.text_content("#advertising-status") == "blocked"
    assert page.get_attribute("#ad-pixel", "src") is None
    assert hosts == {urlsplit(demo_site.url).netloc}  # no third party before consent
    assert page.problems == []


def test_reject_all_runs_nothing_and_records_refusals(open_page, demo_site):
    page = open_page()
    page.goto(demo_site.url)

    banner_button(page, "Reject all").click()
    wait_delivered(page)

    assert page.locator(BANNER).is_hidden()
    assert cookie_names(page) == {"kz_consent"}
    assert page.evaluate("window.demoRuns") is None
    events = ledger_for(page)
    decided = {e.purpose.key: e.granted for e in events}
    offered = set(demo_site.purposes.exclude(mode_eu="always_on").values_list("key", flat=True))
    assert set(decided) == offered >= {"functional", "analytics", "advertising", "sale_share"}
    assert not any(decided.values())
    assert {e.source for e in events} == {"banner"}
    assert {e.site.key for e in events} == {"demo"}
    assert {e.notice.version for e in events} == {"2026-01"}
    page.reload()
    wait_settled(page)
    assert page.locator(BANNER).count() == 0
    assert not SAMPLE_COOKIES & cookie_names(page)


def test_accept_all_runs_both_scripts_and_a_returning_visitor_sees_no_banner(open_page, demo_site):
    page = open_page()
    page.goto(demo_site.url)

    banner_button(page, "Accept all").click()
    wait_until(page, "(window.demoRuns || []).length === 2")

    assert page.evaluate("window.demoRuns") == ["analytics", "advertising"]  # document order
    assert cookie_names(page) >= SAMPLE_COOKIES
    assert page.get_attribute("#ad-pixel", "src") == "/demo/pixel.gif"
    wait_delivered(page)
    assert {e.purpose.key for e in ledger_for(page) if e.granted} >= {"analytics", "advertising"}
    stored = stored_consent(page)
    assert stored["c"]["analytics"] == 1 and stored["n"] == "2026-01" and stored["d"] == 1

    page.reload()
    wait_until(page, "(window.demoRuns || []).length === 2")
    wait_settled(page)
    assert page.locator(BANNER).count() == 0
    assert page.evaluate("window.KaizenConsent.get('analytics')") is True
    assert page.get_by_role("button", name="Privacy choices").count() >= 1
    assert page.problems == []


def test_withdrawing_analytics_deletes_its_cookie_at_once(open_page, demo_site):
    page = open_page()
    page.goto(demo_site.url)
    banner_button(page, "Accept all").click()
    wait_until(page, "document.cookie.includes('demo_analytics=')")

    # The floating button reopens the choices; Esc closes them and focus goes back to it.
    page.locator(".kz-fab").click()
    dialog = page.locator(PREFS)
    dialog.wait_for()
    page.keyboard.press("Escape")
    wait_until(page, "document.activeElement === document.querySelector('.kz-fab')")
    # So does KaizenConsent.show(), which the page's own "Privacy choices" button calls.
    page.click("#open-preferences")
    dialog.wait_for()
    analytics = dialog.get_by_role("switch", name="Analytics")
    assert analytics.is_checked()
    center = dialog.get_by_role("link", name="All privacy choices")
    visitor = stored_consent(page)["id"]
    assert center.get_attribute("href").endswith(f"/preferences/demo/?visitor={visitor}&lang=en")
    analytics.uncheck()
    dialog.get_by_role("button", name="Save choices").click()

    wait_until(page, "!document.cookie.includes('demo_analytics=')")
    assert "demo_ads" in cookie_names(page)
    assert page.evaluate("window.KaizenConsent.get('analytics')") is False
    wait_delivered(page)
    last = [e for e in ledger_for(page) if e.purpose.key == "analytics"][-1]
    assert last.granted is False and last.source == "banner"


def test_gpc_opts_out_of_sale_and_sharing_and_says_so(open_page, demo_site):
    page = open_page(
        init_script=(
            "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl',"
            " {get: () => true, configurable: true});"
        ),
        extra_http_headers={"Sec-GPC": "1", "CF-IPCountry": "US-CA"},
    )
    page.goto(demo_site.url)
    page.locator(BANNER).wait_for()
    wait_delivered(page)

    assert page.locator(f"{BANNER} .kz-gpc").inner_text().startswith("Opt-out request honored")
    assert page.evaluate("window.KaizenConsent.get('sale_share')") is False
    assert page.evaluate("window.KaizenConsent.get('targeted_advertising')") is False
    gpc_events = {e.purpose.key: e for e in ledger_for(page) if e.source == "gpc"}
    assert set(gpc_events) == {"sale_share", "targeted_advertising"}
    assert not any(e.granted for e in gpc_events.values())
    assert {e.jurisdiction for e in gpc_events.values()} == {"US-CA"}

    banner_button(page, "Preferences").click()
    toggle = page.locator(PREFS).get_by_role(
        "switch", name="Sale or sharing of personal information"
    )
    assert toggle.is_disabled() and not toggle.is_checked()
    page.locator(PREFS).get_by_role("button", name="Accept all").click()
    wait_delivered(page)
    assert page.evaluate("window.KaizenConsent.get('sale_share')") is False
    assert page.evaluate("window.KaizenConsent.get('analytics')") is True
    sale = [e for e in ledger_for(page) if e.purpose.key == "sale_share"]
    assert [e.granted for e in sale] == [False, False]
    assert sale[-1].source == "gpc"
    # Advertising is accepted, but no personal data for ads and no personalized ads.
    signals = page.evaluate(DATA_LAYER)[-1]["items"]
    assert signals[:2] == ["consent", "update"]
    assert signals[2]["ad_storage"] == "granted"
    assert signals[2]["ad_user_data"] == signals[2]["ad_personalization"] == "denied"


def test_keyboard_only_visitor_can_choose_and_focus_returns(open_page, demo_site):
    page = open_page()
    page.goto(demo_site.url)
    page.locator(BANNER).wait_for()

    # Focus moves into the banner when it opens.
    assert page.evaluate("document.activeElement.closest('.kz-banner') !== null")
    tab_to(page, banner_button(page, "Preferences"))
    page.keyboard.press("Enter")
    dialog = page.locator(PREFS)
    dialog.wait_for()
    assert page.evaluate("document.activeElement.closest('dialog.kz-prefs') !== null")

    # Esc closes the second layer without deciding; focus goes back to Preferences.
    page.keyboard.press("Escape")
    wait_until(page, "!document.querySelector('dialog.kz-prefs').open")
    assert page.evaluate("document.activeElement.textContent") == "Preferences"
    assert "kz_consent" not in cookie_names(page)

    page.keyboard.press("Enter")
    dialog.wait_for()
    tab_to(page, dialog.get_by_role("switch", name="Analytics"))
    page.keyboard.press("Space")
    tab_to(page, dialog.get_by_role("button", name="Save choices"))
    focus_style = page.evaluate("getComputedStyle(document.activeElement).outlineStyle")
    assert focus_style != "none"  # visible focus indicator
    page.keyboard.press("Enter")

    wait_until(page, "(window.demoRuns || []).length === 1")
    assert page.evaluate("window.demoRuns") == ["analytics"]
    assert "demo_ads" not in cookie_names(page)
    assert page.locator(BANNER).is_hidden()
    assert page.evaluate("document.activeElement.closest('.kz') === null")


def test_consent_mode_default_comes_first_and_updates_follow_choices(open_page, demo_site):
    page = open_page()
    page.goto(demo_site.url)
    page.locator(BANNER).wait_for()

    first = page.evaluate(DATA_LAYER)
    assert first[0] == {"kind": "[object Arguments]", "items": ["consent", "default", ALL_DENIED]}
    assert [e["items"][0] for e in first[1:3]] == ["js", "config"]  # the page's tag follows
    assert not any(
        e["items"][:2] == ["consent", "update"]
        and "granted" in {v for k, v in e["items"][2].items() if k != "security_storage"}
        for e in first
    )

    banner_button(page, "Accept all").click()
    after = page.evaluate(DATA_LAYER)
    update = after[-1]
    assert update["kind"] == "[object Arguments]"
    assert update["items"][:2] == ["consent", "update"]
    assert set(update["items"][2].values()) == {"granted"}
    assert set(update["items"][2]) == set(ALL_DENIED) - {"wait_for_update"}

    page.reload()
    wait_until(page, "window.KaizenConsent.config !== null")
    reloaded = page.evaluate(DATA_LAYER)
    assert reloaded[0]["items"][:2] == ["consent", "default"]
    # The stored choice is re-issued at once, before the page's own tag configuration.
    assert reloaded[1]["items"][:2] == ["consent", "update"]
    assert reloaded[1]["items"][2]["analytics_storage"] == "granted"
    assert reloaded[2]["items"][0] == "js"

    page.click("#open-preferences")
    page.locator(PREFS).get_by_role("button", name="Reject all").click()
    last = page.evaluate(DATA_LAYER)[-1]["items"]
    assert last[:2] == ["consent", "update"]
    assert last[2]["ad_storage"] == "denied" and last[2]["analytics_storage"] == "denied"
    assert last[2]["security_storage"] == "granted"


def test_choice_made_while_the_api_is_down_is_kept_and_delivered_later(open_page, demo_site):
    page = open_page()
    page.route("**/api/v1/sites/demo/consents", lambda route: route.abort())
    page.goto(demo_site.url)

    banner_button(page, "Reject all").click()
    wait_until(page, "(JSON.parse(localStorage.getItem('kz_queue:demo')) || []).length === 1")

    assert page.locator(BANNER).is_hidden()  # the choice applies at once
    assert stored_consent(page)["c"]["analytics"] == 0
    assert ledger_for(page) == []
    queued = page.evaluate("JSON.parse(localStorage.getItem('kz_queue:demo'))[0]")

    page.unroute("**/api/v1/sites/demo/consents")
    page.reload()
    wait_delivered(page)

    events = ledger_for(page)
    assert {e.purpose.key for e in events} >= {"analytics", "advertising"}
    assert not any(e.granted for e in events)
    from cookies.models import Site
    from cookies.services import banner_idempotency_key

    expected = banner_idempotency_key(Site.objects.get(key="demo"), queued["event_id"])
    assert {e.client_event_id for e in events} == {expected}
    wait_settled(page)
    assert page.locator(BANNER).count() == 0


def test_right_to_left_language_renders_rtl(open_page, demo_site):
    page = open_page()
    page.goto(f"{demo_site.url}?lang=ar")
    banner = page.locator(BANNER)
    banner.wait_for()

    assert banner.get_attribute("dir") == "rtl"
    assert banner.get_attribute("lang") == "ar"
    assert banner_button(page, "قبول الكل").is_visible()
    assert page.evaluate(f"getComputedStyle(document.querySelector('{BANNER}')).direction") == "rtl"


def test_page_scripts_use_the_api_and_late_blocked_elements_follow_consent(open_page, demo_site):
    page = open_page()
    page.goto(demo_site.url)
    page.locator(BANNER).wait_for()
    page.evaluate(
        """() => {
            window.heard = [];
            window.KaizenConsent.onChange((choices) => heard.push(["callback", choices.analytics]));
            document.addEventListener("kaizen:consent-change", ({detail}) =>
                heard.push(["event", detail.choices.analytics, detail.config.site, detail.gpc]));
        }"""
    )

    result = page.evaluate("window.KaizenConsent.set({analytics: true})")

    assert result["analytics"] is True and result["advertising"] is False
    assert page.evaluate("window.heard") == [["event", True, "demo", False], ["callback", True]]
    wait_until(page, "(window.demoRuns || []).length === 1")
    assert "demo_ads" not in cookie_names(page)
    assert page.locator(BANNER).is_hidden()

    # Blocked elements added after load (a single-page app) follow the choice in force.
    page.evaluate(
        """() => {
            for (const purpose of ["advertising", "analytics"]) {
                const s = document.createElement("script");
                s.type = "text/plain";
                s.dataset.consent = purpose;
                s.text = `(window.lateRuns = window.lateRuns || []).push("${purpose}")`;
                document.body.appendChild(s);
            }
        }"""
    )
    wait_until(page, "(window.lateRuns || []).length === 1")
    assert page.evaluate("window.lateRuns") == ["analytics"]
    assert page.problems == []


def test_a_blocked_scripts_own_load_and_error_handlers_still_run(open_page, demo_site):
    page = open_page()

    def without_csp(route):  # a site without a policy may use inline handlers
        response = route.fetch()
        headers = {
            k: v for k, v in response.headers.items() if k.lower() != "content-security-policy"
        }
        route.fulfill(response=response, headers=headers)

    page.route(demo_site.url, without_csp)
    page.goto(demo_site.url)
    banner_button(page, "Reject all").click()
    page.evaluate(
        """() => {
            for (const [id, src] of [["ok", "/demo/ads.js"], ["missing", "/demo/missing.js"]]) {
                const s = document.createElement("script");
                s.type = "text/plain";
                s.dataset.consent = "analytics";
                s.src = src;
                s.setAttribute("onload", `(window.handled = window.handled || []).push("${id}")`);
                s.setAttribute("onerror", `(window.handled = window.handled || []).push("${id}!")`);
                document.body.appendChild(s);
            }
        }"""
    )
    page.evaluate("KaizenConsent.set({analytics: true})")
    wait_until(page, "(window.handled || []).length === 2")
    assert page.evaluate("window.handled") == ["ok", "missing!"]


def test_switches_show_their_state_in_forced_colors(open_page, demo_site):
    """A Windows contrast theme replaces the site's colours: the knob must stay visible on
    its track, and on must still look unlike off (WCAG 1.4.11, 1.4.1)."""
    page = open_page(forced_colors="active")
    page.goto(demo_site.url)
    banner_button(page, "Preferences").click()
    dialog = page.locator(PREFS)
    dialog.get_by_role("switch", name="Analytics").check()
    look = """el => [getComputedStyle(el).backgroundColor,
                     getComputedStyle(el, '::after').backgroundColor]"""
    on_track, on_knob = dialog.get_by_role("switch", name="Analytics").evaluate(look)
    advertising = dialog.get_by_role("switch", name="Advertising", exact=True)
    off_track, off_knob = advertising.evaluate(look)
    assert on_knob != on_track and off_knob != off_track
    assert (on_track, on_knob) != (off_track, off_knob)
