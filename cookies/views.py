"""The demo page: the banner on a sample page with two blocked sample scripts."""

import base64

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.views.decorators.http import require_GET

DEMO_SITE_KEY = "demo"
# What the blocked advertising sample does once allowed: a stand-in for a third-party tag.
DEMO_ADS_SCRIPT = """\
document.cookie = "demo_ads=" + Date.now() + "; Path=/; Max-Age=7776000; SameSite=Lax";
(window.demoRuns = window.demoRuns || []).push("advertising");
document.getElementById("advertising-status").textContent = "ran: cookie demo_ads set";
"""
TRANSPARENT_GIF = base64.b64decode("R0lGODlhAQABAIAAAAAAAP///yH5BAEAAAAALAAAAAABAAEAAAIBRAA7")


@require_GET
def demo_page(request: HttpRequest) -> HttpResponse:
    return render(request, "demo/index.html", {"site_key": DEMO_SITE_KEY})


@require_GET
def demo_ads_script(request: HttpRequest) -> HttpResponse:
    return HttpResponse(DEMO_ADS_SCRIPT, content_type="text/javascript; charset=utf-8")


@require_GET
def demo_pixel(request: HttpRequest) -> HttpResponse:
    response = HttpResponse(TRANSPARENT_GIF, content_type="image/gif")
    response["Cache-Control"] = "no-store"
    return response
