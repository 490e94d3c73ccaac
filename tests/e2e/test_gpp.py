"""The __gpp and __uspapi APIs of static/kaizen/gpp.js in a real Chromium.

Pages are served by Playwright routes on a made-up publisher origin: the documented inline
stub (read from docs/gpp.md, so the docs cannot drift), calls made before gpp.js loads, gpp.js
itself, and a stand-in for the banner that dispatches its events. The last test runs the real
banner against the live server.
"""

import json
import os
import re
from pathlib import Path

import pytest

from consents import gpp
from consents.gpp import MspaConfig

os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"

pytestmark = pytest.mark.e2e

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = "http://publisher.test"
US_CONFIG = {
    "jurisdiction_group": "us",
    "notice": {"version": "2026-01"},
    "gpp": {
        "us_privacy_enabled": True,
        "mspa_covered_transaction": True,
        "mspa_opt_out_option_mode": False,
        "mspa_service_provider_mode": True,
    },
}
US_MSPA = MspaConfig(covered_transaction=True, service_provider_mode=True)

# Calls a tag makes before gpp.js arrives; each answer lands in window.calls.
EARLY_CALLS = """
<script>
window.calls = [];
__gpp("ping", function (data, ok) {
  calls.push(["ping", data.cmpStatus, data.signalStatus, ok]);
});
__gpp("addEventListener", function (event, ok) {
  calls.push(["event", event.eventName, event.data, event.pingData.cmpStatus,
              event.pingData.signalStatus, event.pingData.gppString, event.listenerId]);
});
__gpp("hasSection", function (data, ok) { calls.push(["hasSection", data, ok]); }, "usnat");
__uspapi("getUSPData", 1, function (data, ok) {
  calls.push(["usp", data && data.uspString, ok]);
});
window.answeredBeforeLoad = calls.slice();
</script>
"""


def documented_stub() -> str:
    text = (ROOT / "docs" / "gpp.md").read_text()
    match = re.search(r"<!-- kaizen-gpp-stub -->\s*```html\n(.*?)\n```", text, re.S)
    assert match, "docs/gpp.md lost its stub snippet"
    return "\n".join(line for line in match.group(1).splitlines() if "gpp.js" not in line)


def page_html(*, early_calls: str = EARLY_CALLS) -> str:
    return (
        "<!doctype html><html><head><title>publisher</title>"
        + documented_stub()
        + early_calls
        + '<script src="/static/kaizen/gpp.js"></script></head><body><h1>News</h1></body></html>'
    )


@pytest.fixture
def publisher_page(browser):
    """open(html=None, gpc=False) -> a page at the publisher origin with gpp.js served."""
    contexts = []
    script = (ROOT / "static" / "kaizen" / "gpp.js").read_text()

    def open_page(html: str | None = None, *, gpc: bool = False):
        context = browser.new_context()
        contexts.append(context)
        if gpc:
            context.add_init_script(
                "Object.defineProperty(Navigator.prototype, 'globalPrivacyControl',"
                " {get: () => true});"
            )
        body = html or page_html()
        context.route(
            f"{ORIGIN}/static/kaizen/gpp.js",
            lambda route: route.fulfill(body=script, content_type="application/javascript"),
        )
        context.route(
            f"{ORIGIN}/",
            lambda route: route.fulfill(body=body, content_type="text/html"),
        )
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.errors = []
        page.on("pageerror", lambda exc: page.errors.append(str(exc)))
        page.goto(f"{ORIGIN}/")
        return page

    yield open_page
    for context in contexts:
        context.close()


def announce(page, name: str, choices: dict, config: dict = US_CONFIG, gpc=False) -> None:
    """Do what banner.js does: expose KaizenConsent and fire kaizen:consent-<name>."""
    page.evaluate(
        """([name, choices, config, gpc]) => {
            window.KaizenConsent = {getAll: () => choices, config: config};
            document.dispatchEvent(new CustomEvent("kaizen:consent-" + name,
                {detail: {choices: choices, gpc: gpc, config: config}}));
        }""",
        [name, choices, config, gpc],
    )


