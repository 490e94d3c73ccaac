"""The banner when what the browser holds is stale, foreign or broken: a config cached in
another jurisdiction, a notice that asks for fresh consent, corrupt storage, a broken config
answer. Nothing may run before consent, and the visitor must still be able to choose."""

import json

import pytest

from tests.e2e.conftest import ledger_for, wait_delivered, wait_until
from tests.e2e.test_banner import DATA_LAYER, banner_button
from tests.e2e.test_banner_reprompt import (
    consent_cookie,
    publish_notice_asking_for_fresh_consent,
)

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

CONFIG = "**/api/v1/sites/demo/config*"
OPTIONAL_SIGNALS = (
    "ad_storage",
    "ad_user_data",
    "ad_personalization",
    "analytics_storage",
    "functionality_storage",
    "personalization_storage",
)
SETTLED = "document.querySelector('.kz-banner:not([hidden]), .kz-fab:not([hidden])')"


def consent_entries(page) -> list:
    """The Consent Mode commands in the dataLayer: [["default"|"update", {signals}], ...]."""
    return [
        entry["items"][1:3]
        for entry in page.evaluate(DATA_LAYER)
        if entry["items"] and entry["items"][0] == "consent"
    ]


def test_a_config_cached_in_another_jurisdiction_grants_nothing_before_the_fresh_one(
    open_page, demo_site
):
    page = open_page(extra_http_headers={"CF-IPCountry": "US"})
    page.goto(demo_site.url)
    wait_until(page, "(window.demoRuns || []).length === 2")  # US: opt-out defaults run

    page.context.clear_cookies()
    page.context.set_extra_http_headers({"CF-IPCountry": "DE"})
    held = []
    page.route(CONFIG, lambda route: held.append(route))  # the fresh config is held back
    page.reload()
    wait_until(page, "window.KaizenConsent && document.readyState === 'complete'")
    page.wait_for_timeout(300)
    assert page.evaluate("window.demoRuns || []") == []
    assert page.get_attribute("#ad-pixel", "src") is None
    first = consent_entries(page)[0]
    assert first[0] == "default" and {first[1][s] for s in OPTIONAL_SIGNALS} == {"denied"}

    held[0].continue_()
    banner_button(page, "Reject all").wait_for()  # Germany asks
    assert page.evaluate("window.demoRuns || []") == []
    assert page.problems == []


def test_choices_under_a_notice_that_asks_for_fresh_consent_no_longer_run(open_page, demo_site):
    publish_notice_asking_for_fresh_consent()
    page = open_page()
    page.goto(demo_site.url)  # caches the config, which holds the new notice
    wait_until(page, SETTLED)
    page.context.add_cookies([consent_cookie(demo_site.url, days_ago=1, choice=1)])
    page.reload()
    banner_button(page, "Accept all").wait_for()
    page.wait_for_timeout(300)
    assert page.evaluate("window.demoRuns || []") == []
    for command, signals in consent_entries(page):
        assert signals["analytics_storage"] == "denied", command


def test_a_stored_choice_is_reissued_as_a_consent_update_on_every_load(open_page, demo_site):
    page = open_page()
    page.goto(demo_site.url)
    banner_button(page, "Reject all").click()
    wait_delivered(page)
    page.reload()
    wait_until(page, SETTLED)
    commands = [command for command, _signals in consent_entries(page)]
    assert commands[:2] == ["default", "update"]


@pytest.mark.parametrize("cached", ["{}", '{"purposes": 5}', "[]", "not json"])
def test_a_broken_cached_config_is_ignored(open_page, demo_site, cached):
    page = open_page(init_script=f"localStorage.setItem('kz_cfg:demo', {json.dumps(cached)});")
    page.goto(demo_site.url)
    banner_button(page, "Accept all").wait_for()
    assert consent_entries(page)[0][0] == "default"
    assert page.problems == []


