"""Sites that embed the banner, their texts and appearance, and the cookie/vendor inventory."""

import ipaddress
import re

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator, RegexValidator
from django.db import models

from consents.jurisdiction import JURISDICTION_VALIDATOR
from consents.models import LANGUAGE_VALIDATOR, Organization, Purpose

SITE_KEY_VALIDATOR = RegexValidator(
    r"^[a-zA-Z0-9_-]{1,64}$", "Use letters, digits, dashes and underscores."
)
COLOR_VALIDATOR = RegexValidator(r"^#[0-9a-fA-F]{6}$", "Use a #rrggbb colour.")
COLOUR_PATTERN = re.compile(r"^#[0-9a-fA-F]{6}$")
ORIGIN_PATTERN = re.compile(r"^https?://[a-z0-9.-]+(:\d{1,5})?$")
DEFAULT_PORTS = (("https://", ":443"), ("http://", ":80"))
HOST_LABEL = r"[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?"
# A cookie's Domain attribute: a host name, a leading dot allowed (browsers ignore it).
COOKIE_DOMAIN_PATTERN = re.compile(rf"^\.?(?:{HOST_LABEL}\.)*{HOST_LABEL}$", re.IGNORECASE)

# Google Consent Mode v2 signals the banner can drive, and the purposes they follow by default.
CONSENT_MODE_SIGNALS = (
    "ad_storage",
    "analytics_storage",
    "ad_user_data",
    "ad_personalization",
    "functionality_storage",
    "personalization_storage",
    "security_storage",
)
DEFAULT_CONSENT_MODE_MAP = {
    "ad_storage": "advertising",
    "ad_user_data": "advertising",
    "ad_personalization": "advertising",
    "analytics_storage": "analytics",
    "functionality_storage": "functional",
    "personalization_storage": "functional",
    "security_storage": "necessary",
}


def default_consent_mode_map() -> dict:
    return dict(DEFAULT_CONSENT_MODE_MAP)


def default_gpc_purposes() -> list:
    return ["sale_share", "targeted_advertising"]