def call(page, command: str, parameter=None):
    """__gpp(command, cb, parameter) -> [data, success], answered synchronously."""
    return page.evaluate(
        """([command, parameter]) => {
            let answer = null;
            __gpp(command, (data, ok) => { answer = [data, ok]; }, parameter);
            return answer;
        }""",
        [command, parameter],
    )


def usp(page):
    return page.evaluate(
        "() => { let a = null; __uspapi('getUSPData', 1, (d, ok) => { a = [d, ok]; }); return a; }"
    )


def test_calls_made_before_gpp_js_loads_are_answered_in_order(publisher_page):
    page = publisher_page()
    # The stub answers every generic command at once, as the specification demands.
    before = page.evaluate("window.answeredBeforeLoad")
    assert before == [
        ["ping", "stub", "not ready", True],
        ["event", "listenerRegistered", True, "stub", "not ready", "", 1],
        ["hasSection", None, True],
    ]
    queued = page.evaluate("window.calls")
    assert queued[:3] == before
    assert queued[3] == ["event", "cmpStatus", "loaded", "loaded", "not ready", "", 1]
    assert len(queued) == 4  # __uspapi waits for the visitor's choices

    choices = {"necessary": True, "sale_share": False, "targeted_advertising": True}
    announce(page, "ready", choices)
    expected = gpp.gpp_string(
        gpp.usnat_from_choices(choices, notice_given=True, gpc=False, mspa=US_MSPA)
    )
    after = page.evaluate("window.calls")[4:]
    assert [c[:3] for c in after] == [
        ["event", "signalStatus", "not ready"],
        ["event", "sectionChange", "usnat"],
        ["event", "signalStatus", "ready"],
        ["usp", "1YYY", True],
    ]
    assert after[2][5] == expected  # pingData of the last event carries the new string
    assert page.errors == []


def test_commands_answer_from_the_visitors_choices(publisher_page):
    page = publisher_page()
    choices = {"sale_share": False, "targeted_advertising": True}
    announce(page, "ready", choices)
    usnat = gpp.usnat_from_choices(choices, notice_given=True, gpc=False, mspa=US_MSPA)

    ping, ok = call(page, "ping")
    assert ok is True
    assert ping["gppVersion"] == "1.1" and ping["cmpStatus"] == "loaded"
    assert ping["signalStatus"] == "ready" and ping["supportedAPIs"] == ["7:usnat"]
    assert ping["cmpId"] == 0 and ping["sectionList"] == [7]
    assert ping["applicableSections"] == [7]
    assert ping["gppString"] == gpp.gpp_string(usnat)

    assert call(page, "hasSection", "usnat") == [True, True]
    assert call(page, "hasSection", "usca") == [False, True]
    assert call(page, "getSection", "usnat") == [usnat.subsections(), True]
    assert call(page, "getField", "usnat.SaleOptOut") == [1, True]
    assert call(page, "getField", "usnat.SharingOptOut") == [1, True]
    assert call(page, "getField", "usnat.TargetedAdvertisingOptOut") == [2, True]
    assert call(page, "getField", "usnat.MspaServiceProviderMode") == [1, True]
    assert call(page, "getField", "usnat.Gpc") == [False, True]
    assert call(page, "getField", "usnat.NoSuchField") == [None, True]
    assert call(page, "getSection", "tcfeuv2") == [None, True]
    assert call(page, "fetchEverything") == [None, False]
    assert usp(page) == [{"version": 1, "uspString": "1YYY"}, True]
    assert page.evaluate("document.cookie").count("usprivacy=1YYY") == 1
    assert page.errors == []