def test_a_broken_config_answer_is_not_cached_and_denies_everything(open_page, demo_site):
    page = open_page()
    page.route(CONFIG, lambda route: route.fulfill(json={"error": "maintenance"}))
    page.goto(demo_site.url)
    wait_until(page, "window.KaizenConsent && document.readyState === 'complete'")
    page.wait_for_timeout(300)
    assert page.evaluate("localStorage.getItem('kz_cfg:demo')") is None
    first = consent_entries(page)[0]
    assert first[0] == "default" and {first[1][s] for s in OPTIONAL_SIGNALS} == {"denied"}
    assert page.evaluate("window.demoRuns || []") == []
    assert page.problems == []


@pytest.mark.parametrize("queued", ["[null]", "{}", '"x"', '[{"no_event_id": 1}]'])
def test_a_corrupt_delivery_queue_does_not_lose_the_next_decision(open_page, demo_site, queued):
    page = open_page(init_script=f"localStorage.setItem('kz_queue:demo', {json.dumps(queued)});")
    page.goto(demo_site.url)
    banner_button(page, "Accept all").click()
    wait_delivered(page)
    assert {event.purpose.key for event in ledger_for(page)} >= {"analytics", "advertising"}
    assert page.problems == []


@pytest.mark.parametrize(
    "record", [{"c": 1, "d": 1}, {"c": "x"}, {"id": "v", "c": {}, "t": "x", "d": 1}, [1]]
)
def test_an_unreadable_consent_cookie_means_asking_again(open_page, demo_site, record):
    from urllib.parse import quote

    page = open_page()
    page.context.add_cookies(
        [{"name": "kz_consent", "value": quote(json.dumps(record)), "url": demo_site.url}]
    )
    page.goto(demo_site.url)
    banner_button(page, "Reject all").wait_for()
    assert page.problems == []


WIDGET = """(keys) => {
  const frame = document.createElement('iframe');
  frame.id = 'widget-' + keys.length;
  frame.setAttribute('data-consent', keys);
  frame.setAttribute('data-src', 'about:blank#widget');
  document.body.appendChild(frame);
}"""


def test_a_withdrawn_frame_is_unloaded_and_an_empty_purpose_list_never_loads(open_page, demo_site):
    page = open_page()
    page.goto(demo_site.url)
    banner_button(page, "Reject all").click()
    page.evaluate(WIDGET, "functional")
    page.evaluate(WIDGET, "")
    page.evaluate("KaizenConsent.set({functional: true})")
    wait_until(
        page, "document.getElementById('widget-10').getAttribute('src') === 'about:blank#widget'"
    )

    page.evaluate("KaizenConsent.set({functional: false})")
    wait_until(page, "document.getElementById('widget-10').getAttribute('src') === 'about:blank'")
    assert page.get_attribute("#widget-10", "data-src") == "about:blank#widget"
    assert page.get_attribute("#widget-0", "src") is None  # data-consent="" is not "no purpose"
    page.evaluate("KaizenConsent.set({functional: true})")
    wait_until(
        page, "document.getElementById('widget-10').getAttribute('src') === 'about:blank#widget'"
    )
    assert page.problems == []


def test_a_config_refresh_waits_for_the_visitor_to_leave_the_preferences(open_page, demo_site):
    page = open_page()
    page.goto(demo_site.url)
    wait_until(page, SETTLED)
    page.evaluate(
        """() => { const c = JSON.parse(localStorage.getItem('kz_cfg:demo'));
          c.config_version = 'stale'; localStorage.setItem('kz_cfg:demo', JSON.stringify(c)); }"""
    )
    held = []
    page.route(CONFIG, lambda route: held.append(route))
    page.reload()
    wait_until(page, SETTLED)
    page.evaluate("KaizenConsent.show()")
    page.locator("dialog.kz-prefs").wait_for()
    page.locator("dialog.kz-prefs input[data-p=analytics]").check()
    held[0].continue_()
    wait_until(page, "JSON.parse(localStorage.getItem('kz_cfg:demo')).config_version !== 'stale'")
    page.wait_for_timeout(300)
    assert page.locator("dialog.kz-prefs").evaluate("d => d.open")
    assert page.locator("dialog.kz-prefs input[data-p=analytics]").is_checked()
    page.locator("dialog.kz-prefs [data-kz=close]").click()
    wait_until(page, SETTLED)  # redrawn once the dialog closed
    assert page.problems == []


