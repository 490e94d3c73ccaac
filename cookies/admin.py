"""Admin for sites, banner texts and the cookie/vendor inventory."""

from django.contrib import admin

from consents.admin import OrganizationScopedAdmin
from cookies.models import BannerText, CookieDefinition, Site, Vendor


class BannerTextInline(admin.StackedInline):
    model = BannerText
    extra = 0


@admin.register(Site)
class SiteAdmin(OrganizationScopedAdmin):
    list_display = ("key", "name", "organization", "default_jurisdiction", "updated_at")
    list_filter = ("organization",)
    search_fields = ("key", "name")
    inlines = (BannerTextInline,)
    filter_horizontal = ("purposes",)


@admin.register(Vendor)
class VendorAdmin(OrganizationScopedAdmin):
    list_display = ("name", "purpose", "organization")
    list_filter = ("organization",)


@admin.register(CookieDefinition)
class CookieDefinitionAdmin(OrganizationScopedAdmin):
    list_display = ("name", "purpose", "provider", "lifetime", "organization")
    list_filter = ("organization", "purpose__key")
    search_fields = ("name", "provider")
