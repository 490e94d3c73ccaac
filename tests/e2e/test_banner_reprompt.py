"""When a returning visitor is asked again, driven by the consent cookie a browser brings."""

import json
import time
from urllib.parse import quote

import pytest
from django.utils import timezone

from tests.e2e.conftest import wait_until

pytestmark = [pytest.mark.e2e, pytest.mark.django_db(transaction=True)]

DAY = 86400
OPT_IN_PURPOSES = ("functional", "analytics", "advertising", "sale_share", "targeted_advertising")


def consent_cookie(url: str, *, days_ago: int, choice: int, notice: str = "2026-01") -> dict:
    record = {
        "id": "e2e-visitor-000000000001",
        "c": dict.fromkeys(OPT_IN_PURPOSES, choice),
        "n": notice,
        "t": int(time.time()) - days_ago * DAY,
        "g": 0,
        "cv": "",
        "d": 1,
    }
    return {"name": "kz_consent", "value": quote(json.dumps(record)), "url": url}


def banner_shown(open_page, demo_site, cookie, **options) -> bool:
    page = open_page(**options)
    page.context.add_cookies([cookie])
    page.goto(demo_site.url)
    # Either the banner or the floating "Privacy choices" button appears, never both.
    wait_until(page, "document.querySelector('.kz-banner:not([hidden]), .kz-fab:not([hidden])')")
    return page.locator(".kz-banner").count() == 1 and page.locator(".kz-banner").is_visible()


def test_a_recent_choice_is_not_asked_again(open_page, demo_site):
    cookie = consent_cookie(demo_site.url, days_ago=10, choice=1)

    assert not banner_shown(open_page, demo_site, cookie)


def test_asks_again_after_the_cookie_lifetime(open_page, demo_site):
    cookie = consent_cookie(demo_site.url, days_ago=demo_site.cookie_lifetime_days + 1, choice=1)

    assert banner_shown(open_page, demo_site, cookie)


def test_asks_again_when_a_grant_expired_but_a_refusal_stands(open_page, demo_site):
    from consents.models import Purpose

    Purpose.objects.filter(organization__slug="demo", key="analytics").update(validity_days=30)

    granted = consent_cookie(demo_site.url, days_ago=40, choice=1)
    refused = consent_cookie(demo_site.url, days_ago=40, choice=0)

    assert banner_shown(open_page, demo_site, granted)
    assert not banner_shown(open_page, demo_site, refused)


def publish_notice_asking_for_fresh_consent() -> None:
    from consents.models import Notice, Organization

    Notice.objects.create(
        organization=Organization.objects.get(slug="demo"),
        version="2026-06",
        title="New",
        text="New purposes.",
        requires_fresh_consent=True,
        published_at=timezone.now() - timezone.timedelta(minutes=1),
    )


def test_asks_again_when_the_notice_requires_fresh_consent(open_page, demo_site):
    publish_notice_asking_for_fresh_consent()

    assert banner_shown(open_page, demo_site, consent_cookie(demo_site.url, days_ago=1, choice=1))


def test_a_new_purpose_is_asked_for(open_page, demo_site):
    from consents.models import Purpose

    demo_site.purposes.add(Purpose.objects.get(organization__slug="demo", key="profiling"))

    assert banner_shown(open_page, demo_site, consent_cookie(demo_site.url, days_ago=1, choice=1))


def test_an_opt_out_in_an_opt_out_jurisdiction_is_not_nagged_for_a_year(open_page, demo_site):
    days = demo_site.cookie_lifetime_days + 20  # past the lifetime, inside the 12 months
    cookie = consent_cookie(demo_site.url, days_ago=days, choice=0)

    assert not banner_shown(open_page, demo_site, cookie, extra_http_headers={"CF-IPCountry": "US"})
    assert banner_shown(open_page, demo_site, cookie)  # in the EU the lifetime applies
    late = consent_cookie(demo_site.url, days_ago=demo_site.opt_out_reprompt_days + 1, choice=0)
    assert banner_shown(open_page, demo_site, late, extra_http_headers={"CF-IPCountry": "US"})