LINKS = """(margin) => {
  const list = document.createElement('div');
  for (let i = 0; i < 40; i++) {
    const a = document.createElement('a');
    a.href = '#l' + i; a.textContent = 'link ' + i;
    a.style.cssText = 'display: block; width: 8em; margin: ' + margin;
    list.appendChild(a);
  }
  document.querySelector('main').prepend(list);
}"""
FOCUS_HIDDEN = """() => {
  const f = document.activeElement, b = document.querySelector('.kz-banner');
  if (!f || f === document.body || b.contains(f)) return false;
  const r = f.getBoundingClientRect(), k = b.getBoundingClientRect();
  return r.top >= k.top && r.bottom <= k.bottom && r.left >= k.left && r.right <= k.right;
}"""


@pytest.mark.parametrize(
    ("position", "margin"),
    [("center", "0 auto"), ("bottom-right", "0 0 0 calc(100% - 10em)")],
)
def test_the_banner_never_hides_the_focused_element_entirely(
    open_page, demo_site, position, margin
):
    demo_site.position = position
    demo_site.save()
    page = open_page(viewport={"width": 800, "height": 600})
    page.goto(demo_site.url)
    banner_button(page, "Accept all").wait_for()
    page.evaluate(LINKS, margin)  # narrow links where the banner sits
    page.evaluate("document.activeElement.blur(); window.scrollTo(0, 0)")
    hidden = []
    for press in range(60):
        page.keyboard.press("Tab")
        if page.evaluate(FOCUS_HIDDEN):
            hidden.append(page.evaluate("document.activeElement.textContent"))
    assert hidden == []
    assert page.problems == []


def test_the_floating_button_never_hides_the_focused_element(open_page, demo_site):
    """A short link in the page's last lines, where the floating button sits: the page cannot
    scroll it clear, so the button steps aside while the link has the focus (WCAG 2.4.11)."""
    page = open_page(viewport={"width": 800, "height": 600})
    page.goto(demo_site.url)
    banner_button(page, "Accept all").click()
    fab = page.get_by_role("button", name="Privacy choices").last
    fab.wait_for()
    page.evaluate(
        """() => {
          const a = document.createElement('a');
          a.href = '#faq'; a.id = 'faq'; a.textContent = 'FAQ';
          const k = document.querySelector('.kz-fab').getBoundingClientRect();
          a.style.cssText = 'position: absolute; width: 32px; left: ' + (k.left + 8) + 'px; top: ' +
            (scrollY + k.top + 12) + 'px';
          document.body.appendChild(a);
          document.activeElement.blur();
        }"""
    )
    covered = "document.querySelector('.kz-fab').contains(document.elementFromPoint(%s))"
    centre = "...(r => [r.x + r.width / 2, r.y + r.height / 2])(%s.getBoundingClientRect())"
    assert page.evaluate(covered % centre % "document.getElementById('faq')")

    for _ in range(20):
        page.keyboard.press("Tab")
        if page.evaluate("document.activeElement.id") == "faq":
            break
    else:
        raise AssertionError("Tab never reached the link")
    assert page.evaluate(
        "document.elementFromPoint(%s) === document.activeElement"
        % (centre % "document.activeElement")
    )
    page.keyboard.press("Shift+Tab")  # the focus moves on: the button is back, and reachable
    assert fab.is_visible()
    page.keyboard.press("Tab")
    assert page.evaluate("document.activeElement.classList.contains('kz-fab')")
    assert page.problems == []
