"""Drop cached banner configs when anything they are built from changes."""

from django.db.models.signals import m2m_changed, post_delete, post_save

from consents.models import Notice, Organization, Purpose
from cookies.models import BannerText, CookieDefinition, Site, Vendor
from cookies.selectors import forget_configs

CONFIG_SOURCES = (Organization, Purpose, Notice, Site, BannerText, Vendor, CookieDefinition)


def _organization_id(instance) -> int | None:
    if isinstance(instance, Organization):
        return instance.pk
    if isinstance(instance, BannerText):
        sites = Site.objects.filter(pk=instance.site_id)
        return sites.values_list("organization_id", flat=True).first()
    return instance.organization_id


def forget_configs_on_change(sender, instance, **kwargs) -> None:
    organization_id = _organization_id(instance)
    if organization_id is not None:
        forget_configs(organization_id)


def forget_configs_on_site_purposes(sender, instance, **kwargs) -> None:
    forget_configs(instance.organization_id)  # a Site or a Purpose, by the side changed


for model in CONFIG_SOURCES:
    post_save.connect(forget_configs_on_change, sender=model, dispatch_uid=f"kz-cfg-save-{model}")
    post_delete.connect(forget_configs_on_change, sender=model, dispatch_uid=f"kz-cfg-del-{model}")
m2m_changed.connect(
    forget_configs_on_site_purposes, sender=Site.purposes.through, dispatch_uid="kz-cfg-purposes"
)
