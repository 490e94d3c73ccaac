"""API-key authentication: `Authorization: Bearer kzc_<prefix>_<secret>`."""

import hashlib
import hmac
import logging
import secrets
from dataclasses import dataclass

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication

from consent_platform import memo
from consent_platform.ratelimit import client_ip, hit, retry_after
from consents.models import ApiKey, Membership, Organization
from consents.services import truncate_ip

logger = logging.getLogger("kaizen.auth")
KEY_PREFIX = "kzc"
ROLE_SCOPES = {
    Membership.Role.ADMIN: frozenset(ApiKey.Scope.values),
    Membership.Role.MARKETING: frozenset({"consents:write", "consents:read", "consents:check"}),
    Membership.Role.AUDITOR: frozenset({"consents:read", "events:read", "events:export"}),
}
INVALID_KEY = "Invalid or revoked API key."
# A signed-in member calling the API from the browser (no key): which organization it acts for.
NAME_THE_ORGANIZATION = "You belong to several organizations: name one with ?org=<slug>."
NOT_A_MEMBER_OF = "You are not a member of an organization {slug!r}."
NO_MEMBERSHIP = "Your account is not a member of any organization."
TOUCH_SECONDS = 60
TOO_MANY_FAILURES = "Too many failed authentication attempts; wait and retry."


@dataclass(frozen=True)
class Principal:
    """Who is calling the API: an organization, the scopes granted, and an actor label."""

    organization: Organization
    scopes: frozenset
    actor: str
    api_key_id: int | None = None

    is_authenticated = True


def generate_raw_key() -> tuple[str, str, str]:
    """Return (raw key, prefix, sha256 hex) for a new key."""
    prefix = secrets.token_hex(6)
    raw = f"{KEY_PREFIX}_{prefix}_{secrets.token_urlsafe(32)}"
    return raw, prefix, hash_key(raw)


def hash_key(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def _cache_key(prefix: str) -> str:
    return f"apikey:{prefix}"


def forget_key(prefix: str) -> None:
    memo.forget(_cache_key(prefix))


def _load_key(prefix: str):
    def load():
        key = ApiKey.objects.select_related("organization").filter(prefix=prefix).first()
        if key is None:
            return (None, "", (), False, None)
        return (key.pk, key.key_hash, tuple(key.scopes), key.revoked_at is None, key.organization)

    return memo.get_or_load(_cache_key(prefix), load, settings.KAIZEN_API_KEY_CACHE_SECONDS)


class ApiKeyAuthentication(BaseAuthentication):
    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        if not header:
            return None
        scheme, _, raw = header.partition(" ")
        if scheme.lower() != "bearer":
            return None
        principal, prefix = key_principal(raw.strip())
        if principal is None:
            ip = client_ip(request)
            # The network only, as the ledger keeps it: a log is no place for a full address.
            logger.warning(
                "API authentication failed from %s (key prefix %r)",
                truncate_ip(ip) or "unknown",
                prefix[:12],
            )
            if not hit("auth_failure_ip", ip):
                raise exceptions.Throttled(
                    wait=retry_after("auth_failure_ip"), detail=TOO_MANY_FAILURES
                )
            raise exceptions.AuthenticationFailed(INVALID_KEY)
        return (principal, principal)


def key_principal(raw: str) -> tuple[Principal | None, str]:
    """(the principal of a valid, unrevoked raw key or None, the key's prefix as given).

    Marks the key used (at most once a minute); failures are the caller's to log and count."""
    parts = raw.split("_", 2)
    prefix = parts[1] if len(parts) == 3 and parts[0] == KEY_PREFIX else ""
    key_id, key_hash, scopes, active, organization = (
        _load_key(prefix) if prefix else (None, "", (), False, None)
    )
    valid = hmac.compare_digest(hash_key(raw), key_hash or "0" * 64)
    if not (valid and active):
        return None, prefix
    _touch(key_id)
    return Principal(organization, frozenset(scopes), f"api_key:{key_id}", key_id), prefix


def _touch(key_id: int) -> None:
    # Record last use at most once a minute per key, not on every request.
    marker = f"apikey-used:{key_id}"
    if memo.first_in(marker, TOUCH_SECONDS) and cache.add(marker, 1, TOUCH_SECONDS):
        ApiKey.objects.filter(pk=key_id).update(last_used_at=timezone.now())


def principal_for(request) -> Principal | None:
    """The API principal: the key's, or a logged-in member's (one organization, or ?org=)."""
    if isinstance(request.auth, Principal):
        return request.auth
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return None
    memberships = Membership.objects.filter(user=user).select_related("organization")
    wanted = request.query_params.get("org") if hasattr(request, "query_params") else None
    if wanted:
        memberships = memberships.filter(organization__slug=wanted)
    memberships = list(memberships[:2])
    if not memberships:
        if wanted:
            raise exceptions.PermissionDenied(NOT_A_MEMBER_OF.format(slug=wanted))
        raise exceptions.PermissionDenied(NO_MEMBERSHIP)
    if len(memberships) > 1:
        raise exceptions.ValidationError({"org": [NAME_THE_ORGANIZATION]})
    membership = memberships[0]
    return Principal(membership.organization, ROLE_SCOPES[membership.role], f"user:{user.pk}")
