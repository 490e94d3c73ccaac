"""The visitor API the banner calls: no secret, a public site key and an allowed origin.

Plain Django views: bodies are read as JSON whatever their Content-Type, because the banner
sends text/plain to stay a CORS "simple request" (no preflight round trip).
"""

import json

from django.conf import settings
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.utils.cache import patch_vary_headers
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt

from consent_platform.ratelimit import client_ip, hit, retry_after
from consents.services import ConsentValidationError, IdempotencyConflict, SubjectContention
from cookies import selectors, services
from cookies.api.serializers import BannerConsentInput, plain_banner_input

UNKNOWN_SITE = "Unknown site key."
ORIGIN_REFUSED = "This origin is not allowed to call the API for this site."
BODY_TOO_LARGE = "The request body is larger than {limit} bytes."
MALFORMED_BODY = "The body must be a JSON object."
RATE_LIMITED = "Too many requests; retry later."
CONFIG_CACHE_CONTROL = "public, max-age=300, stale-while-revalidate=3600"


def error(detail: str, code: str, status: int) -> JsonResponse:
    return JsonResponse({"detail": detail, "code": code}, status=status)


def rate_limited(request: HttpRequest, site_key: str) -> JsonResponse | None:
    """429 when this address or this site is over its limit, else None."""
    for limit_name, subject in (("visitor_ip", client_ip(request)), ("visitor_site", site_key)):
        if not hit(limit_name, subject):
            response = error(RATE_LIMITED, "rate_limited", 429)
            response["Retry-After"] = str(retry_after(limit_name))
            return response
    return None


def gpc_header_on(request: HttpRequest) -> bool:
    """`Sec-GPC: 1` exactly; a repeated header (joined with commas) counts if any copy is 1."""
    return "1" in (value.strip() for value in request.headers.get("Sec-GPC", "").split(","))


def etag_matches(request: HttpRequest, etag: str) -> bool:
    header = request.headers.get("If-None-Match", "")
    tags = {t.strip().removeprefix("W/") for t in header.split(",") if t.strip()}
    return "*" in tags or etag in tags


class SiteConfigView(View):
    """GET the banner configuration for the visitor's language and jurisdiction."""

    def get(self, request: HttpRequest, site_key: str) -> HttpResponse:
        refused = rate_limited(request, site_key)
        if refused:
            return refused
        entry = selectors.site_entry(site_key)
        if entry is None:
            return error(UNKNOWN_SITE, "unknown_site", 404)
        site = entry.site
        language = selectors.banner_language(site, request.GET.get("lang", ""), entry.languages)
        jurisdiction = selectors.site_jurisdiction(site, request.headers)
        config = selectors.cached_banner_config(site, language=language, jurisdiction=jurisdiction)
        etag = f'"{config["config_version"]}"'
        if etag_matches(request, etag):
            response = HttpResponse(status=304)
        else:
            response = JsonResponse(config, json_dumps_params={"ensure_ascii": False})
        response["ETag"] = etag
        response["Cache-Control"] = CONFIG_CACHE_CONTROL
        if site.jurisdiction_header:
            patch_vary_headers(response, (site.jurisdiction_header,))
        return response


@method_decorator(csrf_exempt, name="dispatch")
class SiteConsentView(View):
    """POST a visitor's choices; recorded through record_consent with source banner/gpc."""

    def post(self, request: HttpRequest, site_key: str) -> HttpResponse:
        refused = rate_limited(request, site_key)
        if refused:
            return refused
        entry = selectors.site_entry(site_key)
        if entry is None:
            return error(UNKNOWN_SITE, "unknown_site", 404)
        site = entry.site
        if not selectors.origin_allowed(site.key, request.headers.get("Origin")):
            return error(ORIGIN_REFUSED, "origin_not_allowed", 403)
        limit = settings.KAIZEN_VISITOR_MAX_BODY_BYTES
        try:
            declared = int(request.headers.get("Content-Length") or 0)
        except ValueError:
            declared = 0
        if declared > limit or len(request.body) > limit:
            return error(BODY_TOO_LARGE.format(limit=limit), "body_too_large", 413)
        try:
            body = json.loads(request.body)
        except (ValueError, UnicodeDecodeError, RecursionError):
            body = None
        if not isinstance(body, dict):
            return error(MALFORMED_BODY, "malformed_body", 400)
        data = plain_banner_input(body)
        if data is None:
            payload = BannerConsentInput(data=body)
            if not payload.is_valid():
                return JsonResponse(payload.errors, status=400)
            data = payload.validated_data
        gpc = bool(data["gpc"]) or gpc_header_on(request)
        try:
            result, by_gpc = services.record_banner_consent(
                site=site,
                offered=entry.purpose_keys,
                visitor_id=data["visitor_id"],
                choices=data["choices"],
                notice_version=data.get("notice_version"),
                gpc=gpc,
                event_id=data["event_id"],
                jurisdiction=selectors.site_jurisdiction(site, request.headers),
                occurred_at=data.get("occurred_at"),
                ip=client_ip(request),
                user_agent=request.headers.get("User-Agent", ""),
            )
        except ConsentValidationError as exc:
            return JsonResponse(exc.errors, status=400)
        except IdempotencyConflict as exc:
            return error(str(exc), "idempotency_conflict", 409)
        except SubjectContention as exc:  # the banner's queue retries a 503
            return error(str(exc), "busy", 503)
        response = JsonResponse(
            {
                "replayed": result.replayed,
                "choices": {e.purpose.key: e.granted for e in result.events},
                "gpc_applied": by_gpc,
            },
            status=200 if result.replayed else 201,
        )
        patch_vary_headers(response, ("Sec-GPC",))
        return response
