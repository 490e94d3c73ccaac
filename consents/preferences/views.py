"""Server-rendered preference pages. They work without JavaScript; every form is CSRF-protected
except the one-click unsubscribe endpoint, which RFC 8058 requires to take a bare POST."""

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.urls import reverse
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from consent_platform.ratelimit import client_ip
from consents import selectors, unsubscribe
from consents.jurisdiction import jurisdiction_group, normalize_jurisdiction
from consents.models import ConsentMode, Organization, Purpose
from consents.preferences import choices, confirmation, links, tokens, visitors
from consents.preferences.forms import PurposeChoicesForm
from consents.services import ConsentValidationError
from cookies.models import Site

# When the platform's own pages last changed how they treat GPC (served in gpc.json).
GPC_LAST_UPDATE = "2026-11-27"
PREFERENCE_LINK_MAX_AGE_SECONDS = 180 * 24 * 3600
TRANSACTIONAL_MESSAGES = (
    "Order and payment confirmations",
    "Password resets and security alerts",
    "Changes to your contract, terms or privacy notice",
)
METHODS = require_http_methods(["GET", "HEAD", "POST"])


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
        "This link is not valid",
        "The link may have been copied incompletely or altered. Nothing was changed. "
        "Use the link from the most recent message you received from us.",
    )


def expired_link(request: HttpRequest) -> HttpResponse:
    return link_problem(
        request,
        410,
        "This link has expired",
        "For your protection these links work for a limited time. Nothing was changed. "
        "Use the link in a more recent message from us.",
    )


def private_page(request: HttpRequest, template: str, context: dict) -> HttpResponse:
    """Render a page that shows one person's choices: never cached, never leaks its URL."""
    response = render(request, template, context)
    response["Referrer-Policy"] = "same-origin"
    return response


def _is_always_on(purpose: Purpose) -> bool:
    return {purpose.mode_eu, purpose.mode_us, purpose.mode_other} == {ConsentMode.ALWAYS_ON}


# Visitor: cookie choices of one browser on one site.


def _site_jurisdiction(request: HttpRequest, site: Site) -> str:
    from_header = ""
    if site.jurisdiction_header:
        from_header = request.headers.get(site.jurisdiction_header, "")
    return (
        normalize_jurisdiction(from_header)
        or normalize_jurisdiction(site.default_jurisdiction)
        or site.organization.default_jurisdiction
    )


@never_cache
@METHODS
def visitor_preferences(request: HttpRequest, site_key: str) -> HttpResponse:
    site = get_object_or_404(Site.objects.select_related("organization"), key=site_key)
    organization = site.organization
    purposes = list(site.purposes.filter(kind=Purpose.Kind.COOKIE_CATEGORY)) or list(
        organization.purposes.filter(kind=Purpose.Kind.COOKIE_CATEGORY)
    )
    jurisdiction = _site_jurisdiction(request, site)
    visitor_id = visitors.visitor_id_from_request(request)
    known = visitor_id is not None
    visitor_id = visitor_id or visitors.new_visitor_id()
    subject = (
        selectors.subject_by_identifier(organization, "visitor_id", visitor_id) if known else None
    )
    decisions = choices.decisions_by_key(organization, subject, jurisdiction)
    choosable = [p for p in purposes if not _is_always_on(p)]
    allowed = {key: d.allowed for key, d in decisions.items()}
    notice = choices.current_notice(organization, purposes)
    form = PurposeChoicesForm(
        request.POST if request.method == "POST" else None, purposes=choosable, allowed=allowed
    )
    if request.method == "POST" and form.is_valid():
        choices.record_choices(
            request=request,
            organization=organization,
            identifiers={"visitor_id": visitor_id},
            choices=choices.changed_choices(decisions, form.wanted()),
            source="preference_center",
            notice=notice,
            jurisdiction=jurisdiction,
            site=site,
        )
        query = urlencode({"visitor": visitor_id, "done": "saved"})
        response = redirect(f"{request.path}?{query}")
        visitors.remember_visitor(request, response, visitor_id)
        return response
    response = private_page(
        request,
        "preferences/visitor.html",
        {
            "site": site,
            "organization": organization,
            "always_on": [p for p in purposes if _is_always_on(p)],
            "form": form,
            "rows": [(p, field, decisions.get(p.key)) for p, field in form.rows()],
            "decisions": decisions,
            "notice": notice,
            "visitor_id": visitor_id,
            "known_visitor": known,
            "saved": request.GET.get("done") == "saved",
        },
    )
    visitors.remember_visitor(request, response, visitor_id)
    return response


