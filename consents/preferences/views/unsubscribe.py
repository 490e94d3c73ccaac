"""One-click unsubscribe (RFC 8058): a bare POST unsubscribes, a GET only asks."""

from django.http import HttpRequest, HttpResponse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt

from consent_platform.ratelimit import client_ip
from consents import unsubscribe
from consents.preferences import links, tokens
from consents.preferences.views.pages import (
    METHODS,
    invalid_link,
    link_problem,
    page_url,
    private_page,
    translated,
)


def _is_one_click(request: HttpRequest) -> bool:
    """The body is `List-Unsubscribe=One-Click`, form-urlencoded or multipart."""
    if request.POST.get("List-Unsubscribe") == "One-Click":
        return True
    if request.content_type.startswith("multipart/"):
        return False
    return request.body.strip() == unsubscribe.LIST_UNSUBSCRIBE_POST.encode()


@csrf_exempt
@translated
@never_cache
@METHODS
def one_click_unsubscribe(request: HttpRequest, token: str) -> HttpResponse:
    try:
        unsubscribe_request = unsubscribe.read_unsubscribe_token(token)
    except tokens.TokenError:
        return invalid_link(request)
    organization = unsubscribe_request.organization
    context = {
        "organization": organization,
        "purpose": unsubscribe_request.purpose,
        "preferences_url": page_url(
            request,
            links.preference_url_from(
                organization, unsubscribe_request.email, unsubscribe_request.issued_at
            ),
        ),
        "one_click_value": "One-Click",
    }
    if request.method == "POST":
        if not _is_one_click(request):
            return link_problem(
                request,
                400,
                _("Nothing was changed"),
                _("An unsubscribe request carries List-Unsubscribe=One-Click."),
            )
        unsubscribe.unsubscribe(
            unsubscribe_request,
            ip=client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
        )
        return private_page(request, "preferences/unsubscribed.html", context)
    return private_page(request, "preferences/unsubscribe.html", context)
