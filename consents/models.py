"""The consent domain: tenants, purposes, notices, subjects, the ledger and its projection.

Vocabulary used throughout:
- *subject*: the person (or browser) a consent is about, known by one or more identifiers.
- *actor*: who performed the change (the visitor, an API key, an admin acting on behalf).
- *ledger*: ConsentEvent, append-only and hash-chained per subject (see consents/ledger.py).
- *state*: ConsentState, the latest decision per (subject, purpose), derived from the ledger.
"""

import secrets
import uuid

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator, URLValidator
from django.db import models
from django.utils import timezone

from consents.jurisdiction import JURISDICTION_VALIDATOR

PURPOSE_KEY_VALIDATOR = RegexValidator(
    r"^[a-z][a-z0-9_]{0,63}$",
    "Use lowercase letters, digits and underscores, starting with a letter.",
)

# A banner or preference-center language tag: a notice in another form is never matched.
LANGUAGE_VALIDATOR = RegexValidator(
    r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8})?$", "Use a code like en or pt-BR."
)


def new_secret() -> str:
    return secrets.token_hex(32)


class Organization(models.Model):
    """A tenant. Every other record belongs to exactly one organization."""

    slug = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    # Keys identifiers (email, phone...) are hashed with; never shown, never exported.
    identifier_secret = models.CharField(max_length=64, default=new_secret, editable=False)
    # Signs export manifests and preference-center tokens.
    export_signing_key = models.CharField(max_length=64, default=new_secret, editable=False)
    default_jurisdiction = models.CharField(
        max_length=8,
        default="EU",
        validators=[JURISDICTION_VALIDATOR],
        help_text="ISO 3166 country (DE) or subdivision (US-CA) assumed when none is known.",
    )
    email_double_opt_in = models.BooleanField(
        default=False, help_text="Email grants from the preference center count once confirmed."
    )
    privacy_policy_url = models.URLField(blank=True)
    # At least a day: 0 would delete every visitor and lapse every marketing grant at once.
    anonymous_event_retention_days = models.PositiveIntegerField(
        default=395,
        validators=[MinValueValidator(1)],
        help_text="Keep events of anonymous visitors this long (13 months).",
    )
    identified_event_retention_days = models.PositiveIntegerField(
        default=365 * 6,
        validators=[MinValueValidator(1)],
        help_text="Keep events of identified people this long.",
    )
    marketing_retention_days = models.PositiveIntegerField(
        default=365 * 2,
        validators=[MinValueValidator(1)],
        help_text="Keep marketing preferences this long after the last sign of interest.",
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["slug"]

    def __str__(self) -> str:
        return self.name


class Membership(models.Model):
    """A user's role in one organization."""

    class Role(models.TextChoices):
        ADMIN = "admin", "Administrator (configuration)"
        MARKETING = "marketing", "Marketing (check and record)"
        AUDITOR = "auditor", "Auditor (read and export)"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="memberships"
    )
    user = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="memberships"
    )
    role = models.CharField(max_length=16, choices=Role.choices)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "user"], name="one_role_per_org"),
        ]

    def __str__(self) -> str:
        return f"{self.user} ({self.role}) in {self.organization}"


class ConsentMode(models.TextChoices):
    OPT_IN = "opt_in", "Opt-in (denied until granted)"
    OPT_OUT = "opt_out", "Opt-out (allowed until refused)"
    ALWAYS_ON = "always_on", "Always on (strictly necessary)"


ALWAYS_ON_ONLY_COOKIES = (
    "Only a cookie category can be always on (strictly necessary): people can always refuse "
    "marketing channels, topics and data uses."
)


