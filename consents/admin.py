"""Admin for the consent domain. Members see only their own organizations' rows."""

from django import forms
from django.contrib import admin, messages
from django.contrib.auth import get_user_model
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import models
from django.forms.models import InlineForeignKeyField
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from consents.dashboard import dashboard_figures
from consents.exports import export_public_key_hex
from consents.identifiers import IDENTIFIER_KINDS, identifier_hash
from consents.keys import create_api_key, revoke_api_key
from consents.models import (
    ApiKey,
    ConsentEvent,
    ConsentState,
    Membership,
    Notice,
    Organization,
    Purpose,
    Suppression,
    WebhookDelivery,
    WebhookEndpoint,
)
from consents.proof import proof_of_consent
from consents.selectors import subject_by_identifier


def member_organization_ids(request, roles=None) -> list[int]:
    memberships = Membership.objects.filter(user=request.user)
    if roles:
        memberships = memberships.filter(role__in=roles)
    return list(memberships.values_list("organization_id", flat=True))


class MemberOrganizationFilter(admin.RelatedFieldListFilter):
    """The "By organization" filter: the member's own organizations, never every tenant's
    name (read from memberships, not from the rows: the ledger may hold millions)."""

    def field_choices(self, field, request, model_admin):
        if request.user.is_superuser:
            return super().field_choices(field, request, model_admin)
        organizations = Organization.objects.filter(pk__in=member_organization_ids(request))
        return [(o.pk, str(o)) for o in organizations.order_by("name")]


MEMBER_ORGANIZATIONS = ("organization", MemberOrganizationFilter)


class MemberPurposeKeyFilter(admin.AllValuesFieldListFilter):
    """The "By purpose key" filter: the keys of the member's own organizations' purposes
    (Django lists a related field's values from every row of the related table, so every
    tenant's purpose keys)."""

    def __init__(self, field, request, params, model, model_admin, field_path):
        super().__init__(field, request, params, model, model_admin, field_path)
        if not request.user.is_superuser:
            self.lookup_choices = (
                Purpose.objects.filter(organization__in=member_organization_ids(request))
                .distinct()
                .order_by("key")
                .values_list("key", flat=True)
            )


MEMBER_PURPOSE_KEYS = ("purpose__key", MemberPurposeKeyFilter)


class SameOrganizationForm(forms.ModelForm):
    """Every row a form links to (a purpose, a vendor, a site...) belongs to the form's own
    organization: choices offered across a member's organizations, or a crafted POST, must not
    tie one tenant's row to another's."""

    def clean(self):
        cleaned = super().clean()
        organization_id = self._organization_id(cleaned.get("organization"))
        if organization_id is None:
            return cleaned
        for name, value in list(cleaned.items()):  # add_error drops the name from cleaned
            if name == "organization" or value is None:
                continue
            chosen = value if isinstance(value, list | tuple | models.QuerySet) else [value]
            if any(
                getattr(item, "organization_id", organization_id) != organization_id
                for item in chosen
                if isinstance(item, models.Model)
            ):
                self.add_error(name, "Choose from this row's own organization.")
        return cleaned

    def _organization_id(self, chosen) -> int | None:
        if isinstance(chosen, Organization):
            return chosen.pk
        instance = self.instance
        if getattr(instance, "organization_id", None):
            return instance.organization_id
        # A new inline row belongs to its parent row's organization.
        for name, field in self.fields.items():
            if isinstance(field, InlineForeignKeyField):
                parent = self.cleaned_data.get(name)
                return getattr(parent, "organization_id", None)
        return None


