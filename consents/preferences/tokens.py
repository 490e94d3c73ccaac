"""Signed, encrypted, optionally expiring tokens for links we hand to people.

A token reads `<organization slug>.<Fernet token>`. The Fernet part is AES-128-CBC encrypted
and HMAC-SHA256 authenticated under a key derived from the organization's
`export_signing_key` and the token's purpose, so a preference-center token cannot be used as an
unsubscribe token, one organization's tokens mean nothing to another, and the email inside is
never readable from the URL. The slug only says which key to try.
"""

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass

from cryptography.fernet import Fernet, InvalidToken

from consents.models import Organization

PREFERENCES = "preferences"
UNSUBSCRIBE = "unsubscribe"
EMAIL_CONFIRMATION = "email_confirmation"
TOKEN_PURPOSES = (PREFERENCES, UNSUBSCRIBE, EMAIL_CONFIRMATION)


class TokenError(Exception):
    """The token is not one we issued (forged, altered, truncated or for another purpose)."""


class TokenExpired(TokenError):
    """The token was ours but is older than its purpose allows."""


@dataclass(frozen=True)
class TokenContent:
    organization: Organization
    payload: dict
    issued_at: int


def _fernet(organization: Organization, purpose: str) -> Fernet:
    if purpose not in TOKEN_PURPOSES:
        raise ValueError(f"Unknown token purpose {purpose!r}")
    derived = hmac.new(
        organization.export_signing_key.encode(),
        f"kaizen-link-token:{purpose}".encode(),
        hashlib.sha256,
    ).digest()
    return Fernet(base64.urlsafe_b64encode(derived))


def make_token(
    organization: Organization, purpose: str, payload: dict, *, issued_at: int | None = None
) -> str:
    """Encrypt and sign `payload` for `purpose`; `issued_at` (Unix seconds) defaults to now."""
    body = json.dumps(payload, separators=(",", ":"), sort_keys=True).encode()
    fernet = _fernet(organization, purpose)
    when = int(time.time()) if issued_at is None else issued_at
    encrypted = fernet.encrypt_at_time(body, when).decode().rstrip("=")
    return f"{organization.slug}.{encrypted}"


def read_token(token: str, purpose: str, *, max_age_seconds: int | None = None) -> TokenContent:
    """Return the organization and payload of a token we issued, or raise TokenError."""
    slug, dot, encrypted = (token or "").partition(".")
    if not dot or not slug or not encrypted or len(token) > 2000:
        raise TokenError("malformed")
    organization = Organization.objects.filter(slug=slug).first()
    if organization is None:
        raise TokenError("unknown organization")
    padded = encrypted + "=" * (-len(encrypted) % 4)
    fernet = _fernet(organization, purpose)
    try:
        body = fernet.decrypt(padded.encode())
        issued_at = fernet.extract_timestamp(padded.encode())
        payload = json.loads(body)
    except (InvalidToken, ValueError, TypeError):
        raise TokenError("invalid") from None
    if not isinstance(payload, dict):
        raise TokenError("invalid")
    if max_age_seconds is not None and time.time() - issued_at > max_age_seconds:
        raise TokenExpired("expired")
    return TokenContent(organization, payload, issued_at)