class Purpose(models.Model):
    """Something a subject can agree to or refuse: a cookie category, a channel, a data use."""

    class Kind(models.TextChoices):
        COOKIE_CATEGORY = "cookie_category", "Cookie category"
        COMMUNICATION_CHANNEL = "communication_channel", "Communication channel"
        MARKETING_TOPIC = "marketing_topic", "Marketing topic"
        DATA_USE_OPT_OUT = "data_use_opt_out", "Data-use opt-out"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="purposes"
    )
    key = models.CharField(max_length=64, validators=[PURPOSE_KEY_VALIDATOR])
    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=32, choices=Kind.choices)
    # Default per jurisdiction group (see consents.jurisdiction).
    mode_eu = models.CharField(
        "default in EU/EEA/UK/CH",
        max_length=16,
        choices=ConsentMode.choices,
        default=ConsentMode.OPT_IN,
    )
    mode_us = models.CharField(
        "default in US states",
        max_length=16,
        choices=ConsentMode.choices,
        default=ConsentMode.OPT_OUT,
    )
    mode_other = models.CharField(
        "default elsewhere",
        max_length=16,
        choices=ConsentMode.choices,
        default=ConsentMode.OPT_IN,
    )
    validity_days = models.PositiveIntegerField(
        null=True,
        blank=True,
        validators=[MinValueValidator(1)],
        help_text="A grant older than this is stale and counts as not granted. Empty: no expiry.",
    )
    position = models.PositiveSmallIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization", "position", "key"]
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="purpose_key_per_org"),
            # A person can always refuse marketing and the data uses (unsubscribe, do not
            # sell or share...): only a cookie category can be strictly necessary.
            models.CheckConstraint(
                condition=models.Q(kind="cookie_category")
                | ~(
                    models.Q(mode_eu=ConsentMode.ALWAYS_ON)
                    | models.Q(mode_us=ConsentMode.ALWAYS_ON)
                    | models.Q(mode_other=ConsentMode.ALWAYS_ON)
                ),
                name="purpose_always_on_only_cookie_category",
                violation_error_message=ALWAYS_ON_ONLY_COOKIES,
            ),
        ]

    def __str__(self) -> str:
        return self.key

    def mode_for(self, group: str) -> str:
        return {"eu": self.mode_eu, "us": self.mode_us}.get(group, self.mode_other)


class Notice(models.Model):
    """The text a subject saw when asked. Immutable once published."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="notices")
    version = models.CharField(max_length=64)
    language = models.CharField(max_length=16, default="en", validators=[LANGUAGE_VALIDATOR])
    title = models.CharField(max_length=200)
    text = models.TextField()
    purposes = models.ManyToManyField(Purpose, blank=True, related_name="notices")
    requires_fresh_consent = models.BooleanField(
        default=False,
        help_text="Publishing this version asks again for the purposes it names.",
    )
    published_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["organization", "-published_at", "-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "version"], name="notice_version_per_org"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.title} v{self.version}"

    def save(self, *args, **kwargs):
        if self.pk:
            stored = (
                Notice.objects.filter(pk=self.pk)
                .values("version", "text", "title", "language", "published_at")
                .first()
            )
            if stored and stored["published_at"] is not None:
                changed = [k for k, v in stored.items() if getattr(self, k) != v]
                if changed:
                    raise ValidationError("A published notice cannot be changed; add a version.")
        super().save(*args, **kwargs)

    @property
    def is_published(self) -> bool:
        return self.published_at is not None and self.published_at <= timezone.now()


class DataSubject(models.Model):
    """A person or browser, known only through its identifiers. Holds the head of its chain."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="subjects", db_index=False
    )  # (organization_id, last_activity_at) covers it
    uid = models.UUIDField(default=uuid.uuid4, unique=True, editable=False)
    created_at = models.DateTimeField(default=timezone.now)
    # Head of this subject's event chain: updated with every append, under a row lock.
    chain_length = models.PositiveBigIntegerField(default=0)
    chain_head_hash = models.CharField(max_length=64, blank=True, default="")
    # Where the chain starts after retention removed its oldest events (0/"" when intact).
    chain_anchor_seq = models.PositiveBigIntegerField(default=0)
    chain_anchor_hash = models.CharField(max_length=64, blank=True, default="")
    is_identified = models.BooleanField(default=False)
    last_activity_at = models.DateTimeField(default=timezone.now)
    erased_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "last_activity_at"])]

    def __str__(self) -> str:
        return str(self.uid)


class IdentifierKind(models.TextChoices):
    VISITOR_ID = "visitor_id", "Visitor id"
    USER_ID = "user_id", "User id"
    EMAIL = "email", "Email"
    PHONE = "phone", "Phone"


class SubjectIdentifier(models.Model):
    """One identifier of a subject, stored only as a keyed hash of its normalized value."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, db_index=False
    )  # identifier_once_per_org covers it
    subject = models.ForeignKey(DataSubject, on_delete=models.CASCADE, related_name="identifiers")
    kind = models.CharField(max_length=16, choices=IdentifierKind.choices)
    value_hash = models.CharField(max_length=64)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            # On PostgreSQL its index also carries subject_id (INCLUDE), so the check reads
            # the index alone: migration 0006 (Django would drop such a constraint on SQLite).
            models.UniqueConstraint(
                fields=["organization", "kind", "value_hash"], name="identifier_once_per_org"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind}:{self.value_hash[:12]}…"


class IdentifierMove(models.Model):
    """An identifier linked away from one subject to another (a browser's visitor id, or an
    address, found to belong to a person already on record). The history left on the old
    subject is that person's too: erasure follows these moves to reach it."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    kind = models.CharField(max_length=16, choices=IdentifierKind.choices)
    value_hash = models.CharField(max_length=64)
    from_subject = models.ForeignKey(
        DataSubject, on_delete=models.CASCADE, related_name="identifiers_moved_out"
    )
    to_subject = models.ForeignKey(
        DataSubject, on_delete=models.CASCADE, related_name="identifiers_moved_in"
    )
    moved_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.kind}:{self.value_hash[:12]}… moved"