class OrganizationScopedAdmin(admin.ModelAdmin):
    """Limit rows (and foreign-key choices) to the organizations the user belongs to.

    Superusers see everything. `write_roles` are the membership roles allowed to change rows;
    other members (an auditor) may only view.
    """

    organization_path = "organization"
    write_roles = (Membership.Role.ADMIN,)
    form = SameOrganizationForm

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(
            **{f"{self.organization_path}__in": member_organization_ids(request)}
        )

    def _can_write(self, request, obj=None) -> bool:
        if request.user.is_superuser:
            return True
        allowed = member_organization_ids(request, self.write_roles)
        if obj is None:
            return bool(allowed)
        org_id = obj
        for part in self.organization_path.split("__"):
            org_id = getattr(org_id, part)
        return org_id.pk in allowed

    def has_module_permission(self, request):
        return request.user.is_active and (
            request.user.is_superuser or bool(member_organization_ids(request))
        )

    def has_view_permission(self, request, obj=None):
        return self.has_module_permission(request)

    def has_add_permission(self, request):
        return self._can_write(request)

    def has_change_permission(self, request, obj=None):
        return self._can_write(request, obj)

    def has_delete_permission(self, request, obj=None):
        return self._can_write(request, obj)

    def formfield_for_dbfield(self, db_field, request, **kwargs):
        if isinstance(db_field, models.URLField):
            kwargs.setdefault("assume_scheme", "https")  # "example.com/hook" means https
        return super().formfield_for_dbfield(db_field, request, **kwargs)

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        if db_field.name == "organization" and not request.user.is_superuser:
            kwargs["queryset"] = Organization.objects.filter(
                pk__in=member_organization_ids(request, self.write_roles)
            )
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        related = db_field.remote_field.model
        if not request.user.is_superuser and hasattr(related, "organization"):
            kwargs["queryset"] = related.objects.filter(
                organization__in=member_organization_ids(request, self.write_roles)
            )
        return super().formfield_for_manytomany(db_field, request, **kwargs)


class FixedOnceCreated:
    """Fields the ledger's hashes name (an organization's slug, a purpose's or a site's key):
    set when the row is made, then read-only. A rename would make every event that names the
    old value fail verification, as if it had been edited."""

    fixed_after_creation: tuple[str, ...] = ()

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields + self.fixed_after_creation if obj is not None and obj.pk else fields


def member_role(request, organization) -> str | None:
    if request.user.is_superuser:
        return Membership.Role.ADMIN
    membership = Membership.objects.filter(user=request.user, organization=organization).first()
    return membership.role if membership else None


@admin.register(Organization)
class OrganizationAdmin(FixedOnceCreated, OrganizationScopedAdmin):
    organization_path = "id"
    fixed_after_creation = ("slug",)
    list_display = ("slug", "name", "default_jurisdiction", "email_double_opt_in", "links")
    search_fields = ("slug", "name")
    readonly_fields = ("export_public_key",)

    @admin.display(description="Export public key (give it to auditors)")
    def export_public_key(self, obj):
        return export_public_key_hex(obj) if obj.pk else ""

    @admin.display(description="")
    def links(self, obj):
        export = reverse("api-events-export")
        return format_html(
            '<a href="{}">Dashboard</a> · <a href="{}">Proof of consent</a> · '
            'Export <a href="{}?org={}&amp;format=ndjson">NDJSON</a> '
            '<a href="{}?org={}&amp;format=csv">CSV</a>',
            reverse("admin:consents_organization_dashboard", args=[obj.pk]),
            reverse("admin:consents_organization_proof", args=[obj.pk]),
            export,
            obj.slug,
            export,
            obj.slug,
        )

    def get_urls(self):
        own = [
            path(
                "<int:org_id>/dashboard/",
                self.admin_site.admin_view(self.dashboard_view),
                name="consents_organization_dashboard",
            ),
            path(
                "<int:org_id>/proof/",
                self.admin_site.admin_view(self.proof_view),
                name="consents_organization_proof",
            ),
        ]
        return own + super().get_urls()

    def _organization_and_role(self, request, org_id):
        organization = Organization.objects.filter(pk=org_id).first()
        role = member_role(request, organization) if organization else None
        if role is None:
            raise PermissionDenied
        return organization, role

    def dashboard_view(self, request, org_id):
        organization, role = self._organization_and_role(request, org_id)
        context = {
            **self.admin_site.each_context(request),
            "title": f"Consent dashboard: {organization.name}",
            "organization": organization,
            "role": role,
            "figures": dashboard_figures(organization, role),
        }
        return TemplateResponse(request, "admin/consents/dashboard.html", context)

    def proof_view(self, request, org_id):
        organization, role = self._organization_and_role(request, org_id)
        if role not in (Membership.Role.ADMIN, Membership.Role.AUDITOR):
            raise PermissionDenied
        kind = request.GET.get("kind", "email")
        value = request.GET.get("value", "").strip()
        proof, error = None, ""
        if value:
            if kind not in IDENTIFIER_KINDS:
                error = "Choose an identifier type."
            else:
                try:
                    subject = subject_by_identifier(organization, kind, value)
                except ValidationError as exc:
                    subject, error = None, " ".join(exc.messages)
                if subject is not None:
                    proof = proof_of_consent(organization, subject)
                elif not error:
                    error = f"No subject with that {kind.replace('_', ' ')}."
        context = {
            **self.admin_site.each_context(request),
            "title": f"Proof of consent: {organization.name}",
            "organization": organization,
            "kinds": IDENTIFIER_KINDS,
            "kind": kind,
            "value": value,
            "proof": proof,
            "error": error,
        }
        return TemplateResponse(request, "admin/consents/proof.html", context)

    def get_queryset(self, request):
        queryset = admin.ModelAdmin.get_queryset(self, request)
        if request.user.is_superuser:
            return queryset
        return queryset.filter(pk__in=member_organization_ids(request))

    def _can_write(self, request, obj=None):
        if request.user.is_superuser:
            return True
        if obj is None:
            return False  # only superusers create tenants
        return obj.pk in member_organization_ids(request, self.write_roles)


