"""Absolute links to the pages people reach from messages (PUBLIC_BASE_URL + a token)."""

import time

from django.conf import settings
from django.urls import reverse

from consents.identifiers import normalize_identifier
from consents.models import Organization
from consents.preferences import tokens


def absolute(path: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{path}"


PREFERENCE_LINK_MAX_AGE_SECONDS = 180 * 24 * 3600


def preference_token(
    organization: Organization, email: str, *, issued_at: int | None = None
) -> str:
    """Token for the known-person preference center of the owner of `email`."""
    return tokens.make_token(
        organization,
        tokens.PREFERENCES,
        {"e": normalize_identifier("email", email)},
        issued_at=issued_at,
    )


def preference_url(organization: Organization, email: str, *, issued_at: int | None = None) -> str:
    token = preference_token(organization, email, issued_at=issued_at)
    return absolute(reverse("preferences:person", kwargs={"token": token}))


def preference_url_from(organization: Organization, email: str, issued_at: int) -> str:
    """The preference link a page reached from another link may offer: dated like that link,
    so it expires when a link of that age would (never a fresh 180 days from an old mail);
    "" once that time is past."""
    if time.time() - issued_at > PREFERENCE_LINK_MAX_AGE_SECONDS:
        return ""
    return preference_url(organization, email, issued_at=issued_at)


def unsubscribe_url(organization: Organization, email: str, purpose_key: str) -> str:
    token = tokens.make_token(
        organization,
        tokens.UNSUBSCRIBE,
        {"e": normalize_identifier("email", email), "p": purpose_key},
    )
    return absolute(reverse("preferences:unsubscribe", kwargs={"token": token}))


def confirmation_url(organization: Organization, token: str) -> str:
    return absolute(reverse("preferences:confirm-email", kwargs={"token": token}))
