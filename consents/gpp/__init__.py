"""IAB Global Privacy Platform: the GPP header, the US National section (usnat) with its GPC
sub-section, the legacy US Privacy string, and how a subject's choices become them.

static/kaizen/gpp.js encodes the same bits in the browser; tests keep the two identical and
check both against the IAB reference library (@iabgpp/cmpapi). See docs/gpp.md.
"""

from consents.gpp.bits import (
    BASE64URL_ALPHABET,
    GppError,
    base64url_to_bits,
    bits_to_base64url,
    fibonacci_bits,
    fibonacci_range_bits,
    int_bits,
    read_fibonacci,
    read_fibonacci_range,
)
from consents.gpp.choices import (
    SALE_SHARE,
    SENSITIVE_DATA_LIMIT,
    TARGETED_ADVERTISING,
    MspaConfig,
    signals_for_decisions,
    signals_from_choices,
    us_privacy_from_choices,
    usnat_from_choices,
)
from consents.gpp.explain import explain_gpp, explain_usnat
from consents.gpp.strings import (
    GPP_HEADER_TYPE,
    GPP_VERSION,
    MSPA_FIELDS,
    NOTICE_FIELDS,
    OPT_OUT_FIELDS,
    SECTION_PREFIXES,
    US_PRIVACY_NOT_APPLICABLE,
    USNAT_PREFIX,
    USNAT_SECTION_ID,
    USNAT_VERSION,
    GppString,
    UsNat,
    decode_gpp,
    decode_us_privacy,
    decode_usnat,
    encode_usnat,
    gpp_string,
    us_privacy_string,
)

__all__ = [
    "BASE64URL_ALPHABET",
    "GPP_HEADER_TYPE",
    "GPP_VERSION",
    "MSPA_FIELDS",
    "NOTICE_FIELDS",
    "OPT_OUT_FIELDS",
    "SALE_SHARE",
    "SECTION_PREFIXES",
    "SENSITIVE_DATA_LIMIT",
    "TARGETED_ADVERTISING",
    "US_PRIVACY_NOT_APPLICABLE",
    "USNAT_PREFIX",
    "USNAT_SECTION_ID",
    "USNAT_VERSION",
    "GppError",
    "GppString",
    "MspaConfig",
    "UsNat",
    "base64url_to_bits",
    "bits_to_base64url",
    "decode_gpp",
    "decode_us_privacy",
    "decode_usnat",
    "encode_usnat",
    "explain_gpp",
    "explain_usnat",
    "fibonacci_bits",
    "fibonacci_range_bits",
    "gpp_string",
    "int_bits",
    "read_fibonacci",
    "read_fibonacci_range",
    "signals_for_decisions",
    "signals_from_choices",
    "us_privacy_from_choices",
    "us_privacy_string",
    "usnat_from_choices",
]
