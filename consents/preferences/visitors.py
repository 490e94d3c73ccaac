"""Who the browser is: the banner's first-party cookie, an explicit ?visitor=, or a new id.

The cookie `kz_consent` belongs to the banner (docs/banner.md, "The consent cookie"): URL-encoded
compact JSON `{"id", "c": {purpose: 1|0}, "n", "t", "g", "cv", "d"}`. When the preference center
runs on the site's host (or the site shares its cookie across subdomains), a change made here is
written into that cookie too, so the banner applies it on the next page without asking again.
"""

import json
import secrets
import time
from collections.abc import Mapping
from urllib.parse import quote, unquote

from django.core.exceptions import ValidationError
from django.http import HttpRequest, HttpResponse

from consents.identifiers import normalize_identifier

CONSENT_COOKIE = "kz_consent"
DEFAULT_COOKIE_DAYS = 180


def _valid_visitor_id(value) -> str | None:
    if not isinstance(value, str):
        return None
    try:
        return normalize_identifier("visitor_id", value)
    except ValidationError:
        return None


def consent_cookie(request: HttpRequest) -> dict | None:
    """The banner's cookie as a dict, when it is well formed and names a valid visitor id."""
    raw = request.COOKIES.get(CONSENT_COOKIE, "")
    if not raw:
        return None
    try:
        content = json.loads(unquote(raw))
    except (ValueError, RecursionError):
        return None
    if not isinstance(content, dict) or not _valid_visitor_id(content.get("id")):
        return None
    return content


def visitor_id_from_cookie(request: HttpRequest) -> str | None:
    content = consent_cookie(request)
    return content["id"] if content else None


def _explicit_visitor_id(request: HttpRequest) -> str | None:
    return _valid_visitor_id(request.GET.get("visitor") or request.POST.get("visitor"))


def visitor_id_from_request(request: HttpRequest) -> str | None:
    """An explicit `visitor` parameter (the banner's link) wins over the cookie."""
    return _explicit_visitor_id(request) or visitor_id_from_cookie(request)


def new_visitor_id() -> str:
    return secrets.token_urlsafe(16)


def _cookie_domain(request: HttpRequest, domain: str) -> str | None:
    """`domain` (e.g. .example.com) when this host is inside it, else None (host-only)."""
    bare = (domain or "").lstrip(".").lower()
    host = request.get_host().split(":")[0].lower()
    if bare and (host == bare or host.endswith("." + bare)):
        return domain
    return None


def remember_visitor(
    request: HttpRequest,
    response: HttpResponse,
    visitor_id: str,
    *,
    choices: Mapping[str, bool] | None = None,
    notice_version: str = "",
    decided: bool = False,
    gpc: bool = False,
    cookie_domain: str = "",
    lifetime_days: int = DEFAULT_COOKIE_DAYS,
) -> None:
    """Keep the banner's cookie in step with this browser's choices.

    Without `choices` the cookie is only created when the browser has none (so its next visit is
    recognised); with them, they are merged into it. `decided` marks a full cookie-category
    decision (the banner then stops asking); `gpc` notes that a GPC opt-out was applied.
    """
    existing = consent_cookie(request)
    if existing is not None and existing["id"] != visitor_id:
        return  # the page works on another id (?visitor=): this browser's cookie stays as is
    if existing is None and _explicit_visitor_id(request) == visitor_id:
        return  # an id from a link: a link must not plant someone else's id in this browser
    if existing is not None and choices is None and not gpc:
        return
    now = int(time.time())
    value = existing or {
        "id": visitor_id,
        "c": {},
        "n": notice_version or None,
        "t": now,
        "g": 0,
        "d": 0,
    }
    if not isinstance(value.get("c"), dict):
        value["c"] = {}
    if choices:
        value["c"].update({key: int(bool(granted)) for key, granted in choices.items()})
    if decided:
        value.update(t=now, d=1, n=notice_version or value.get("n"))
    if gpc:
        value["g"] = 1
    response.set_cookie(
        CONSENT_COOKIE,
        quote(json.dumps(value, separators=(",", ":")), safe=""),
        max_age=lifetime_days * 24 * 3600,
        domain=_cookie_domain(request, cookie_domain),
        samesite="Lax",
        secure=request.is_secure(),
    )


def gpc_enabled(request: HttpRequest) -> bool:
    """Global Privacy Control: `Sec-GPC: 1` (a repeated header counts if any copy is 1)."""
    values = request.META.get("HTTP_SEC_GPC", "")
    return any(part.strip() == "1" for part in values.split(","))
