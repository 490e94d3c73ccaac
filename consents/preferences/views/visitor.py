"""Visitor page: the cookie choices of one browser on one site, in the banner's words."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect
from django.utils import translation
from django.utils.cache import patch_vary_headers
from django.utils.http import urlencode
from django.views.decorators.cache import never_cache

from consents import selectors
from consents.models import Purpose
from consents.preferences import choices, visitors
from consents.preferences.forms import PurposeChoicesForm
from consents.preferences.views.pages import (
    METHODS,
    choice_rows,
    is_always_on,
    private_page,
    rate_limited,
    requested_languages,
    translated,
)
from cookies import selectors as site_selectors
from cookies.models import Site
from cookies.services import gpc_opt_outs
from cookies.texts import (
    FALLBACK_LANGUAGE,
    primary_subtag,
)


def _visitor_language(request: HttpRequest, site: Site) -> str:
    """The first requested language (`?lang=`, which the banner passes, then Accept-Language)
    that the site's banner speaks, shipped or added in the admin; else English."""
    site_languages = list(site.texts.values_list("language", flat=True))
    for tag in requested_languages(request):
        language = site_selectors.banner_language(site, tag, site_languages)
        if language != FALLBACK_LANGUAGE or primary_subtag(tag) == FALLBACK_LANGUAGE:
            return language
    return FALLBACK_LANGUAGE


@translated
@never_cache
@rate_limited
@METHODS
def visitor_preferences(request: HttpRequest, site_key: str) -> HttpResponse:
    site = get_object_or_404(Site.objects.select_related("organization"), key=site_key)
    organization = site.organization
    # The purposes the site's banner asks about, so both show the same choices.
    purposes = list(site.purposes.order_by("position", "key")) or list(
        organization.purposes.filter(kind=Purpose.Kind.COOKIE_CATEGORY)
    )
    language = _visitor_language(request, site)
    jurisdiction = site_selectors.site_jurisdiction(site, request.headers)
    visitor_id = visitors.visitor_id_from_request(request)
    known = visitor_id is not None
    visitor_id = visitor_id or visitors.new_visitor_id()
    subject = (
        selectors.subject_by_identifier(organization, "visitor_id", visitor_id) if known else None
    )
    decisions = choices.decisions_by_key(organization, subject, jurisdiction)
    notice = site_selectors.current_notice(site, language)
    # Global Privacy Control: the site's GPC purposes are refused here as in the banner, which
    # records the signal once without waiting for a click and locks their switches.
    gpc_refused = gpc_opt_outs(site, jurisdiction) if visitors.gpc_enabled(request) else []
    unrecorded = {key: False for key in gpc_refused if key in decisions and decisions[key].allowed}
    if request.method != "POST" and unrecorded:
        result = choices.record_choices(
            request=request,
            organization=organization,
            identifiers={"visitor_id": visitor_id},
            choices=unrecorded,
            source="gpc",
            notice=notice,
            jurisdiction=jurisdiction,
            site=site,
        )
        decisions = choices.decisions_by_key(organization, result.subject, jurisdiction)
    allowed = {key: d.allowed for key, d in decisions.items()}
    allowed.update(dict.fromkeys(gpc_refused, False))
    form = PurposeChoicesForm(
        request.POST if request.method == "POST" else None,
        purposes=[p for p in purposes if not is_always_on(p)],
        allowed=allowed,
    )
    for key in gpc_refused:
        if form.field_name(key) in form.fields:
            form.fields[form.field_name(key)].disabled = True
    if request.method == "POST" and form.is_valid():
        wanted = {**form.wanted(), **dict.fromkeys(gpc_refused, False)}
        choices.record_choices(
            request=request,
            organization=organization,
            identifiers={"visitor_id": visitor_id},
            choices=choices.changed_choices(decisions, wanted),
            source="preference_center",
            source_by_purpose=dict.fromkeys(gpc_refused, "gpc"),
            notice=notice,
            jurisdiction=jurisdiction,
            site=site,
        )
        query = urlencode({"visitor": visitor_id, "lang": language, "done": "saved"})
        response = redirect(f"{request.path}?{query}")
        visitors.remember_visitor(
            request,
            response,
            visitor_id,
            choices=wanted,
            notice_version=notice.version if notice else "",
            decided=True,
            gpc=bool(gpc_refused),
            cookie_domain=site.cookie_domain,
            lifetime_days=site.cookie_lifetime_days,
        )
        return response
    words, names, descriptions, rtl = site_selectors.site_words(site, language)
    with translation.override(language):
        response = private_page(
            request,
            "preferences/visitor.html",
            {
                "site": site,
                "organization": organization,
                "words": words,
                "rtl": rtl,
                "always_on": [
                    {
                        "purpose": p,
                        "label": names.get(p.key) or p.name,
                        "description": descriptions.get(p.key) or p.description,
                    }
                    for p in purposes
                    if is_always_on(p)
                ],
                "rows": choice_rows(form, decisions, labels=names, descriptions=descriptions),
                "notice": notice,
                "visitor_id": visitor_id,
                "language": language,
                "known_visitor": known,
                "gpc_locked": [key for key in gpc_refused if form.field_name(key) in form.fields],
                "saved": request.GET.get("done") == "saved",
            },
        )
    response["Content-Language"] = language  # the banner's language, which a site may add
    patch_vary_headers(response, ["Sec-GPC", "Cookie"])
    visitors.remember_visitor(
        request,
        response,
        visitor_id,
        choices=dict.fromkeys(gpc_refused, False) if gpc_refused else None,
        gpc=bool(gpc_refused),
        cookie_domain=site.cookie_domain,
        lifetime_days=site.cookie_lifetime_days,
    )
    return response
