"""The demo page: the banner on a sample page with two blocked sample scripts."""

import base64
import re

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

DEMO_SITE_KEY = "demo"
LANGUAGE_TAG = re.compile(r"^[a-zA-Z]{2,3}(-[A-Za-z0-9]{2,8})?$")
# What the blocked advertising sample does once allowed: a stand-in for a third-party tag.
DEMO_ADS_SCRIPT = """\
document.cookie = "demo_ads=" + Date.now() + "; Path=/; Max-Age=7776000; SameSite=Lax";
(window.demoRuns = window.demoRuns || []).push("advertising");
document.getElementById("advertising-status").textContent = "ran: cookie demo_ads set";
"""
TRANSPARENT_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@require_GET
def demo_page(request: HttpRequest) -> HttpResponse:
    """The sample page; `?lang=ar` shows the banner in another language (the page stays the same
    for every visitor, so it is cacheable)."""
    language = request.GET.get("lang", "")
    context = {
        "site_key": DEMO_SITE_KEY,
        "banner_language": language if LANGUAGE_TAG.match(language) else "",
    }
    return render(request, "demo/index.html", context)


@require_GET
def demo_ads_script(request: HttpRequest) -> HttpResponse:
    return HttpResponse(DEMO_ADS_SCRIPT, content_type="text/javascript; charset=utf-8")


@require_GET
def demo_pixel(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(TRANSPARENT_GIF, content_type="image/gif")
    response["Cache-Control"] = "no-store"
    return response