class Source(models.TextChoices):
    BANNER = "banner", "Cookie banner"
    PREFERENCE_CENTER = "preference_center", "Preference center"
    API = "api", "API"
    IMPORT = "import", "Import"
    GPC = "gpc", "Global Privacy Control signal"
    ADMIN = "admin", "Admin on behalf of the subject"
    UNSUBSCRIBE = "unsubscribe", "One-click unsubscribe"
    RETENTION = "retention", "Retention policy (preference lapsed)"


class LedgerQuerySet(models.QuerySet):
    def update(self, **kwargs):
        raise ValidationError("The consent ledger is append-only.")

    def delete(self):
        raise ValidationError("The consent ledger is append-only.")


class ConsentEvent(models.Model):
    """One decision in the ledger. Never updated or deleted (a database trigger enforces it)."""

    organization = models.ForeignKey(
        Organization, on_delete=models.PROTECT, db_index=False
    )  # (organization_id, recorded_at) covers it
    subject = models.ForeignKey(
        DataSubject, on_delete=models.PROTECT, related_name="events", db_index=False
    )  # one_event_per_chain_position covers it
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT)
    site = models.ForeignKey("cookies.Site", null=True, blank=True, on_delete=models.PROTECT)
    notice = models.ForeignKey(Notice, null=True, blank=True, on_delete=models.PROTECT)
    granted = models.BooleanField()
    source = models.CharField(max_length=32, choices=Source.choices)
    jurisdiction = models.CharField(max_length=8, blank=True)
    occurred_at = models.DateTimeField(help_text="When the subject decided (client clock).")
    recorded_at = models.DateTimeField(help_text="When the ledger stored it (server clock).")
    actor = models.CharField(
        max_length=64, help_text="Who acted: visitor, api_key:<id>, user:<id>."
    )
    ip_truncated = models.CharField(max_length=64, blank=True, null=True)
    user_agent = models.CharField(max_length=256, blank=True, null=True)
    # Random salt of the personal-data digest; removed with the personal data at retention.
    pii_salt = models.CharField(max_length=32, blank=True, null=True)
    pii_digest = models.CharField(max_length=64)
    client_event_id = models.CharField(max_length=80, blank=True, default="")
    seq = models.PositiveBigIntegerField(help_text="Position in the subject's chain, from 1.")
    prev_hash = models.CharField(max_length=64, blank=True)
    hash = models.CharField(max_length=64)

    objects = LedgerQuerySet.as_manager()

    class Meta:
        ordering = ["id"]
        constraints = [
            models.UniqueConstraint(fields=["subject", "seq"], name="one_event_per_chain_position"),
        ]
        indexes = [
            models.Index(fields=["organization", "recorded_at"]),
            models.Index(fields=["organization", "purpose", "recorded_at"]),
        ]

    def __str__(self) -> str:
        decision = "granted" if self.granted else "denied"
        return f"{self.subject_id}#{self.seq} {self.purpose_id}={decision}"

    def save(self, *args, **kwargs):
        if self.pk is not None and not kwargs.get("force_insert"):
            raise ValidationError("The consent ledger is append-only.")
        super().save(*args, **kwargs)

    def delete(self, *args, **kwargs):
        raise ValidationError("The consent ledger is append-only.")


class ConsentState(models.Model):
    """The latest decision per (subject, purpose): the projection all checks read."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, db_index=False
    )  # (organization_id, purpose_id) covers it
    subject = models.ForeignKey(
        DataSubject, on_delete=models.CASCADE, related_name="states", db_index=False
    )  # one_state_per_purpose covers it
    purpose = models.ForeignKey(Purpose, on_delete=models.CASCADE)
    granted = models.BooleanField()
    event = models.ForeignKey(
        ConsentEvent, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False
    )  # never looked up by event
    source = models.CharField(max_length=32, choices=Source.choices)
    notice_version = models.CharField(max_length=64, blank=True)
    decided_at = models.DateTimeField()
    expires_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        constraints = [
            # On PostgreSQL its index also carries granted and expires_at (migration 0006).
            models.UniqueConstraint(fields=["subject", "purpose"], name="one_state_per_purpose"),
        ]
        indexes = [models.Index(fields=["organization", "purpose"])]

    def __str__(self) -> str:
        return f"{self.subject_id}:{self.purpose_id}={self.granted}"


class Suppression(models.Model):
    """Keyed hash of an erased identifier kept as proof of an opt-out: never contact again."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    kind = models.CharField(max_length=16, choices=IdentifierKind.choices)
    value_hash = models.CharField(max_length=64)
    purpose_key = models.CharField(max_length=64, blank=True, help_text="Empty: all marketing.")
    reason = models.CharField(max_length=64, default="erasure")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["organization", "kind", "value_hash"])]

    def __str__(self) -> str:
        return f"suppressed {self.kind}:{self.value_hash[:12]}…"


