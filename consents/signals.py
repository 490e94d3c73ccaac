"""Cache entries dropped when what they hold changes."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from consent_platform import memo
from consents.models import Purpose
from consents.selectors import purposes_cache_key


@receiver([post_save, post_delete], sender=Purpose)
def forget_purpose(sender, instance: Purpose, **kwargs) -> None:
    memo.forget(purposes_cache_key(instance.organization_id))
