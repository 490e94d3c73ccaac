"""US privacy choices (opt-outs of sale/sharing, targeted advertising, profiling) and GPC."""

from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET

from consents import selectors
from consents.jurisdiction import jurisdiction_group
from consents.models import Organization
from consents.preferences import choices, visitors
from consents.preferences.forms import PurposeChoicesForm
from consents.preferences.views.pages import (
    METHODS,
    choice_rows,
    page_url,
    private_page,
    rate_limited,
    translated,
)

# When the platform's own pages last changed how they treat GPC (served in gpc.json).
GPC_LAST_UPDATE = "2026-11-27"
SENSITIVE_DATA_LIMIT = "sensitive_data_limit"


def _labels(purposes) -> dict[str, str]:
    return {
        p.key: _("Limit the use of my sensitive personal information")
        if p.key == SENSITIVE_DATA_LIMIT
        else _("Opt out: %(name)s") % {"name": p.name}
        for p in purposes
    }


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


@translated
@never_cache
@rate_limited
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
            wanted = form.wanted()
            changed = choices.changed_choices(decisions, wanted)
            choices.record_choices(
                request=request,
                organization=organization,
                identifiers={"visitor_id": visitor_id},
                choices=changed,
                source="preference_center",
                notice=notice,
                jurisdiction=jurisdiction,
            )
            path = reverse("preferences:privacy-choices", kwargs={"org_slug": org_slug})
            response = redirect(page_url(request, path, {"visitor": visitor_id, "done": "saved"}))
            # Opt-outs, and opt-ins recorded now; a box left as shown is no choice for the banner.
            kept = {key: value for key, value in wanted.items() if not value or key in changed}
            visitors.remember_visitor(request, response, visitor_id, choices=kept)
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
            "rows": choice_rows(form, decisions, labels=_labels(purposes)),
            "notice": notice,
            "gpc": gpc,
            "gpc_opted_out": [
                p for p in purposes if p.key in choices.GPC_KEYS and p not in gpc_kept
            ],
            "gpc_kept": gpc_kept,
            "visitor_id": visitor_id,
            "saved": request.GET.get("done") == "saved",
        },
    )
    response["Vary"] = "Sec-GPC, Cookie"
    gpc_refusals = {
        key: False for key in choices.GPC_KEYS if key in decisions and not decisions[key].allowed
    }
    visitors.remember_visitor(
        request, response, visitor_id, choices=gpc_refusals if gpc else None, gpc=gpc
    )
    return response


@require_GET
def gpc_json(request: HttpRequest) -> JsonResponse:
    """The platform's own GPC support declaration (privacycg/gpc-spec, well-known resource)."""
    return JsonResponse({"gpc": True, "lastUpdate": GPC_LAST_UPDATE})
