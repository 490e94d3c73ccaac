"""Creating and revoking API keys."""

from django.utils import timezone

from consents.api.authentication import forget_key, generate_raw_key
from consents.models import ApiKey, Organization


def create_api_key(
    *, organization: Organization, name: str, scopes: list[str], created_by: str = ""
) -> tuple[ApiKey, str]:
    """Create a key and return it with its raw value, which is never stored."""
    raw, prefix, key_hash = generate_raw_key()
    api_key = ApiKey.objects.create(
        organization=organization,
        name=name,
        prefix=prefix,
        key_hash=key_hash,
        scopes=sorted(set(scopes)),
        created_by=created_by,
    )
    return api_key, raw


def revoke_api_key(api_key: ApiKey) -> None:
    if api_key.revoked_at is None:
        api_key.revoked_at = timezone.now()
        api_key.save(update_fields=["revoked_at"])
    forget_key(api_key.prefix)
