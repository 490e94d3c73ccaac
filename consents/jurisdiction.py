"""Jurisdiction groups and the consent each purpose gets by default in them."""

import re

from django.core.validators import RegexValidator

# EU member states, the rest of the EEA, the UK and Switzerland: opt-in rules (GDPR/ePrivacy).
EU_STYLE = frozenset(
    [
        "AT",
        "BE",
        "BG",
        "HR",
        "CY",
        "CZ",
        "DK",
        "EE",
        "FI",
        "FR",
        "DE",
        "GR",
        "HU",
        "IE",
        "IT",
        "LV",
        "LT",
        "LU",
        "MT",
        "NL",
        "PL",
        "PT",
        "RO",
        "SK",
        "SI",
        "ES",
        "SE",
        "IS",
        "LI",
        "NO",
        "GB",
        "UK",
        "CH",
        "EU",
    ]
)
JURISDICTION_PATTERN = re.compile(r"^[A-Z]{2}(-[A-Z0-9]{1,3})?$")
# What geolocation headers send when they do not know the country (Cloudflare's XX; ZZ is
# ISO 3166's "unknown" placeholder): not a place whose law applies.
UNKNOWN_COUNTRY_CODES = frozenset(["XX", "ZZ"])


INVALID_JURISDICTION = "Not a jurisdiction: give an ISO 3166 code such as DE or US-CA."
# A configured default (organization, site) is stored as the ledger records it: upper case.
JURISDICTION_VALIDATOR = RegexValidator(JURISDICTION_PATTERN, INVALID_JURISDICTION)


def normalize_jurisdiction(value: str) -> str:
    """Return an upper-case ISO 3166 code (DE, US-CA), or "" when `value` is not one."""
    candidate = (value or "").strip().upper().replace("_", "-")
    return candidate if JURISDICTION_PATTERN.match(candidate) else ""


def jurisdiction_group(jurisdiction: str) -> str:
    """Map a country or subdivision code to the group whose defaults apply: eu, us or other."""
    country = (jurisdiction or "").split("-")[0].upper()
    if country in EU_STYLE:
        return "eu"
    if country == "US":
        return "us"
    return "other"


def default_allowed(mode: str) -> bool:
    """Whether a purpose with this consent mode is allowed when the subject never decided."""
    return mode in ("opt_out", "always_on")
