"""Known person: marketing channels and topics, reached through a signed link."""

from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect
from django.utils.translation import gettext_lazy as _
from django.views.decorators.cache import never_cache

from consent_platform.ratelimit import client_ip
from consents import selectors
from consents.models import Purpose
from consents.preferences import choices, confirmation, links, tokens
from consents.preferences.forms import PurposeChoicesForm
from consents.preferences.views.pages import (
    METHODS,
    choice_rows,
    expired_link,
    invalid_link,
    page_url,
    private_page,
    rate_limited,
    translated,
)
from consents.services import ConsentValidationError

TRANSACTIONAL_MESSAGES = (
    _("Order and payment confirmations"),
    _("Password resets and security alerts"),
    _("Changes to your contract, terms or privacy notice"),
)


def _mask_email(email: str) -> str:
    local, _at, domain = email.partition("@")
    return f"{local[:1]}{'•' * max(len(local) - 1, 1)}@{domain}"


@translated
@never_cache
@rate_limited
@METHODS
def person_preferences(request: HttpRequest, token: str) -> HttpResponse:
    try:
        content = tokens.read_token(
            token, tokens.PREFERENCES, max_age_seconds=links.PREFERENCE_LINK_MAX_AGE_SECONDS
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
    pending = confirmation.pending_confirmation_keys(organization, subject)
    form = PurposeChoicesForm(
        request.POST if request.method == "POST" else None, purposes=purposes, allowed=allowed
    )
    if request.method == "POST" and form.is_valid():
        if request.POST.get("action") == "unsubscribe_all":
            wanted = {p.key: False for p in purposes}
            done = "unsubscribed"
        else:
            # A box waiting for its confirmation is shown unticked: left so, it is no refusal.
            wanted = {k: v for k, v in form.wanted().items() if v or k not in pending}
            done = "saved"
        changed = choices.changed_choices(decisions, wanted)
        if done == "unsubscribed":  # also a "no" to a confirmation still waiting, if on record
            changed.update(dict.fromkeys(pending & wanted.keys(), False))
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
        return redirect(page_url(request, request.path, {"done": done}))
    rows = choice_rows(form, decisions, pending=pending)
    return private_page(
        request,
        "preferences/person.html",
        {
            "organization": organization,
            "email": _mask_email(email),
            "channels": [r for r in rows if r.purpose.kind == Purpose.Kind.COMMUNICATION_CHANNEL],
            "topics": [r for r in rows if r.purpose.kind == Purpose.Kind.MARKETING_TOPIC],
            "form": form,
            "notice": notice,
            "transactional": TRANSACTIONAL_MESSAGES,
            "done": request.GET.get("done", ""),
        },
    )


@translated
@never_cache
@rate_limited
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
            "preferences_url": page_url(
                request,
                links.preference_url_from(organization, content.payload["e"], content.issued_at),
            ),
        },
    )