def test_a_change_fires_the_event_chain_and_removed_listeners_hear_nothing(publisher_page):
    page = publisher_page()
    announce(page, "ready", {"sale_share": True, "targeted_advertising": True})
    page.evaluate(
        """() => {
            window.heard = {first: [], second: []};
            __gpp("addEventListener", (e) => { heard.first.push([e.eventName, e.data]);
                                               window.firstId = e.listenerId; });
            __gpp("addEventListener", (e) => { heard.second.push([e.eventName, e.data]);
                                               window.secondId = e.listenerId; });
        }"""
    )
    second = page.evaluate("window.secondId")
    removed, ok = call(page, "removeEventListener", second)
    assert ok is True and removed["pingData"]["gppVersion"] == "1.1"
    assert {k: removed[k] for k in ("eventName", "listenerId", "data")} == {
        "eventName": "listenerRemoved",
        "listenerId": second,
        "data": True,
    }
    removed, ok = call(page, "removeEventListener", second)  # already gone
    assert ok is False and (removed["eventName"], removed["data"]) == ("listenerRemoved", False)
    assert call(page, "removeEventListener", 9999)[0]["data"] is False
    announce(page, "change", {"sale_share": False, "targeted_advertising": False})
    heard = page.evaluate("window.heard")
    assert heard["first"] == [
        ["listenerRegistered", True],
        ["signalStatus", "not ready"],
        ["sectionChange", "usnat"],
        ["signalStatus", "ready"],
    ]
    assert heard["second"] == [["listenerRegistered", True]]
    assert call(page, "getField", "usnat.TargetedAdvertisingOptOut") == [1, True]
    announce(page, "change", {"sale_share": False, "targeted_advertising": False})
    assert len(page.evaluate("window.heard.first")) == 4  # same choices: no new events


def test_browser_gpc_signal_is_encoded_and_opts_out(publisher_page):
    page = publisher_page(gpc=True)
    announce(page, "ready", {"sale_share": True, "targeted_advertising": True}, gpc=None)
    ping, _ = call(page, "ping")
    assert ping["gppString"].endswith(".YA")
    assert call(page, "getField", "usnat.Gpc") == [True, True]
    assert call(page, "getField", "usnat.SaleOptOut") == [1, True]
    assert usp(page)[0]["uspString"] == "1YYY"


def test_outside_the_us_no_section_applies_and_us_privacy_can_be_off(publisher_page):
    page = publisher_page()
    config = {**US_CONFIG, "jurisdiction_group": "eu"}
    announce(page, "ready", {"sale_share": False}, config=config)
    ping, _ = call(page, "ping")
    assert ping["sectionList"] == [] and ping["applicableSections"] == [-1]
    assert ping["gppString"] == "" and ping["signalStatus"] == "ready"
    assert call(page, "hasSection", "usnat") == [False, True]
    assert usp(page) == [{"version": 1, "uspString": "1---"}, True]

    off = {**US_CONFIG, "gpp": {**US_CONFIG["gpp"], "us_privacy_enabled": False}}
    announce(page, "change", {"sale_share": False}, config=off)
    assert usp(page) == [None, False]
    assert "usprivacy=" not in page.evaluate("document.cookie")


def test_frames_reach_both_apis_through_the_locator_frames(publisher_page):
    page = publisher_page()
    announce(page, "ready", {"sale_share": False})
    assert page.evaluate("!!window.frames['__gppLocator'] && !!window.frames['__uspapiLocator']")
    page.evaluate(
        """() => {
            const frame = document.createElement("iframe");
            frame.name = "ad";
            frame.srcdoc = `<script>
              window.answers = [];
              window.addEventListener("message", (event) => {
                const data = typeof event.data === "string" ? JSON.parse(event.data) : event.data;
                if (data.__gppReturn || data.__uspapiReturn) answers.push(data);
              });
              let target = window.parent;
              while (!target.frames["__gppLocator"] && target !== window.top) {
                target = target.parent;
              }
              target.postMessage({__gppCall: {command: "getField", parameter: "usnat.SaleOptOut",
                                              version: "1.1", callId: "a1"}}, "*");
              target.postMessage(JSON.stringify({__uspapiCall: {command: "getUSPData", version: 1,
                                                                callId: "u1"}}), "*");
            <\\/script>`;
            document.body.appendChild(frame);
        }"""
    )
    frame = page.wait_for_selector("iframe[name=ad]").content_frame()
    frame.wait_for_function("window.answers && window.answers.length === 2")
    answers = sorted(frame.evaluate("window.answers"), key=json.dumps)
    assert {"__gppReturn": {"returnValue": 1, "success": True, "callId": "a1"}} in answers
    assert {
        "__uspapiReturn": {
            "returnValue": {"version": 1, "uspString": "1YYY"},
            "success": True,
            "callId": "u1",
        }
    } in answers


