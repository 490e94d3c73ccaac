"""What every preference page shares: the error pages and private-page headers."""

from dataclasses import dataclass
from functools import wraps

from django.conf import settings
from django.forms import BoundField
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.utils.translation import gettext as _
from django.utils.translation.trans_real import parse_accept_lang_header
from django.views.decorators.http import require_http_methods

from consent_platform.ratelimit import client_ip, hit, retry_after
from consents.models import ConsentMode, Purpose
from consents.preferences.forms import PurposeChoicesForm
from consents.selectors import PurposeDecision

METHODS = require_http_methods(["GET", "HEAD", "POST"])
LANGUAGE_TAG_MAX = 35


def requested_languages(request: HttpRequest) -> list[str]:
    """The language tags a visitor asks for, best first: `?lang=` (links in a message may
    carry it), then the Accept-Language header by weight. Nothing else (no cookie) decides."""
    tags = []
    explicit = request.GET.get("lang", "").strip().lower()
    if 0 < len(explicit) <= LANGUAGE_TAG_MAX:
        tags.append(explicit)
    header = request.headers.get("Accept-Language", "")
    tags += [tag for tag, _weight in parse_accept_lang_header(header) if tag != "*"]
    return tags


def page_language(request: HttpRequest) -> str:
    """The first requested language we ship catalogs for (settings.LANGUAGES), else English."""
    for tag in requested_languages(request):
        try:
            return translation.get_supported_language_variant(tag)
        except LookupError:
            continue
    return settings.LANGUAGE_CODE


def translated(view):
    """Render the view in `page_language`; the answer says which and that it varies by it."""

    @wraps(view)
    def in_language(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        language = page_language(request)
        with translation.override(language):
            response = view(request, *args, **kwargs)
        if "Content-Language" not in response:
            response["Content-Language"] = language
        patch_vary_headers(response, ["Accept-Language"])
        return response

    return in_language


def page_url(request: HttpRequest, url: str, query: dict | None = None) -> str:
    """`url?query` for a redirect or a link that keeps the `?lang=` the visitor came with
    ("" for no link)."""
    if not url:
        return ""
    query = dict(query or {})
    if request.GET.get("lang"):
        query["lang"] = translation.get_language()
    return f"{url}?{urlencode(query)}" if query else url


def rate_limited(view):
    """Answer 429 past the per-IP limit of public pages: these pages create subjects."""

    @wraps(view)
    def limited(request: HttpRequest, *args, **kwargs) -> HttpResponse:
        if not hit("public_ip", client_ip(request)):
            response = link_problem(
                request, 429, _("Too many requests"), _("Wait a minute, then try again.")
            )
            response["Retry-After"] = str(retry_after("public_ip"))
            return response
        return view(request, *args, **kwargs)

    return limited


def link_problem(request: HttpRequest, status: int, title: str, message: str) -> HttpResponse:
    response = render(
        request,
        "preferences/link_problem.html",
        {"title": title, "message": message},
        status=status,
    )
    response["Referrer-Policy"] = "same-origin"
    return response


def invalid_link(request: HttpRequest) -> HttpResponse:
    return link_problem(
        request,
        400,
        _("This link is not valid"),
        _(
            "The link may have been copied incompletely or altered. Nothing was changed. "
            "Use the link from the most recent message you received from us."
        ),
    )


def expired_link(request: HttpRequest) -> HttpResponse:
    return link_problem(
        request,
        410,
        _("This link has expired"),
        _(
            "For your protection these links work for a limited time. Nothing was changed. "
            "Use the link in a more recent message from us."
        ),
    )


def private_page(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    """Render a page that shows one person's choices: never cached, never leaks its URL."""
    response = render(request, template, context)
    response["Referrer-Policy"] = "same-origin"
    return response


def is_always_on(purpose: Purpose) -> bool:
    return {purpose.mode_eu, purpose.mode_us, purpose.mode_other} == {ConsentMode.ALWAYS_ON}


@dataclass
class ChoiceRow:
    """One checkbox as a page shows it: the words, the box, and what is on record."""

    purpose: Purpose
    field: BoundField
    decision: PurposeDecision | None
    label: str
    description: str
    pending: bool = False


def choice_rows(
    form: PurposeChoicesForm,
    decisions: dict[str, PurposeDecision],
    *,
    labels: dict[str, str] | None = None,
    descriptions: dict[str, str] | None = None,
    pending: set[str] = frozenset(),
) -> list[ChoiceRow]:
    labels, descriptions = labels or {}, descriptions or {}
    return [
        ChoiceRow(
            purpose=purpose,
            field=field,
            decision=decisions.get(purpose.key),
            label=labels.get(purpose.key) or purpose.name,
            description=descriptions.get(purpose.key) or purpose.description,
            pending=purpose.key in pending,
        )
        for purpose, field in form.rows()
    ]
