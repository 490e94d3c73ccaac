"""Browser tests: a real Chromium driven by Playwright against pytest-django's live server.

One browser per test module (only one sync Playwright may run in a thread at a time, and other
modules may start their own), a fresh context (cookies, storage, cache) per test.
"""

import json
import os
import shutil
import time
from pathlib import Path

import pytest

from tests.e2e.chromium import CHROMIUM, CHROMIUM_ARGS

# Playwright's sync API runs an event loop in this thread; Django would otherwise refuse
# database access from the test body. Set only while browser tests run: a subprocess started by
# another test (`manage.py check --deploy`) must not inherit it.
ASYNC_UNSAFE = "DJANGO_ALLOW_ASYNC_UNSAFE"
E2E_DIR = Path(__file__).resolve().parent


def pytest_collection_finish(session):
    os.environ.pop(ASYNC_UNSAFE, None)  # a test module may have set it while being imported


def pytest_runtest_setup(item):
    os.environ[ASYNC_UNSAFE] = "true"


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_teardown(item, nextitem):
    yield
    if nextitem is None or E2E_DIR not in Path(nextitem.path).resolve().parents:
        os.environ.pop(ASYNC_UNSAFE, None)


QUEUE_EMPTY = "!(JSON.parse(localStorage.getItem('kz_queue:demo')) || []).length"


def chromium_missing_reason() -> str | None:
    if not (CHROMIUM.exists() or shutil.which(str(CHROMIUM))):
        return f"Chromium not found at {CHROMIUM}: install Debian's chromium (make browser)"
    try:
        import playwright.sync_api  # noqa: F401
    except ImportError:
        return "playwright (python) is not installed"
    return None


@pytest.fixture(scope="module")
def browser():
    reason = chromium_missing_reason()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


@pytest.fixture
def demo_site(live_server, settings):
    """The seeded demo organization and site, callable from the live server's origin."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    from consents.demo import seed_demo
    from cookies.models import Site

    seed_demo()
    site = Site.objects.get(key="demo")
    site.allowed_origins = f"{site.allowed_origins}\n{live_server.url}"
    site.save()
    site.url = f"{live_server.url}/demo/"
    return site


class PageProblems(list):
    """Script errors and CSP violations seen by a page; tests assert it stays empty."""


@pytest.fixture
def open_page(browser, demo_site):
    """open_page(**context_options) -> a page in a fresh context; errors are collected."""
    contexts, pages = [], []

    def opener(init_script: str | None = None, **options):
        context = browser.new_context(**options)
        contexts.append(context)
        if init_script:
            context.add_init_script(init_script)
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.in_flight = set()
        page.on("request", lambda request: page.in_flight.add(request))
        page.on("requestfinished", lambda request: page.in_flight.discard(request))
        page.on("requestfailed", lambda request: page.in_flight.discard(request))
        pages.append(page)
        page.problems = PageProblems()
        page.on("pageerror", lambda exc: page.problems.append(f"pageerror: {exc}"))
        page.on(
            "console",
            lambda msg: (
                page.problems.append(f"console: {msg.text}")
                if msg.type == "error" and "Content Security Policy" in msg.text
                else None
            ),
        )
        return page

    yield opener
    # Let the live server finish what the pages asked for before the database is flushed.
    for page in pages:
        deadline = time.monotonic() + 5
        while page.in_flight and time.monotonic() < deadline and not page.is_closed():
            page.wait_for_timeout(25)
    for context in contexts:
        context.close()


def stored_consent(page) -> dict:
    cookie = next(c for c in page.context.cookies() if c["name"] == "kz_consent")
    from urllib.parse import unquote

    return json.loads(unquote(cookie["value"]))


def cookie_names(page) -> set[str]:
    return {c["name"] for c in page.context.cookies()}


def wait_until(page, expression: str, timeout: float = 10.0) -> None:
    """Poll a JavaScript expression until it is truthy.

    Not page.wait_for_function: that compiles its predicate with `new Function` inside the
    page, which the demo page's strict CSP (no unsafe-eval) rightly refuses."""
    deadline = time.monotonic() + timeout
    while not page.evaluate(expression):
        if time.monotonic() > deadline:
            raise AssertionError(f"still false after {timeout}s: {expression}")
        page.wait_for_timeout(50)


def wait_delivered(page) -> None:
    wait_until(page, QUEUE_EMPTY)


def ledger_for(page):
    """The ledger events of the visitor this page's consent cookie names, oldest first."""
    from consents.models import ConsentEvent, Organization
    from consents.selectors import subject_by_identifier

    organization = Organization.objects.get(slug="demo")
    subject = subject_by_identifier(organization, "visitor_id", stored_consent(page)["id"])
    if subject is None:
        return []
    return list(
        ConsentEvent.objects.filter(subject=subject)
        .select_related("purpose", "site")
        .order_by("id")
    )