# Known person: marketing channels and topics, reached through a signed link.


def _mask_email(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:1]}{'•' * max(len(local) - 1, 1)}@{domain}"


@never_cache
@METHODS
def person_preferences(request: HttpRequest, token: str) -> HttpResponse:
    try:
        content = tokens.read_token(
            token, tokens.PREFERENCES, max_age_seconds=PREFERENCE_LINK_MAX_AGE_SECONDS
        )
        email = content.payload["e"]
        subject = selectors.subject_by_identifier(content.organization, "email", email)
    except tokens.TokenExpired:
        return expired_link(request)
    except (tokens.TokenError, KeyError, ValueError):
        return invalid_link(request)
    organization = content.organization
    kinds = {Purpose.Kind.COMMUNICATION_CHANNEL, Purpose.Kind.MARKETING_TOPIC}
    purposes = [p for p in organization.purposes.all() if p.kind in kinds]
    decisions = choices.decisions_by_key(organization, subject)
    notice = choices.current_notice(organization, purposes)
    allowed = {key: d.allowed for key, d in decisions.items()}
    form = PurposeChoicesForm(
        request.POST if request.method == "POST" else None, purposes=purposes, allowed=allowed
    )
    if request.method == "POST" and form.is_valid():
        if request.POST.get("action") == "unsubscribe_all":
            wanted = {p.key: False for p in purposes}
            done = "unsubscribed"
        else:
            wanted = form.wanted()
            done = "saved"
        changed = choices.changed_choices(decisions, wanted)
        withheld = []
        if organization.email_double_opt_in:
            withheld = [k for k in choices.EMAIL_CHANNEL_KEYS if changed.get(k) is True]
            for key in withheld:
                del changed[key]
        result = choices.record_choices(
            request=request,
            organization=organization,
            identifiers={"email": email},
            choices=changed,
            source="preference_center",
            notice=notice,
        )
        if withheld:
            confirmation.request_email_confirmation(
                organization=organization,
                email=email,
                purpose_keys=withheld,
                notice_version=notice.version if notice else "",
                subject=result.subject if result else subject,
            )
            done = "confirm"
        return redirect(f"{request.path}?{urlencode({'done': done})}")
    pending = confirmation.pending_confirmation_keys(organization, subject)
    rows = [(p, field, decisions.get(p.key), p.key in pending) for p, field in form.rows()]
    return private_page(
        request,
        "preferences/person.html",
        {
            "organization": organization,
            "email": _mask_email(email),
            "channels": [r for r in rows if r[0].kind == Purpose.Kind.COMMUNICATION_CHANNEL],
            "topics": [r for r in rows if r[0].kind == Purpose.Kind.MARKETING_TOPIC],
            "form": form,
            "notice": notice,
            "transactional": TRANSACTIONAL_MESSAGES,
            "done": request.GET.get("done", ""),
        },
    )


@never_cache
@METHODS
def confirm_email(request: HttpRequest, token: str) -> HttpResponse:
    """GET shows a button (link scanners must not confirm); POST records the grant."""
    try:
        content = confirmation.read_confirmation(token)
    except tokens.TokenExpired:
        return expired_link(request)
    except tokens.TokenError:
        return invalid_link(request)
    organization = content.organization
    names = list(
        organization.purposes.filter(key__in=content.payload.get("k", [])).values_list(
            "name", flat=True
        )
    )
    confirmed = False
    if request.method == "POST":
        try:
            confirmation.confirm_email(
                token, ip=client_ip(request), user_agent=request.headers.get("User-Agent", "")
            )
        except ConsentValidationError:
            return invalid_link(request)
        confirmed = True
    return private_page(
        request,
        "preferences/confirm_email.html",
        {
            "organization": organization,
            "purpose_names": names,
            "confirmed": confirmed,
            "preferences_url": links.preference_url(organization, content.payload["e"]),
        },
    )


# US privacy choices: opt-outs of sale/sharing, targeted advertising, profiling; GPC.


def _us_jurisdiction(organization: Organization) -> str:
    default = organization.default_jurisdiction
    return default if jurisdiction_group(default) == "us" else "US"