def relative_luminance(hex_colour: str) -> float:
    channels = [int(hex_colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    linear = [c / 12.92 if c <= 0.03928 else ((c + 0.055) / 1.055) ** 2.4 for c in channels]
    return 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]


def contrast_ratio(first: str, second: str) -> float:
    lighter, darker = sorted((relative_luminance(first), relative_luminance(second)), reverse=True)
    return (lighter + 0.05) / (darker + 0.05)


class Site(models.Model):
    """A website that embeds the banner, identified publicly by its site key."""

    class Position(models.TextChoices):
        BOTTOM = "bottom", "Bottom bar"
        CENTER = "center", "Centered dialog"
        BOTTOM_LEFT = "bottom-left", "Bottom-left box"
        BOTTOM_RIGHT = "bottom-right", "Bottom-right box"

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="sites")
    key = models.CharField(max_length=64, unique=True, validators=[SITE_KEY_VALIDATOR])
    name = models.CharField(max_length=200)
    allowed_origins = models.TextField(
        blank=True,
        help_text="One origin per line (https://www.example.com) allowed to call the visitor API.",
    )
    purposes = models.ManyToManyField(Purpose, related_name="sites", blank=True)
    jurisdiction_header = models.CharField(
        max_length=64,
        blank=True,
        help_text="Request header carrying the visitor's country, e.g. CF-IPCountry.",
    )
    default_jurisdiction = models.CharField(
        max_length=8,
        default="EU",
        validators=[JURISDICTION_VALIDATOR],
        help_text="ISO 3166 country (DE) or subdivision (US-CA) when the header names none.",
    )
    # At least a day: Max-Age=0 deletes the choice as it is stored, so the banner asks again
    # on every page.
    cookie_lifetime_days = models.PositiveIntegerField(
        default=180, validators=[MinValueValidator(1)]
    )
    # At least a year: CCPA regulations wait 12 months before asking an opted-out consumer to
    # opt back in.
    opt_out_reprompt_days = models.PositiveIntegerField(
        default=365,
        validators=[MinValueValidator(365)],
        help_text="After an opt-out in an opt-out jurisdiction, do not ask again for this long.",
    )
    cookie_domain = models.CharField(
        max_length=200,
        blank=True,
        help_text="e.g. .example.com to share the choice across subdomains; empty: this host only.",
    )
    gpc_purposes = models.JSONField(
        default=default_gpc_purposes,
        help_text="Purposes a Global Privacy Control signal opts out of (opt-out jurisdictions).",
    )
    consent_mode_map = models.JSONField(
        default=default_consent_mode_map,
        help_text="Google Consent Mode signal → purpose key.",
    )
    position = models.CharField(max_length=16, choices=Position.choices, default=Position.BOTTOM)
    background_color = models.CharField(
        max_length=7, default="#ffffff", validators=[COLOR_VALIDATOR]
    )
    text_color = models.CharField(max_length=7, default="#1f2328", validators=[COLOR_VALIDATOR])
    accent_color = models.CharField(max_length=7, default="#0b57d0", validators=[COLOR_VALIDATOR])
    show_floating_button = models.BooleanField(default=True)
    privacy_policy_url = models.URLField(blank=True)
    us_privacy_enabled = models.BooleanField(
        default=False, help_text="Also expose the legacy US Privacy string (__uspapi)."
    )
    mspa_covered_transaction = models.BooleanField(default=False)
    mspa_opt_out_option_mode = models.BooleanField(default=False)
    mspa_service_provider_mode = models.BooleanField(default=False)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["organization", "key"]

    def __str__(self) -> str:
        return f"{self.name} ({self.key})"

    def clean(self):
        errors = {}
        bad = [o for o in self.origin_list() if not ORIGIN_PATTERN.match(o)]
        if bad:
            errors["allowed_origins"] = f"Not an origin (scheme://host[:port]): {', '.join(bad)}"
        domain_error = self.cookie_domain_error()
        if domain_error:
            errors["cookie_domain"] = domain_error
        colours = (self.background_color, self.text_color, self.accent_color)
        if all(COLOUR_PATTERN.match(c or "") for c in colours):  # else the field says why
            if contrast_ratio(self.background_color, self.text_color) < 4.5:
                errors["text_color"] = "Text needs a contrast of at least 4.5:1 on the background."
            if contrast_ratio(self.background_color, self.accent_color) < 3:
                errors["accent_color"] = (
                    "Buttons need a contrast of at least 3:1 on the background."
                )
        mode_map = self.consent_mode_map
        if not isinstance(mode_map, dict) or not all(isinstance(v, str) for v in mode_map.values()):
            errors["consent_mode_map"] = "An object of Consent Mode signal → purpose key."
        else:
            unknown = set(mode_map) - set(CONSENT_MODE_SIGNALS)
            if unknown:
                errors["consent_mode_map"] = (
                    f"Unknown Consent Mode signals: {', '.join(sorted(unknown))}"
                )
        gpc = self.gpc_purposes
        if not isinstance(gpc, list) or not all(isinstance(k, str) for k in gpc):
            errors["gpc_purposes"] = "A list of purpose keys."
        elif self.organization_id is not None:
            # An unknown key (a typo) would make the signal opt out of nothing, silently. The
            # shipped defaults are no typo: an organization without them has nothing to opt out.
            known = set(
                Purpose.objects.filter(organization_id=self.organization_id).values_list(
                    "key", flat=True
                )
            )
            unknown = sorted(set(gpc) - known - set(default_gpc_purposes()))
            if unknown:
                errors["gpc_purposes"] = (
                    f"No purpose with the key {', '.join(unknown)} in this organization."
                )
        if errors:
            raise ValidationError(errors)

    def cookie_domain_error(self) -> str | None:
        """Why browsers would refuse the cookie domain on the site's hosts (and silently keep
        the choice on each host alone), or None."""
        domain = self.cookie_domain
        if not domain:
            return None
        if not COOKIE_DOMAIN_PATTERN.match(domain):
            return "A domain name such as example.com, without scheme, port or path."
        bare = domain.lstrip(".").lower()
        try:
            ipaddress.ip_address(bare)
        except ValueError:
            pass
        else:
            return "An IP address has no subdomains to share the choice with: leave it empty."
        hosts = [
            o.split("://", 1)[1].split(":", 1)[0]
            for o in self.origin_list()
            if ORIGIN_PATTERN.match(o)
        ]
        if hosts and not any(h == bare or h.endswith(f".{bare}") for h in hosts):
            return f"Covers none of the allowed origins' hosts ({', '.join(hosts)})."
        return None

    def gpc_purpose_keys(self) -> list[str]:
        """The GPC purposes, ignoring a value saved without validation that is not a key list."""
        keys = self.gpc_purposes if isinstance(self.gpc_purposes, list) else []
        return [k for k in keys if isinstance(k, str)]

    def consent_mode_signals(self) -> dict[str, str]:
        """Consent Mode signal → purpose key, known signals only."""
        mapping = self.consent_mode_map if isinstance(self.consent_mode_map, dict) else {}
        return {
            signal: key
            for signal, key in mapping.items()
            if signal in CONSENT_MODE_SIGNALS and isinstance(key, str)
        }

    def origin_list(self) -> list[str]:
        """The origins as a browser serializes them: lower case, no trailing slash, and no
        default port (`https://x:443` is sent as `https://x`)."""
        origins = []
        for line in self.allowed_origins.splitlines():
            origin = line.strip().lower().rstrip("/")
            for scheme, port in DEFAULT_PORTS:
                if origin.startswith(scheme) and origin.endswith(port):
                    origin = origin.removesuffix(port)
            if origin:
                origins.append(origin)
        return origins