def test_with_the_real_banner_the_browser_string_matches_the_server_state(browser, live_server):
    from consents.demo import seed_demo
    from consents.selectors import consent_state_for_subject, subject_by_identifier
    from cookies.models import Site

    organization = seed_demo()
    site = Site.objects.get(key="demo")
    site.allowed_origins = f"{site.allowed_origins}\n{live_server.url}"
    site.mspa_covered_transaction = True
    site.mspa_opt_out_option_mode = True
    site.us_privacy_enabled = True
    site.save()
    html = (
        "<!doctype html><html lang='en'><head><title>shop</title>"
        + documented_stub()
        + EARLY_CALLS
        + '<script src="/static/kaizen/gpp.js"></script>'
        + '<script src="/static/kaizen/banner.js" data-site-key="demo"></script>'
        + "</head><body><h1>Shop</h1></body></html>"
    )
    context = browser.new_context(extra_http_headers={"CF-IPCountry": "US"})
    try:
        context.route(
            f"{live_server.url}/gpp-page/",
            lambda route: route.fulfill(body=html, content_type="text/html"),
        )
        page = context.new_page()
        page.set_default_timeout(10_000)
        page.goto(f"{live_server.url}/gpp-page/")
        page.wait_for_function(
            "() => { let s; __gpp('ping', (d) => { s = d.signalStatus; }); return s === 'ready'; }"
        )
        choices = page.evaluate("KaizenConsent.getAll()")
        config = page.evaluate("KaizenConsent.config")
        assert config["jurisdiction_group"] == "us"
        mspa = MspaConfig.from_site(site)
        expected = gpp.usnat_from_choices(
            choices, notice_given=bool(config["notice"]), gpc=False, mspa=mspa
        )
        assert call(page, "ping")[0]["gppString"] == gpp.gpp_string(expected)
        assert ["usp", "1YNY", True] in page.evaluate("window.calls")

        page.evaluate("KaizenConsent.set({sale_share: false})")
        page.wait_for_function(
            "() => { let v; __gpp('getField', (d) => { v = d; }, 'usnat.SaleOptOut');"
            " return v === 1; }"
        )
        page.wait_for_function(
            "() => !(JSON.parse(localStorage.getItem('kz_queue:demo')) || []).length"
        )
        browser_string = call(page, "ping")[0]["gppString"]
        visitor = next(c for c in context.cookies() if c["name"] == "kz_consent")
        from urllib.parse import unquote

        visitor_id = json.loads(unquote(visitor["value"]))["id"]
        subject = subject_by_identifier(organization, "visitor_id", visitor_id)
        decisions = consent_state_for_subject(organization, subject, "US")
        server = gpp.signals_for_decisions(
            organization=organization, decisions=decisions, jurisdiction="US", site=site
        )
        # The server leaves out the GPC sub-section (it cannot see the browser's signal).
        assert server["gpp"] == browser_string.split(".")[0]
        assert server["us_privacy"] == usp(page)[0]["uspString"] == "1YYY"
    finally:
        context.close()


DISPLAY_STATUS = "() => { let s; __gpp('ping', (d) => { s = d.cmpDisplayStatus; }); return s; }"


@pytest.mark.django_db(transaction=True)
def test_cmp_display_status_follows_the_banner_and_the_preferences_dialog(open_page, demo_site):
    page = open_page()
    page.goto(demo_site.url)
    page.get_by_role("dialog", name="Your privacy choices").wait_for()
    page.wait_for_function(f"() => ({DISPLAY_STATUS})() === 'visible'")
    page.evaluate(
        """() => { window.displayEvents = [];
          __gpp('addEventListener', (e) => {
            if (e.eventName === 'cmpDisplayStatus')
              displayEvents.push([e.data, e.pingData.cmpDisplayStatus]);
          }); }"""
    )

    page.locator(".kz-banner").get_by_role("button", name="Reject all", exact=True).click()
    page.wait_for_function(f"() => ({DISPLAY_STATUS})() === 'hidden'")
    page.evaluate("KaizenConsent.show()")
    page.locator("dialog.kz-prefs").wait_for()
    page.wait_for_function(f"() => ({DISPLAY_STATUS})() === 'visible'")
    page.locator("dialog.kz-prefs [data-kz=close]").click()
    page.wait_for_function(f"() => ({DISPLAY_STATUS})() === 'hidden'")

    assert page.evaluate("window.displayEvents") == [
        ["hidden", "hidden"],
        ["visible", "visible"],
        ["hidden", "hidden"],
    ]
    assert page.evaluate("KaizenConsent.displayStatus") == "hidden"
    assert page.problems == []