class PrivacyRequestLog(models.Model):
    """Record that an erasure or retention run happened (without the erased data)."""

    class Action(models.TextChoices):
        ERASURE = "erasure", "Erasure request"
        RETENTION = "retention", "Retention run"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    action = models.CharField(max_length=16, choices=Action.choices)
    subject_uid = models.UUIDField(null=True, blank=True)
    performed_by = models.CharField(max_length=64)
    details = models.JSONField(default=dict)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.action} at {self.created_at:%Y-%m-%d %H:%M}"


class IdempotencyRecord(models.Model):
    """A write already done for this key: a replay answers with the stored result."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, db_index=False
    )  # idempotency_key_once covers it
    key = models.CharField(max_length=120)
    request_digest = models.CharField(max_length=64)
    response = models.JSONField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["organization", "key"], name="idempotency_key_once"),
        ]

    def __str__(self) -> str:
        return self.key


class ApiKey(models.Model):
    """A secret for server-to-server calls. Only its SHA-256 is stored; shown once."""

    class Scope(models.TextChoices):
        CONSENTS_WRITE = "consents:write", "Record consent"
        CONSENTS_READ = "consents:read", "Read consent state"
        CONSENTS_CHECK = "consents:check", "Check before send"
        EVENTS_READ = "events:read", "Read the ledger"
        EVENTS_EXPORT = "events:export", "Export the ledger"

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="api_keys"
    )
    name = models.CharField(max_length=100)
    prefix = models.CharField(max_length=16, unique=True, editable=False)
    key_hash = models.CharField(max_length=64, editable=False)
    scopes = models.JSONField(default=list)
    created_at = models.DateTimeField(auto_now_add=True)
    created_by = models.CharField(max_length=150, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    last_used_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["organization", "name"]

    def __str__(self) -> str:
        return f"{self.name} ({self.prefix}…)"

    @property
    def is_active(self) -> bool:
        return self.revoked_at is None


class WebhookEndpoint(models.Model):
    """A receiver of consent-change notifications, optionally for some purposes only."""

    organization = models.ForeignKey(
        Organization, on_delete=models.CASCADE, related_name="webhooks"
    )
    # The worker posts over HTTP only: an ftp:// receiver would fail every attempt.
    url = models.URLField(
        max_length=500,
        validators=[
            URLValidator(
                schemes=["http", "https"], message="Enter an http or https URL.", code="scheme"
            )
        ],
    )
    secret = models.CharField(max_length=64, default=new_secret, editable=False)
    purposes = models.ManyToManyField(
        Purpose, blank=True, help_text="Empty: every purpose.", related_name="webhooks"
    )
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return self.url


class WebhookDelivery(models.Model):
    """Outbox row, written in the consent transaction; a worker delivers and retries it."""

    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed (gave up)"

    endpoint = models.ForeignKey(
        WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries"
    )
    event = models.ForeignKey(ConsentEvent, on_delete=models.DO_NOTHING, db_constraint=False)
    payload = models.JSONField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    attempts = models.PositiveIntegerField(default=0)
    next_attempt_at = models.DateTimeField(default=timezone.now)
    last_error = models.CharField(max_length=500, blank=True)
    last_status_code = models.PositiveIntegerField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        indexes = [models.Index(fields=["status", "next_attempt_at"])]
        verbose_name_plural = "webhook deliveries"

    def __str__(self) -> str:
        return f"{self.endpoint} ← event {self.event_id} ({self.status})"


class CheckTally(models.Model):
    """Checks answered per organization, purpose and day (for the dashboard)."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    purpose_key = models.CharField(max_length=64)
    day = models.DateField()
    answered = models.PositiveBigIntegerField(default=0)
    allowed = models.PositiveBigIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["organization", "purpose_key", "day"], name="one_tally_per_day"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.purpose_key} {self.day}: {self.answered}"


class EmailConfirmation(models.Model):
    """A pending double opt-in: the email grant is recorded only once the link is followed."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE)
    subject = models.ForeignKey(DataSubject, on_delete=models.CASCADE)
    purpose_keys = models.JSONField(default=list)
    token_hash = models.CharField(max_length=64, unique=True)
    notice_version = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    confirmed_at = models.DateTimeField(null=True, blank=True)

    def __str__(self) -> str:
        return f"confirmation for {self.subject_id}"