class MemberByUsernameForm(SameOrganizationForm):
    """Add a member by username: an organization's admin is not shown the platform's users
    (they would see every other tenant's people)."""

    username = forms.CharField(
        label="User", max_length=150, help_text="Their username (ask them for it)."
    )

    class Meta:
        model = Membership
        fields = ("organization", "role")

    def clean(self):
        cleaned = super().clean()
        user = get_user_model().objects.filter(username=cleaned.get("username", "").strip())
        user = user.first()
        if user is None:
            self.add_error("username", "No user with that username.")
        elif Membership.objects.filter(user=user, organization=cleaned.get("organization")):
            self.add_error("username", "Already a member of this organization.")
        else:
            self.instance.user = user
        return cleaned


LAST_ADMIN = (
    "An organization keeps at least one administrator: make another member administrator first."
)


def organizations_left_without_admin(leaving) -> list[str]:
    """The organizations that would have no administrator once `leaving` (memberships being
    deleted or demoted) no longer count as theirs."""
    leaving = [m for m in leaving if m.role == Membership.Role.ADMIN]
    left = []
    for organization_id in {m.organization_id for m in leaving}:
        remaining = Membership.objects.filter(
            organization_id=organization_id, role=Membership.Role.ADMIN
        ).exclude(pk__in=[m.pk for m in leaving])
        if not remaining.exists():
            left.append(Organization.objects.get(pk=organization_id).slug)
    return sorted(left)


class MembershipForm(SameOrganizationForm):
    def clean(self):
        cleaned = super().clean()
        stored = self.instance.pk and Membership.objects.filter(pk=self.instance.pk).first()
        stepping_down = stored and cleaned.get("role") != Membership.Role.ADMIN
        if stepping_down and organizations_left_without_admin([stored]):
            self.add_error("role", LAST_ADMIN)
        return cleaned


@admin.register(Membership)
class MembershipAdmin(FixedOnceCreated, OrganizationScopedAdmin):
    """Members and their roles. No organization is left without an administrator: only a
    platform superuser could then manage it again. A membership stays in its organization
    (moving it could take an organization's last administrator away, or collide with the
    user's membership there): add one in the other organization instead."""

    fixed_after_creation = ("organization",)

    list_display = ("user", "organization", "role")
    list_filter = ("role",)
    form = MembershipForm

    def has_delete_permission(self, request, obj=None):
        if obj is not None and organizations_left_without_admin([obj]):
            return False
        return super().has_delete_permission(request, obj)

    def delete_queryset(self, request, queryset):
        if organizations_left_without_admin(queryset):
            raise PermissionDenied(LAST_ADMIN)
        super().delete_queryset(request, queryset)

    def _picks_by_username(self, request, obj) -> bool:
        return obj is None and not request.user.is_superuser

    def get_form(self, request, obj=None, **kwargs):
        if self._picks_by_username(request, obj):
            kwargs["form"] = MemberByUsernameForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if self._picks_by_username(request, obj):
            return ("username", "organization", "role")
        return super().get_fields(request, obj)

    def get_readonly_fields(self, request, obj=None):
        fields = tuple(super().get_readonly_fields(request, obj))
        return fields if request.user.is_superuser or obj is None else (*fields, "user")


