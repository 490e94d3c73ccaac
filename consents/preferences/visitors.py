"""Who the browser is: the banner's first-party cookie, an explicit ?visitor=, or a new id."""

import json
import secrets
from urllib.parse import quote, unquote

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from consents.identifiers import normalize_identifier

CONSENT_COOKIE = "kz_consent"
CONSENT_COOKIE_MAX_AGE = 180 * 24 * 3600


def _valid_visitor_id(value) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return normalize_identifier("visitor_id", value)
    except ValidationError:
        return None


def visitor_id_from_cookie(request: HttpRequest) -> str | None:
    """The `id` field of the banner's cookie (URL-encoded compact JSON), when well formed."""
    raw = request.COOKIES.get(CONSENT_COOKIE, "")
    if not raw:
        return None
    try:
        content = json.loads(unquote(raw))
    except ValueError:
        return None
    return _valid_visitor_id(content.get("id")) if isinstance(content, dict) else None


def visitor_id_from_request(request: HttpRequest) -> str | None:
    """An explicit `visitor` parameter (the banner's link) wins over the cookie."""
    explicit = request.GET.get("visitor") or request.POST.get("visitor")
    return _valid_visitor_id(explicit) or visitor_id_from_cookie(request)


def new_visitor_id() -> str:
    return secrets.token_urlsafe(18)


def remember_visitor(request: HttpRequest, response: HttpResponse, visitor_id: str) -> None:
    """Set the banner's cookie for a browser that had none, so its next visit is recognised."""
    if visitor_id_from_cookie(request):
        return
    value = quote(json.dumps({"id": visitor_id}, separators=(",", ":")), safe="")
    response.set_cookie(
        CONSENT_COOKIE,
        value,
        max_age=CONSENT_COOKIE_MAX_AGE,
        samesite="Lax",
        secure=request.is_secure(),
    )


def gpc_enabled(request: HttpRequest) -> bool:
    """Global Privacy Control: `Sec-GPC: 1` (a repeated header counts if any copy is 1)."""
    values = request.META.get("HTTP_SEC_GPC", "")
    return any(part.strip() == "1" for part in values.split(","))
