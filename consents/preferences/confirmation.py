"""Double opt-in for email: a grant asked for in the preference center waits for a confirmation.

The confirmation link carries (encrypted) the address, the purposes and the notice version; the
grant is recorded when the person presses the button on the page the link opens, with an
idempotency key derived from the token, so following a link twice records one grant.
"""

import hashlib
import logging
import secrets
from dataclasses import dataclass
from datetime import timedelta

from django.core.cache import cache
from django.core.mail import send_mail
from django.utils import timezone
from django.utils.translation import gettext as _

from consents.identifiers import hash_identifier
from consents.models import ConsentState, DataSubject, EmailConfirmation, Organization
from consents.preferences import links, tokens
from consents.services import ConsentResult, record_consent

CONFIRMATION_MAX_AGE = timedelta(days=7)
CONFIRMATION_RESEND = timedelta(minutes=10)
logger = logging.getLogger("kaizen.preferences")


def send_confirmation_email(*, organization: Organization, email: str, url: str) -> None:
    """Mail the confirmation link to the address, in the language of the page that asked.

    The link confirms a subscription: it is neither logged nor kept (only its hash is). A
    mail server that refuses is logged; the person can ask again from the page."""
    message = _(
        "%(organization)s was asked to send marketing email to this address. To confirm that "
        "you want it, open this link within 7 days and press Confirm:\n\n%(url)s\n\nIf you did "
        "not ask for this, ignore this message: nothing changes."
    ) % {"organization": organization.name, "url": url}
    try:
        send_mail(_("Confirm your subscription"), message, None, [email])
    except Exception:  # SMTP, DNS, TLS: the page must not fail because the mail did
        logger.exception("email confirmation for %s could not be sent", organization.slug)
        return
    logger.info("email confirmation sent for %s", organization.slug)


def token_hash(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def request_email_confirmation(
    *,
    organization: Organization,
    email: str,
    purpose_keys: list[str],
    notice_version: str,
    subject: DataSubject | None,
) -> str:
    """Create a pending confirmation, send its link, and return the link; "" (nothing sent)
    when a link for the same purposes went to the address less than CONFIRMATION_RESEND ago:
    a double submit, or someone holding the preference link, must not send mail after mail."""
    sent = "kz-email-confirmation:" + hash_identifier(
        organization.identifier_secret,
        "email_confirmation",
        f"{email}|{','.join(sorted(purpose_keys))}",
    )
    if not cache.add(sent, 1, int(CONFIRMATION_RESEND.total_seconds())):
        return ""
    token = tokens.make_token(
        organization,
        tokens.EMAIL_CONFIRMATION,
        {"e": email, "k": sorted(purpose_keys), "n": notice_version, "r": secrets.token_hex(8)},
    )
    if subject is not None:
        EmailConfirmation.objects.create(
            organization=organization,
            subject=subject,
            purpose_keys=sorted(purpose_keys),
            token_hash=token_hash(token),
            notice_version=notice_version,
        )
    url = links.confirmation_url(organization, token)
    send_confirmation_email(organization=organization, email=email, url=url)
    return url


def pending_confirmation_keys(organization: Organization, subject: DataSubject | None) -> set:
    """The purposes waiting for a confirmation link to be followed; a refusal recorded after
    the link was sent (unsubscribe from all, a one-click unsubscribe) ends the wait."""
    if subject is None:
        return set()
    rows = EmailConfirmation.objects.filter(
        organization=organization,
        subject=subject,
        confirmed_at__isnull=True,
        created_at__gte=timezone.now() - CONFIRMATION_MAX_AGE,
    ).values_list("purpose_keys", "created_at")
    refused_at = dict(
        ConsentState.objects.filter(subject=subject, granted=False).values_list(
            "purpose__key", "decided_at"
        )
    )
    return {
        key
        for keys, created_at in rows
        for key in keys
        if key not in refused_at or refused_at[key] < created_at
    }


@dataclass
class Confirmation:
    organization: Organization
    email: str
    purpose_keys: list[str]
    result: ConsentResult


def read_confirmation(token: str) -> tokens.TokenContent:
    return tokens.read_token(
        token,
        tokens.EMAIL_CONFIRMATION,
        max_age_seconds=int(CONFIRMATION_MAX_AGE.total_seconds()),
    )


def confirm_email(token: str, *, ip: str | None, user_agent: str) -> Confirmation:
    """Record the confirmed grants (once per token). Raises tokens.TokenError."""
    content = read_confirmation(token)
    payload = content.payload
    digest = token_hash(token)
    result = record_consent(
        organization=content.organization,
        identifiers={"email": payload["e"]},
        choices={key: True for key in payload["k"]},
        source="preference_center",
        actor="subject",
        notice_version=payload.get("n") or None,
        ip=ip,
        user_agent=user_agent,
        idempotency_key=f"email-confirmation:{digest}",
    )
    EmailConfirmation.objects.filter(token_hash=digest, confirmed_at__isnull=True).update(
        confirmed_at=timezone.now()
    )
    return Confirmation(content.organization, payload["e"], list(payload["k"]), result)
