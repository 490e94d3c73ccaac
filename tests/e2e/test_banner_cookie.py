"""The consent cookie is written so that the next page reads the decision just made: on a host
outside the site's cookie domain, and when an older copy of the record sits on another domain."""

import json
import time
from urllib.parse import quote

import pytest

from tests.e2e.conftest import stored_consent, wait_until
from tests.e2e.test_banner import banner_button
from tests.e2e.test_banner_reprompt import OPT_IN_PURPOSES

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

SETTLED = "document.querySelector('.kz-banner:not([hidden]), .kz-fab:not([hidden])')"


def test_a_host_outside_the_cookie_domain_still_keeps_the_decision(open_page, demo_site):
    demo_site.cookie_domain = "shop.example"  # the site's other host; this page is not on it
    demo_site.save()
    page = open_page()
    page.goto(demo_site.url)
    banner_button(page, "Reject all").click()

    page.reload()
    wait_until(page, SETTLED)
    assert page.locator(".kz-banner").count() == 0  # not asked again
    assert stored_consent(page)["c"]["analytics"] == 0
    assert page.problems == []


def test_a_decision_is_not_shadowed_by_an_older_copy_of_the_record(
    open_page, demo_site, live_server
):
    # The demo served as www.shop.test, a host with a parent domain the cookie can be shared on.
    host = "http://www.shop.test"
    demo_site.allowed_origins += f"\n{host}"
    demo_site.cookie_domain = "shop.test"
    demo_site.save()
    page = open_page()
    page.context.route(
        f"{host}/**",
        lambda route: route.fulfill(
            response=route.fetch(url=route.request.url.replace(host, live_server.url))
        ),
    )
    old = {
        "id": "e2e-visitor-000000000001",
        "c": dict.fromkeys(OPT_IN_PURPOSES, 1),
        "n": "2026-01",
        "t": int(time.time()) - 86400,
        "g": 0,
        "cv": "",
        "d": 1,
    }
    # Written before the site shared its cookie across subdomains: on this host only.
    record = quote(json.dumps(old))
    page.context.add_cookies([{"name": "kz_consent", "value": record, "url": f"{host}/"}])
    page.goto(f"{host}/demo/")
    wait_until(page, "(window.demoRuns || []).length === 2")
    page.evaluate("KaizenConsent.set({analytics: false, advertising: false})")

    page.reload()
    wait_until(page, SETTLED)
    page.wait_for_timeout(300)
    assert page.evaluate("window.KaizenConsent.get('analytics')") is False
    assert page.evaluate("window.demoRuns || []") == []
    assert [c["name"] for c in page.context.cookies()].count("kz_consent") == 1
    assert page.problems == []
