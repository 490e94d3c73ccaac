"""Per-site CORS: a browser may call /api/v1/sites/<key>/... only from that site's origins."""

import re

from corsheaders.signals import check_request_enabled
from django.db.models.signals import post_delete, post_save, pre_save
from django.dispatch import receiver

from consent_platform import memo
from cookies.models import Site
from cookies.selectors import origin_allowed, origins_cache_key, site_entry_key

SITE_API_PATH = re.compile(r"^/api/v1/sites/(?P<key>[A-Za-z0-9_-]{1,64})/")


def site_key_from_path(path: str) -> str | None:
    match = SITE_API_PATH.match(path)
    return match["key"] if match else None


@receiver(check_request_enabled, dispatch_uid="kaizen_site_cors")
def allow_site_origins(sender, request, **kwargs) -> bool:
    site_key = site_key_from_path(request.path_info)
    return bool(site_key) and origin_allowed(site_key, request.headers.get("Origin"))


@receiver(pre_save, sender=Site, dispatch_uid="kaizen_site_key_changing")
def forget_previous_site_key(sender, instance: Site, **kwargs) -> None:
    """A renamed site stops answering under its old key at once."""
    if instance.pk is None:
        return
    previous = Site.objects.filter(pk=instance.pk).values_list("key", flat=True).first()
    if previous and previous != instance.key:
        memo.forget(origins_cache_key(previous))
        memo.forget(site_entry_key(previous))


@receiver(post_save, sender=Site, dispatch_uid="kaizen_site_origins_saved")
@receiver(post_delete, sender=Site, dispatch_uid="kaizen_site_origins_deleted")
def forget_site_origins(sender, instance: Site, **kwargs) -> None:
    memo.forget(origins_cache_key(instance.key))
    memo.forget(site_entry_key(instance.key))  # also when the site is deleted