@admin.register(Purpose)
class PurposeAdmin(FixedOnceCreated, OrganizationScopedAdmin):
    fixed_after_creation = ("key",)
    list_display = (
        "key",
        "name",
        "kind",
        "mode_eu",
        "mode_us",
        "mode_other",
        "validity_days",
        "organization",
    )
    list_filter = ("kind", MEMBER_ORGANIZATIONS)
    search_fields = ("key", "name")


@admin.register(Notice)
class NoticeAdmin(OrganizationScopedAdmin):
    list_display = (
        "version",
        "title",
        "language",
        "published_at",
        "requires_fresh_consent",
        "organization",
    )
    list_filter = (MEMBER_ORGANIZATIONS, "language")

    def get_readonly_fields(self, request, obj=None):
        if obj is not None and obj.published_at is not None:
            return (
                "organization",
                "version",
                "language",
                "title",
                "text",
                "published_at",
                "requires_fresh_consent",
                # Which notice a decision is recorded under is picked by the purposes a notice
                # names: re-scoping a published one would change what people were shown.
                "purposes",
            )
        return ()


class ApiKeyForm(SameOrganizationForm):
    scope_choices = forms.MultipleChoiceField(
        choices=ApiKey.Scope.choices, widget=forms.CheckboxSelectMultiple, label="Scopes"
    )

    class Meta:
        model = ApiKey
        fields = ("organization", "name")


@admin.register(ApiKey)
class ApiKeyAdmin(OrganizationScopedAdmin):
    list_display = (
        "name",
        "prefix",
        "organization",
        "scopes",
        "created_at",
        "last_used_at",
        "revoked_at",
    )
    list_filter = (MEMBER_ORGANIZATIONS,)
    actions = ("revoke",)

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = ApiKeyForm
        return super().get_form(request, obj, **kwargs)

    def get_readonly_fields(self, request, obj=None):
        if obj is not None:
            return (
                "organization",
                "name",
                "prefix",
                "scopes",
                "created_at",
                "created_by",
                "last_used_at",
                "revoked_at",
            )
        return ()

    def get_fields(self, request, obj=None):
        if obj is None:
            return ("organization", "name", "scope_choices")
        return self.get_readonly_fields(request, obj)

    def save_model(self, request, obj, form, change):
        if change:
            return
        api_key, raw = create_api_key(
            organization=form.cleaned_data["organization"],
            name=form.cleaned_data["name"],
            scopes=form.cleaned_data["scope_choices"],
            created_by=request.user.get_username(),
        )
        obj.pk = api_key.pk
        messages.warning(request, f"Copy this key now; it will not be shown again: {raw}")

    def has_change_permission(self, request, obj=None):
        return False if obj is not None else super().has_change_permission(request, obj)

    def has_delete_permission(self, request, obj=None):
        return False  # revoke instead, so the audit trail keeps the key's name

    @admin.action(description="Revoke selected keys", permissions=["revoke"])
    def revoke(self, request, queryset):
        # Only keys of organizations the user administers (an auditor of another is skipped).
        writable = [key for key in queryset if self._can_write(request, key)]
        for api_key in writable:
            revoke_api_key(api_key)
        skipped = len(queryset) - len(writable)
        if skipped:
            self.message_user(
                request,
                f"{len(writable)} revoked; {skipped} not: only an administrator of their "
                "organization may revoke them.",
                messages.WARNING,
            )
        else:
            self.message_user(request, f"{len(writable)} revoked.")

    def has_revoke_permission(self, request):
        return self._can_write(request)


