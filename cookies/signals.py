"""Drop cached banner configs when anything they are built from changes."""

from django.db.models.signals import m2m_changed, post_delete, post_save
from django.dispatch import receiver

from consents.models import Notice, Organization, Purpose
from cookies.models import BannerText, CookieDefinition, Site, Vendor
from cookies.selectors import forget_configs


def _organization_id(instance) -> int | None:
    if isinstance(instance, Organization):
        return instance.pk
    if isinstance(instance, BannerText):
        return (
            Site.objects.filter(pk=instance.site_id)
            .values_list("organization_id", flat=True)
            .first()
        )
    return getattr(instance, "organization_id", None)


@receiver(post_save, dispatch_uid="kaizen_config_saved")
@receiver(post_delete, dispatch_uid="kaizen_config_deleted")
def forget_configs_on_change(sender, instance, **kwargs) -> None:
    if sender not in (Organization, Purpose, Notice, Site, BannerText, Vendor, CookieDefinition):
        return
    organization_id = _organization_id(instance)
    if organization_id is not None:
        forget_configs(organization_id)


@receiver(m2m_changed, sender=Site.purposes.through, dispatch_uid="kaizen_config_purposes")
def forget_configs_on_site_purposes(sender, instance, **kwargs) -> None:
    forget_configs(instance.organization_id)  # a Site or a Purpose, by the side changed
