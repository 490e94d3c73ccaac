"""Absolute links to the pages people reach from messages (PUBLIC_BASE_URL + a token)."""

from django.conf import settings
from django.urls import reverse

from consents.identifiers import normalize_identifier
from consents.models import Organization
from consents.preferences import tokens


def absolute(path: str) -> str:
    return f"{settings.PUBLIC_BASE_URL}{path}"


def preference_token(organization: Organization, email: str) -> str:
    """Token for the known-person preference center of the owner of `email`."""
    return tokens.make_token(
        organization, tokens.PREFERENCES, {"e": normalize_identifier("email", email)}
    )


def preference_url(organization: Organization, email: str) -> str:
    token = preference_token(organization, email)
    return absolute(reverse("preferences:person", kwargs={"token": token}))


def unsubscribe_url(organization: Organization, email: str, purpose_key: str) -> str:
    token = tokens.make_token(
        organization,
        tokens.UNSUBSCRIBE,
        {"e": normalize_identifier("email", email), "p": purpose_key},
    )
    return absolute(reverse("preferences:unsubscribe", kwargs={"token": token}))


def confirmation_url(organization: Organization, token: str) -> str:
    return absolute(reverse("preferences:confirm-email", kwargs={"token": token}))