LOG_DISPLAY = """document.addEventListener('kaizen:consent-display',
  (e) => (window.displayLog = window.displayLog || []).push(e.detail.status));"""


@pytest.mark.django_db(transaction=True)
def test_a_config_refresh_redraw_reports_no_display_change(open_page, demo_site):
    page = open_page(init_script=LOG_DISPLAY)
    page.goto(demo_site.url)
    page.get_by_role("dialog", name="Your privacy choices").wait_for()
    fresh = page.evaluate("JSON.parse(localStorage.getItem('kz_cfg:demo')).config_version")
    page.evaluate(
        """() => { const c = JSON.parse(localStorage.getItem('kz_cfg:demo'));
          c.config_version = 'stale'; localStorage.setItem('kz_cfg:demo', JSON.stringify(c)); }"""
    )

    page.reload()  # drawn from the stale cached config, then redrawn from the fresh one
    page.wait_for_function(
        f"() => JSON.parse(localStorage.getItem('kz_cfg:demo')).config_version === '{fresh}'"
    )
    page.locator(".kz-banner").get_by_role("button", name="Accept all", exact=True).wait_for()
    page.wait_for_timeout(200)
    assert page.evaluate("window.displayLog") == ["visible"]
    assert page.evaluate(DISPLAY_STATUS) == "visible"
    assert page.problems == []


def test_gpp_loaded_after_the_banner_is_shown_answers_visible_from_the_start(publisher_page):
    html = (
        "<!doctype html><html><head><title>publisher</title>"
        + documented_stub()
        + "<script>window.KaizenConsent = {displayStatus: 'visible'};"
        + "window.seen = []; __gpp('addEventListener', (e) =>"
        + " seen.push([e.eventName, e.pingData.cmpDisplayStatus]));</script>"
        + '<script src="/static/kaizen/gpp.js"></script></head><body></body></html>'
    )
    page = publisher_page(html)
    assert page.evaluate("window.seen") == [
        ["listenerRegistered", "hidden"],  # answered by the stub, which cannot know
        ["cmpStatus", "visible"],
    ]
    assert call(page, "ping")[0]["cmpDisplayStatus"] == "visible"
    assert page.errors == []


def test_a_queued_callback_that_throws_does_not_stop_gpp_js_from_starting(publisher_page):
    # A vendor's listener that reads the usnat section before it exists throws on its first call.
    # A stub that queues every call (as ours did, and as some CMPs' stubs do) holds it until
    # gpp.js loads.
    early = """<script>
    window.__gpp = function () { __gpp.queue.push([].slice.call(arguments)); };
    __gpp.queue = [];
    window.calls = [];
    __gpp("addEventListener", function (event) {
      calls.push(["careless", event.eventName]);
      if (event.pingData.parsedSections.usnat[0].SaleOptOut) { calls.push(["never"]); }
    });
    __uspapi("getUSPData", 1, function () { throw new Error("vendor bug"); });
    __gpp("addEventListener", function (event) { calls.push(["careful", event.eventName]); });
    __uspapi("getUSPData", 1, function (data, ok) { calls.push(["usp", ok]); });
    </script>"""
    page = publisher_page(page_html(early_calls=early))
    assert page.evaluate("window.calls") == [
        ["careless", "listenerRegistered"],
        ["careful", "listenerRegistered"],
        ["careless", "cmpStatus"],
        ["careful", "cmpStatus"],
    ]
    announce(page, "ready", {"sale_share": False})
    assert call(page, "ping")[0]["signalStatus"] == "ready"
    assert ["careful", "signalStatus"] in page.evaluate("window.calls")
    assert ["usp", True] in page.evaluate("window.calls")
    assert page.evaluate("document.cookie").count("usprivacy=1YYY") == 1


