"""Admin for sites, banner texts and the cookie/vendor inventory."""

from django import forms
from django.contrib import admin
from django.db import models
from django.utils.html import format_html

from consents.admin import (
    MEMBER_ORGANIZATIONS,
    MEMBER_PURPOSE_KEYS,
    FixedOnceCreated,
    OrganizationScopedAdmin,
    SameOrganizationForm,
    member_organization_ids,
)
from consents.models import Membership
from cookies.models import BannerText, CookieDefinition, Site, Vendor
from cookies.selectors import embed_snippet
from cookies.texts import DEFAULT_TEXTS


class MemberInlinePermissions:
    """Inlines follow the organization roles, not Django's per-model permissions."""

    def _member_may_write(self, request) -> bool:
        return request.user.is_superuser or bool(
            member_organization_ids(request, (Membership.Role.ADMIN,))
        )

    def has_view_permission(self, request, obj=None):
        return request.user.is_superuser or bool(member_organization_ids(request))

    def has_add_permission(self, request, obj=None):
        return self._member_may_write(request)

    def has_change_permission(self, request, obj=None):
        return self._member_may_write(request)

    def has_delete_permission(self, request, obj=None):
        return self._member_may_write(request)


class BannerTextInline(MemberInlinePermissions, admin.StackedInline):
    model = BannerText
    form = SameOrganizationForm
    extra = 0
    verbose_name = "banner text"
    verbose_name_plural = (
        f"Banner texts (shipped: {', '.join(sorted(DEFAULT_TEXTS))}; empty fields use them)"
    )


class SameOrganizationChoicesMixin:
    """Offer only the member's own organizations' purposes and vendors in foreign keys."""

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        related = db_field.remote_field.model
        if (
            db_field.name != "organization"
            and not request.user.is_superuser
            and hasattr(related, "organization")
        ):
            kwargs["queryset"] = related.objects.filter(
                organization__in=member_organization_ids(request, (Membership.Role.ADMIN,))
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)


@admin.register(Site)
class SiteAdmin(FixedOnceCreated, OrganizationScopedAdmin):
    fixed_after_creation = ("key",)
    list_display = ("key", "name", "organization", "default_jurisdiction", "updated_at")
    list_filter = (MEMBER_ORGANIZATIONS,)
    search_fields = ("key", "name")
    inlines = (BannerTextInline,)
    filter_horizontal = ("purposes",)
    readonly_fields = ("embed_snippet",)
    fieldsets = (
        (None, {"fields": ("organization", "key", "name", "embed_snippet")}),
        ("Visitor API", {"fields": ("allowed_origins",)}),
        (
            "Purposes and jurisdiction",
            {
                "fields": (
                    "purposes",
                    "jurisdiction_header",
                    "default_jurisdiction",
                    "gpc_purposes",
                    "consent_mode_map",
                ),
            },
        ),
        (
            "Consent cookie",
            {
                "fields": ("cookie_lifetime_days", "opt_out_reprompt_days", "cookie_domain"),
            },
        ),
        (
            "Appearance",
            {
                "fields": (
                    "position",
                    "background_color",
                    "text_color",
                    "accent_color",
                    "show_floating_button",
                    "privacy_policy_url",
                ),
            },
        ),
        (
            "IAB GPP / US Privacy",
            {
                "classes": ("collapse",),
                "fields": (
                    "us_privacy_enabled",
                    "mspa_covered_transaction",
                    "mspa_opt_out_option_mode",
                    "mspa_service_provider_mode",
                ),
            },
        ),
    )

    @admin.display(description="Embed snippet")
    def embed_snippet(self, obj: Site | None) -> str:
        if obj is None or not obj.pk:
            return "Save the site to get its snippet."
        return format_html(
            "<p>Paste this first in the &lt;head&gt; of every page, before any other tag:</p>"
            '<pre class="kz-embed-snippet">{}</pre>'
            "<p>Keep it without <code>async</code> so Google Consent Mode defaults come first. "
            'Block other tags with <code>type="text/plain" data-consent="analytics"</code>. '
            "Details: docs/banner.md.</p>",
            embed_snippet(obj),
        )


class CookieDefinitionInline(
    MemberInlinePermissions, SameOrganizationChoicesMixin, admin.TabularInline
):
    model = CookieDefinition
    form = SameOrganizationForm
    extra = 0
    fields = ("name", "domain", "lifetime", "provider", "purpose", "description")
    formfield_overrides = {
        models.CharField: {"widget": forms.TextInput(attrs={"size": 14})},
        models.TextField: {"widget": forms.Textarea(attrs={"rows": 2, "cols": 28})},
    }


@admin.register(Vendor)
class VendorAdmin(SameOrganizationChoicesMixin, OrganizationScopedAdmin):
    list_display = ("name", "purpose", "privacy_policy_url", "organization")
    list_filter = (MEMBER_ORGANIZATIONS, MEMBER_PURPOSE_KEYS)
    search_fields = ("name", "description")
    inlines = (CookieDefinitionInline,)

    def get_inline_instances(self, request, obj=None):
        # Cookies of a vendor belong to its organization: add them once the vendor exists.
        return super().get_inline_instances(request, obj) if obj is not None else []

    def save_formset(self, request, form, formset, change):
        for cookie in formset.save(commit=False):
            cookie.organization = form.instance.organization
            cookie.save()
        for deleted in formset.deleted_objects:
            deleted.delete()


@admin.register(CookieDefinition)
class CookieDefinitionAdmin(SameOrganizationChoicesMixin, OrganizationScopedAdmin):
    list_display = ("name", "purpose", "provider", "vendor", "lifetime", "domain", "organization")
    list_filter = (MEMBER_ORGANIZATIONS, MEMBER_PURPOSE_KEYS)
    search_fields = ("name", "provider", "description")