class BannerText(models.Model):
    """The banner's words in one language for one site; shipped defaults fill any gap."""

    site = models.ForeignKey(Site, on_delete=models.CASCADE, related_name="texts")
    language = models.CharField(max_length=16, validators=[LANGUAGE_VALIDATOR])
    right_to_left = models.BooleanField(default=False)
    title = models.CharField(max_length=200, blank=True)
    description = models.TextField(blank=True)
    accept_all = models.CharField(max_length=60, blank=True)
    reject_all = models.CharField(max_length=60, blank=True)
    preferences = models.CharField(max_length=60, blank=True)
    save_choices = models.CharField(max_length=60, blank=True)
    close = models.CharField(max_length=60, blank=True)
    purpose_names = models.JSONField(default=dict, blank=True, help_text="purpose key → name")
    purpose_descriptions = models.JSONField(default=dict, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["site", "language"], name="one_text_per_language"),
        ]

    def __str__(self) -> str:
        return f"{self.site.key}/{self.language}"

    def clean(self):
        errors = {
            name: "An object of purpose key → text."
            for name in ("purpose_names", "purpose_descriptions")
            if not _is_text_map(getattr(self, name))
        }
        if errors:
            raise ValidationError(errors)

    def purpose_name_map(self) -> dict[str, str]:
        """Purpose key → name, ignoring a value saved without validation that is not one."""
        return _text_map(self.purpose_names)

    def purpose_description_map(self) -> dict[str, str]:
        return _text_map(self.purpose_descriptions)


def _is_text_map(value) -> bool:
    return isinstance(value, dict) and all(isinstance(v, str) for v in value.values())


def _text_map(value) -> dict[str, str]:
    return {k: v for k, v in value.items() if isinstance(v, str)} if isinstance(value, dict) else {}


class Vendor(models.Model):
    """A third-party service (script) used on the organization's sites."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="vendors")
    name = models.CharField(max_length=200)
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="vendors")
    script_url = models.URLField(blank=True)
    privacy_policy_url = models.URLField(blank=True)
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["organization", "name"]

    def __str__(self) -> str:
        return self.name


class CookieDefinition(models.Model):
    """A cookie (or a name pattern with *) set on the organization's sites, and its purpose."""

    organization = models.ForeignKey(Organization, on_delete=models.CASCADE, related_name="cookies")
    name = models.CharField(
        max_length=200, help_text="Exact name, or a pattern with * (e.g. _ga_*)."
    )
    domain = models.CharField(max_length=200, blank=True)
    lifetime = models.CharField(max_length=64, blank=True, help_text="e.g. 13 months, session.")
    provider = models.CharField(max_length=200, blank=True)
    purpose = models.ForeignKey(Purpose, on_delete=models.PROTECT, related_name="cookies")
    vendor = models.ForeignKey(
        Vendor, null=True, blank=True, on_delete=models.SET_NULL, related_name="cookies"
    )
    description = models.TextField(blank=True)

    class Meta:
        ordering = ["organization", "purpose", "name"]

    def __str__(self) -> str:
        return self.name
