"""A choice made elsewhere (another tab, a later page) reaches a page that is still open or comes
back from the back/forward cache: nothing withdrawn may run there any more."""

import pytest

from tests.e2e.chromium import CHROMIUM, CHROMIUM_ARGS
from tests.e2e.conftest import chromium_missing_reason, wait_until
from tests.e2e.test_banner import banner_button
from tests.e2e.test_banner_robustness import consent_entries

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

LATE_ANALYTICS = """() => {
  const s = document.createElement("script");
  s.type = "text/plain";
  s.dataset.consent = "analytics";
  s.text = "window.lateRuns = (window.lateRuns || 0) + 1";
  document.body.appendChild(s);
}"""


@pytest.fixture(scope="module")
def browser():
    """Chromium with its back/forward cache on (Playwright turns it off by default)."""
    reason = chromium_missing_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            args=CHROMIUM_ARGS,
            ignore_default_args=["--disable-back-forward-cache"],
        )
        yield launched
        launched.close()


def assert_withdrawn(page):
    wait_until(page, "window.KaizenConsent.get('analytics') === false")
    signals = consent_entries(page)[-1][1]
    assert signals["analytics_storage"] == "denied"
    assert signals["ad_storage"] == "denied"
    page.evaluate(LATE_ANALYTICS)
    page.wait_for_timeout(300)
    assert page.evaluate("window.lateRuns") is None


def test_a_page_restored_from_the_back_forward_cache_follows_a_later_withdrawal(
    open_page, demo_site
):
    page = open_page()
    page.goto(demo_site.url)
    banner_button(page, "Accept all").click()
    wait_until(page, "(window.demoRuns || []).length === 2")
    page.evaluate("window.restoredFromCache = true")

    page.goto(f"{demo_site.url}?lang=de")
    wait_until(page, "window.KaizenConsent && window.KaizenConsent.config !== null")
    page.evaluate("KaizenConsent.set({analytics: false, advertising: false})")
    page.go_back(wait_until="commit")  # a restored page fires no load event
    wait_until(page, "document.readyState === 'complete'")

    assert page.evaluate("window.restoredFromCache") is True  # the same page, not a reload
    assert_withdrawn(page)
    assert page.problems == []


def test_a_withdrawal_in_another_tab_reaches_an_open_tab(open_page, demo_site):
    page = open_page()
    page.goto(demo_site.url)
    banner_button(page, "Accept all").click()
    wait_until(page, "(window.demoRuns || []).length === 2")

    other = page.context.new_page()
    other.goto(demo_site.url)
    wait_until(other, "window.KaizenConsent && window.KaizenConsent.get('analytics') === true")
    other.evaluate("KaizenConsent.set({analytics: false, advertising: false})")

    assert_withdrawn(page)
    assert page.problems == []


def test_a_choice_made_in_another_tab_closes_the_banner_here(open_page, demo_site):
    page = open_page()
    page.goto(demo_site.url)
    banner_button(page, "Accept all").wait_for()

    other = page.context.new_page()
    other.goto(demo_site.url)
    banner_button(other, "Reject all").click()

    wait_until(page, "document.querySelector('.kz-banner').hidden")
    assert page.evaluate("window.KaizenConsent.get('analytics')") is False
    assert page.problems == []