def test_listeners_registered_on_the_stub_keep_their_ids_and_can_be_removed_before_load(
    publisher_page,
):
    early = """<script>
    window.heard = [];
    window.ids = [];
    [1, 2, 3].forEach(function (n) {
      __gpp("addEventListener", function (e) {
        heard.push([n, e.eventName, e.listenerId]);
        if (e.eventName === "listenerRegistered") { ids.push(e.listenerId); }
      });
    });
    __gpp("removeEventListener", function (e, ok) { window.removed = [e.eventName, e.data, ok]; },
          ids[1]);
    __gpp("getField", function (v, ok) { window.field = [v, ok]; }, "usnat.SaleOptOut");
    window.answeredBeforeLoad = {ids: ids.slice(), removed: window.removed, field: window.field};
    </script>"""
    page = publisher_page(page_html(early_calls=early))
    assert page.evaluate("window.answeredBeforeLoad") == {
        "ids": [1, 2, 3],
        "removed": ["listenerRemoved", True, True],
        "field": [None, True],
    }
    ids = page.evaluate(
        "() => { const ids = []; __gpp('addEventListener', (e) => ids.push(e.listenerId));"
        " return ids; }"
    )
    assert ids == [4]
    announce(page, "ready", {"sale_share": False})
    heard = page.evaluate("window.heard")
    assert [h for h in heard if h[1] == "cmpStatus"] == [[1, "cmpStatus", 1], [3, "cmpStatus", 3]]
    assert [1, "signalStatus", 1] in heard and [3, "sectionChange", 3] in heard
    assert not [h for h in heard if h[0] == 2 and h[1] != "listenerRegistered"]
    assert page.errors == []


def test_listeners_held_by_the_iab_example_stub_are_taken_over(publisher_page):
    # The IAB's example stub keeps listeners in __gpp.events ({id, callback, parameter}).
    html = """<!doctype html><html><head><script>
    window.heard = [];
    window.__gpp = function () { __gpp.queue.push([].slice.call(arguments)); };
    __gpp.queue = [];
    __gpp.events = [{id: 1, parameter: null,
                     callback: function (e) { heard.push([e.eventName, e.listenerId]); }}];
    __gpp.lastId = 2;  // listener 2 was registered and removed on the stub
    </script><script src="/static/kaizen/gpp.js"></script></head><body></body></html>"""
    page = publisher_page(html)
    assert page.evaluate("window.heard") == [["cmpStatus", 1]]
    ids = page.evaluate(
        "() => { const ids = []; __gpp('addEventListener', (e) => ids.push(e.listenerId));"
        " return ids; }"
    )
    assert ids == [3]
    announce(page, "ready", {"sale_share": False})
    assert ["signalStatus", 1] in page.evaluate("window.heard")
    assert page.errors == []


def test_the_demo_page_carries_the_documented_stub():
    inline = re.search(r"<script>\n(.*)\n</script>", documented_stub(), re.S).group(1)
    assert inline in (ROOT / "templates" / "demo" / "index.html").read_text()


def test_applicable_sections_is_0_until_the_cmp_knows_and_minus_1_only_when_none_applies(
    publisher_page,
):
    early = """<script>
    __gpp("ping", function (d) { window.stubPing = d.applicableSections; });
    __gpp("addEventListener", function (e) {
      (window.seen = window.seen || []).push([e.eventName, e.pingData.applicableSections]);
    });
    </script>"""
    page = publisher_page(page_html(early_calls=early))
    assert page.evaluate("window.stubPing") == [0]
    assert call(page, "ping")[0]["applicableSections"] == [0]  # loaded, signal not ready
    announce(page, "ready", {"sale_share": False}, config={**US_CONFIG, "jurisdiction_group": "eu"})
    assert call(page, "ping")[0]["applicableSections"] == [-1]
    assert page.evaluate("window.seen")[-1] == ["signalStatus", [-1]]
    announce(page, "change", {"sale_share": False})
    assert call(page, "ping")[0]["applicableSections"] == [7]