def _apply_gpc(request, organization, visitor_id, decisions, purposes, notice, jurisdiction):
    """Record the GPC opt-outs not yet on record; keep an opt-in made on this page."""
    kept, refused = [], {}
    for purpose in purposes:
        decision = decisions[purpose.key]
        if purpose.key not in choices.GPC_KEYS or not decision.allowed:
            continue
        if decision.decision == "granted" and decision.source == "preference_center":
            kept.append(purpose)
        else:
            refused[purpose.key] = False
    choices.record_choices(
        request=request,
        organization=organization,
        identifiers={"visitor_id": visitor_id},
        choices=refused,
        source="gpc",
        notice=notice,
        jurisdiction=jurisdiction,
    )
    return kept


@never_cache
@METHODS
def privacy_choices(request: HttpRequest, org_slug: str) -> HttpResponse:
    organization = get_object_or_404(Organization, slug=org_slug)
    by_key = {p.key: p for p in organization.purposes.filter(key__in=choices.DATA_USE_KEYS)}
    purposes = [by_key[key] for key in choices.DATA_USE_KEYS if key in by_key]
    if not purposes:
        raise Http404("No privacy choices here.")
    jurisdiction = _us_jurisdiction(organization)
    gpc = visitors.gpc_enabled(request)
    visitor_id = visitors.visitor_id_from_request(request) or visitors.new_visitor_id()
    subject = selectors.subject_by_identifier(organization, "visitor_id", visitor_id)
    decisions = choices.decisions_by_key(organization, subject, jurisdiction)
    notice = choices.current_notice(organization, purposes)
    gpc_kept = []
    if request.method == "POST":
        form = PurposeChoicesForm(request.POST, purposes=purposes, allowed={}, ticked_refuses=True)
        if form.is_valid():
            choices.record_choices(
                request=request,
                organization=organization,
                identifiers={"visitor_id": visitor_id},
                choices=choices.changed_choices(decisions, form.wanted()),
                source="preference_center",
                notice=notice,
                jurisdiction=jurisdiction,
            )
            path = reverse("preferences:privacy-choices", kwargs={"org_slug": org_slug})
            response = redirect(f"{path}?{urlencode({'visitor': visitor_id, 'done': 'saved'})}")
            visitors.remember_visitor(request, response, visitor_id)
            return response
    else:
        if gpc:
            gpc_kept = _apply_gpc(
                request,
                organization,
                visitor_id,
                decisions,
                purposes,
                notice,
                jurisdiction,
            )
            subject = selectors.subject_by_identifier(organization, "visitor_id", visitor_id)
            decisions = choices.decisions_by_key(organization, subject, jurisdiction)
        allowed = {key: d.allowed for key, d in decisions.items()}
        form = PurposeChoicesForm(purposes=purposes, allowed=allowed, ticked_refuses=True)
    response = private_page(
        request,
        "preferences/privacy_choices.html",
        {
            "organization": organization,
            "form": form,
            "rows": [(p, field, decisions.get(p.key)) for p, field in form.rows()],
            "notice": notice,
            "gpc": gpc,
            "gpc_purposes": [p for p in purposes if p.key in choices.GPC_KEYS],
            "gpc_kept": gpc_kept,
            "visitor_id": visitor_id,
            "saved": request.GET.get("done") == "saved",
        },
    )
    response["Vary"] = "Sec-GPC, Cookie"
    visitors.remember_visitor(request, response, visitor_id)
    return response


@require_GET
def gpc_json(request: HttpRequest) -> JsonResponse:
    """The platform's own GPC support declaration (privacycg/gpc-spec, well-known resource)."""
    return JsonResponse({"gpc": True, "lastUpdate": GPC_LAST_UPDATE})


# One-click unsubscribe (RFC 8058).


def _is_one_click(request: HttpRequest) -> bool:
    """The body is `List-Unsubscribe=One-Click`, form-urlencoded or multipart."""
    if request.POST.get("List-Unsubscribe") == "One-Click":
        return True
    if request.content_type.startswith("multipart/"):
        return False
    return request.body.strip() == unsubscribe.LIST_UNSUBSCRIBE_POST.encode()


@csrf_exempt
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
        "preferences_url": links.preference_url(organization, unsubscribe_request.email),
        "one_click_value": "One-Click",
    }
    if request.method == "POST":
        if not _is_one_click(request):
            return link_problem(
                request,
                400,
                "Nothing was changed",
                "An unsubscribe request carries List-Unsubscribe=One-Click.",
            )
        unsubscribe.unsubscribe(
            unsubscribe_request,
            ip=client_ip(request),
            user_agent=request.headers.get("User-Agent", ""),
        )
        return private_page(request, "preferences/unsubscribed.html", context)
    return private_page(request, "preferences/unsubscribe.html", context)