class IdentifierSearchMixin:
    """Search by an identifier's value: the input is hashed the same way as stored values."""

    subject_path = "subject"

    def get_search_results(self, request, queryset, search_term):
        term = search_term.strip()
        if not term:
            return queryset, False
        matches = queryset.none()
        org_ids = set(queryset.values_list("organization_id", flat=True).distinct()[:50])
        for organization in Organization.objects.filter(pk__in=org_ids):
            for kind in IDENTIFIER_KINDS:
                try:
                    value_hash = identifier_hash(organization.identifier_secret, kind, term)
                except ValidationError:
                    continue
                matches |= queryset.filter(
                    organization=organization,
                    **{
                        f"{self.subject_path}__identifiers__kind": kind,
                        f"{self.subject_path}__identifiers__value_hash": value_hash,
                    },
                )
        if term.isdigit():
            matches |= queryset.filter(pk=int(term))
        return matches.distinct(), True


class ReadOnlyMixin:
    """Rows written only by the consent service: the admin shows them, never edits them."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ConsentEvent)
class ConsentEventAdmin(ReadOnlyMixin, IdentifierSearchMixin, OrganizationScopedAdmin):
    """The ledger: read-only, searchable by identifier (email, phone, user id, visitor id)."""

    list_display = (
        "id",
        "recorded_at",
        "purpose",
        "granted",
        "source",
        "jurisdiction",
        "subject",
        "seq",
    )
    list_filter = ("source", "granted", MEMBER_PURPOSE_KEYS, "recorded_at", MEMBER_ORGANIZATIONS)
    search_fields = ("id",)
    search_help_text = "Search by email, phone, user id or visitor id (hashed before the search)."
    list_select_related = ("purpose", "subject")
    show_full_result_count = False


@admin.register(ConsentState)
class ConsentStateAdmin(ReadOnlyMixin, IdentifierSearchMixin, OrganizationScopedAdmin):
    list_display = ("subject", "purpose", "granted", "source", "decided_at", "expires_at")
    list_filter = (MEMBER_PURPOSE_KEYS, "granted", "source")
    search_fields = ("id",)
    list_select_related = ("purpose", "subject")


@admin.register(Suppression)
class SuppressionAdmin(OrganizationScopedAdmin):
    """Read-only: a suppression is an erased person's standing opt-out, the only proof left of
    it. Deleting one would let marketing contact them again; only the person lifts it, by
    opting in again themselves."""

    list_display = ("kind", "purpose_key", "reason", "created_at", "organization")

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(WebhookEndpoint)
class WebhookEndpointAdmin(OrganizationScopedAdmin):
    list_display = ("url", "organization", "is_active", "created_at")

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            messages.warning(
                request,
                f"Signing secret of this endpoint (copy it now, it is not shown again): "
                f"{obj.secret}",
            )


@admin.register(WebhookDelivery)
class WebhookDeliveryAdmin(OrganizationScopedAdmin):
    organization_path = "endpoint__organization"
    list_display = (
        "id",
        "endpoint",
        "event_id",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "delivered_at",
    )
    list_filter = ("status",)
    readonly_fields = (
        "endpoint",
        "event",
        "payload",
        "status",
        "attempts",
        "last_status_code",
        "last_error",
        "next_attempt_at",
        "delivered_at",
        "created_at",
    )
    actions = ("replay",)

    def has_add_permission(self, request):
        return False

    @admin.action(description="Deliver again", permissions=["change"])
    def replay(self, request, queryset):
        from django.utils import timezone

        if not request.user.is_superuser:  # an auditor of one organization, admin of another
            writable = member_organization_ids(request, self.write_roles)
            queryset = queryset.filter(endpoint__organization__in=writable)
        # A fresh set of attempts: a delivery that had given up is retried in full.
        count = queryset.update(
            status=WebhookDelivery.Status.PENDING, next_attempt_at=timezone.now(), attempts=0
        )
        self.message_user(request, f"{count} deliveries queued again.")
