"""Scenario 5: banner weight beside two open-source banners, and its timing in Chromium."""

import json
import statistics
import subprocess
from pathlib import Path

from tests.e2e.chromium import CHROMIUM, CHROMIUM_ARGS

LOADS = 20
# Exact versions, so two runs weigh the same files.
COMPETITORS = {
    "vanilla-cookieconsent": (
        "3.1.0",
        ["dist/cookieconsent.umd.js", "dist/cookieconsent.css"],
        "UMD build plus its stylesheet",
    ),
    "klaro": ("0.7.22", ["dist/klaro.js"], "dist/klaro.js, stylesheet bundled in the script"),
}
# Recorded in the page before any of its scripts run: DOMContentLoaded, the moment the banner
# is shown (a MutationObserver sees `hidden` go away) and the moment KaizenConsent is ready.
PROBE = """
window.__kz = {};
document.addEventListener("DOMContentLoaded", function () { __kz.dcl = performance.now(); });
document.addEventListener("kaizen:consent-ready", function () { __kz.ready = performance.now(); });
new MutationObserver(function () {
  if (__kz.visible) return;
  var b = document.querySelector(".kz-banner");
  if (b && !b.hidden) __kz.visible = performance.now();
}).observe(document, { subtree: true, childList: true, attributes: true,
                       attributeFilter: ["hidden"] });
"""
PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>Bench page</title>
<script src="{base}/static/kaizen/banner.js" data-site-key="demo" data-api="{base}"></script>
</head><body><h1>An article</h1><p>Text the visitor came for.</p></body></html>
"""


def gzip9(paths: list[Path]) -> tuple[int, int]:
    """(raw bytes, gzip -9 bytes), each file compressed on its own as a server would."""
    raw = sum(p.stat().st_size for p in paths)
    packed = sum(
        len(subprocess.run(["gzip", "-9", "-c", str(p)], capture_output=True, check=True).stdout)
        for p in paths
    )
    return raw, packed


def weights(root: Path) -> dict:
    out = {}
    ours = [root / "static" / "kaizen" / "banner.js", root / "static" / "kaizen" / "banner.css"]
    raw, packed = gzip9(ours)
    out["Kaizenify (banner.js + banner.css)"] = {"raw": raw, "gzip9": packed, "note": ""}
    prefix = root / "bench" / ".npm"
    wanted = [f"{name}@{version}" for name, (version, _, _) in COMPETITORS.items()]
    installed = all(
        (prefix / "node_modules" / name / "package.json").exists() for name in COMPETITORS
    )
    if not installed:
        prefix.mkdir(parents=True, exist_ok=True)
        subprocess.run(
            [
                "npm",
                "install",
                "--prefix",
                str(prefix),
                "--no-save",
                "--no-audit",
                "--no-fund",
                "--ignore-scripts",
                *wanted,
            ],
            check=True,
            capture_output=True,
        )
    for name, (_version, files, note) in COMPETITORS.items():
        package = prefix / "node_modules" / name
        found = json.loads((package / "package.json").read_text())["version"]
        raw, packed = gzip9([package / f for f in files])
        out[f"{name} {found}"] = {"raw": raw, "gzip9": packed, "note": note}
    return out


def timings(base: str) -> dict:
    from playwright.sync_api import sync_playwright

    page_url = f"{base}/bench/page"
    html = PAGE.format(base=base)

    def serve(route):
        route.fulfill(status=200, content_type="text/html; charset=utf-8", body=html)

    first, returning_ready, returning_visible = [], [], 0
    with sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        try:
            for _ in range(LOADS + 1):  # first visit: a fresh profile each time
                context = browser.new_context()
                context.route(page_url, serve)
                context.add_init_script(PROBE)
                page = context.new_page()
                page.goto(page_url)
                page.wait_for_selector(".kz-banner:not([hidden])")
                marks = page.evaluate("window.__kz")
                first.append(marks)
                context.close()
            context = browser.new_context()
            context.route(page_url, serve)
            context.add_init_script(PROBE)
            page = context.new_page()
            page.goto(page_url)
            page.click(".kz-banner [data-kz=accept]")
            page.wait_for_function("document.cookie.indexOf('kz_consent=') >= 0")
            for _ in range(LOADS + 1):  # returning visitor: the consent cookie is set
                page.goto(page_url)
                page.wait_for_function("window.__kz.ready !== undefined")
                marks = page.evaluate("window.__kz")
                returning_ready.append(marks)
                returning_visible += bool(marks.get("visible"))
            context.close()
        finally:
            browser.close()
    first, returning_ready = first[1:], returning_ready[1:]  # the first load warms the server

    def spans(marks, name):
        return [m[name] - m["dcl"] for m in marks if name in m and "dcl" in m]

    return {
        "loads": LOADS,
        "first_visible_ms": statistics.median(spans(first, "visible")),
        "first_ready_ms": statistics.median(spans(first, "ready")),
        "returning_ready_ms": statistics.median(spans(returning_ready, "ready")),
        "returning_banner_shown": returning_visible,
    }


def scenario_banner(root: Path, base: str) -> dict:
    return {"weights": weights(root), "timings": timings(base)}
