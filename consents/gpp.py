"""IAB Global Privacy Platform strings: the GPP header, the US National section (usnat) with its
GPC sub-section, and the legacy US Privacy string; plus how a subject's choices become them.

static/kaizen/gpp.js encodes the same bits in the browser; tests keep the two identical and
check both against the IAB reference library (@iabgpp/cmpapi).
"""

from collections.abc import Mapping
from dataclasses import dataclass

GPP_HEADER_TYPE = 3
GPP_VERSION = 1
USNAT_SECTION_ID = 7
USNAT_VERSION = 2
USNAT_PREFIX = "usnat"
GPC_SUBSECTION_TYPE = 1
SECTION_PREFIXES = {
    2: "tcfeuv2",
    5: "tcfcav1",
    6: "uspv1",
    7: "usnat",
    8: "usca",
    9: "usva",
    10: "usco",
    11: "usut",
    12: "usct",
}
BASE64URL_ALPHABET = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
MAX_GPP_LENGTH = 4096

NOTICE_FIELDS = (
    "SharingNotice",
    "SaleOptOutNotice",
    "SharingOptOutNotice",
    "TargetedAdvertisingOptOutNotice",
    "SensitiveDataProcessingOptOutNotice",
    "SensitiveDataLimitUseNotice",
)
OPT_OUT_FIELDS = ("SaleOptOut", "SharingOptOut", "TargetedAdvertisingOptOut")
MSPA_FIELDS = ("MspaCoveredTransaction", "MspaOptOutOptionMode", "MspaServiceProviderMode")
# Entries in SensitiveDataProcessing / KnownChildSensitiveDataConsents, by section Version.
LIST_LENGTHS = {1: (12, 2), 2: (16, 3)}

# Purpose keys whose decisions feed the usnat section.
SALE_SHARE = "sale_share"
TARGETED_ADVERTISING = "targeted_advertising"
SENSITIVE_DATA_LIMIT = "sensitive_data_limit"

N_A, NOTICE_GIVEN, NOTICE_NOT_GIVEN = 0, 1, 2
OPTED_OUT, DID_NOT_OPT_OUT = 1, 2
NO_CONSENT, CONSENT = 1, 2
YES, NO = 1, 2


class GppError(ValueError):
    """A string that is not a valid GPP or US Privacy string; the message says why."""


# --- bits and base64url -----------------------------------------------------------------


def int_bits(value: int, width: int) -> str:
    if not 0 <= value < (1 << width):
        raise ValueError(f"{value} does not fit in {width} bits")
    return format(value, f"0{width}b")


def fibonacci_bits(value: int) -> str:
    """Fibonacci code of a positive integer: Zeckendorf bits, lowest weight first, then a 1."""
    if value < 1:
        raise ValueError("Fibonacci coding needs a positive integer")
    weights = [1, 2]
    while weights[-1] + weights[-2] <= value:
        weights.append(weights[-1] + weights[-2])
    weights = [w for w in weights if w <= value]
    bits = ["0"] * len(weights)
    remaining = value
    for index in range(len(weights) - 1, -1, -1):
        if weights[index] <= remaining:
            bits[index] = "1"
            remaining -= weights[index]
    return "".join(bits) + "1"


def read_fibonacci(bits: str, position: int) -> tuple[int, int]:
    """Decode one Fibonacci code starting at `position`; return (value, position after it)."""
    end = bits.find("11", position)
    if end < 0:
        raise GppError("A Fibonacci-coded number is cut off (no terminating 11).")
    value, previous, weight = 0, 1, 1
    for bit in bits[position : end + 1]:
        if bit == "1":
            value += weight
        previous, weight = weight, weight + previous
    return value, end + 2


def fibonacci_range_bits(ids: list[int]) -> str:
    """A sorted set of ids as Int(12) count, then runs: 0+offset, or 1+offset+length."""
    ordered = sorted(set(ids))
    runs: list[list[int]] = []
    for section_id in ordered:
        if runs and runs[-1][-1] + 1 == section_id:
            runs[-1].append(section_id)
        else:
            runs.append([section_id])
    bits, last = int_bits(len(runs), 12), 0
    for run in runs:
        start, end = run[0], run[-1]
        if start == end:
            bits += "0" + fibonacci_bits(start - last)
        else:
            bits += "1" + fibonacci_bits(start - last) + fibonacci_bits(end - start)
        last = end
    return bits


def read_fibonacci_range(bits: str, position: int) -> tuple[list[int], int]:
    if len(bits) < position + 12:
        raise GppError("The header is too short to hold its section count.")
    count = int(bits[position : position + 12], 2)
    position += 12
    ids: list[int] = []
    last = 0
    for _ in range(count):
        if position >= len(bits):
            raise GppError("The header names fewer section ids than its count says.")
        is_group = bits[position] == "1"
        offset, position = read_fibonacci(bits, position + 1)
        start = last + offset
        if is_group:
            length, position = read_fibonacci(bits, position)
            ids.extend(range(start, start + length + 1))
            last = start + length
        else:
            ids.append(start)
            last = start
    return ids, position


def bits_to_base64url(bits: str) -> str:
    """Pad to a whole byte, then to a multiple of 6 (as the reference library does), encode."""
    bits += "0" * (-len(bits) % 8)
    bits += "0" * (-len(bits) % 6)
    return "".join(BASE64URL_ALPHABET[int(bits[i : i + 6], 2)] for i in range(0, len(bits), 6))


def base64url_to_bits(text: str, what: str) -> str:
    if not text:
        raise GppError(f"The {what} is empty.")
    bad = sorted({c for c in text if c not in BASE64URL_ALPHABET})
    if bad:
        raise GppError(
            f"The {what} holds {''.join(bad)!r}: only base64url characters "
            "(A-Z a-z 0-9 - _) without padding are allowed."
        )
    return "".join(format(BASE64URL_ALPHABET.index(c), "06b") for c in text)


# --- the usnat section ------------------------------------------------------------------


@dataclass(frozen=True)
class UsNat:
    """The US National section's fields, named as in the specification (and in __gpp)."""

    Version: int = USNAT_VERSION
    SharingNotice: int = 0
    SaleOptOutNotice: int = 0
    SharingOptOutNotice: int = 0
    TargetedAdvertisingOptOutNotice: int = 0
    SensitiveDataProcessingOptOutNotice: int = 0
    SensitiveDataLimitUseNotice: int = 0
    SaleOptOut: int = 0
    SharingOptOut: int = 0
    TargetedAdvertisingOptOut: int = 0
    SensitiveDataProcessing: tuple = (0,) * 16
    KnownChildSensitiveDataConsents: tuple = (0,) * 3
    PersonalDataConsents: int = 0
    MspaCoveredTransaction: int = NO
    MspaOptOutOptionMode: int = 0
    MspaServiceProviderMode: int = 0
    Gpc: bool | None = None  # None: no GPC sub-section

    def core_fields(self) -> dict:
        fields = dict(self.__dict__)
        fields.pop("Gpc")
        fields["SensitiveDataProcessing"] = list(self.SensitiveDataProcessing)
        fields["KnownChildSensitiveDataConsents"] = list(self.KnownChildSensitiveDataConsents)
        return fields

    def subsections(self) -> list[dict]:
        """The parsed form __gpp('getSection', cb, 'usnat') returns: core, then GPC if present."""
        parts = [self.core_fields()]
        if self.Gpc is not None:
            parts.append({"SubsectionType": GPC_SUBSECTION_TYPE, "Gpc": self.Gpc})
        return parts


CORE_FIELD_ORDER = (
    "Version",
    *NOTICE_FIELDS,
    *OPT_OUT_FIELDS,
    "SensitiveDataProcessing",
    "KnownChildSensitiveDataConsents",
    "PersonalDataConsents",
    *MSPA_FIELDS,
)


def encode_usnat(usnat: UsNat) -> str:
    """The section as `core[.gpc]`, in the Version 2 layout."""
    if usnat.Version != USNAT_VERSION:
        raise ValueError("Only usnat Version 2 is encoded.")
    sensitive, child = LIST_LENGTHS[USNAT_VERSION]
    if (
        len(usnat.SensitiveDataProcessing) != sensitive
        or len(usnat.KnownChildSensitiveDataConsents) != child
    ):
        raise ValueError(f"Version 2 has {sensitive} sensitive-data and {child} child entries.")
    fields = usnat.core_fields()
    bits = int_bits(usnat.Version, 6)
    for name in CORE_FIELD_ORDER[1:]:
        values = fields[name] if isinstance(fields[name], list) else [fields[name]]
        if any(v not in (0, 1, 2) for v in values):
            raise ValueError(f"{name} takes 0, 1 or 2, not {fields[name]!r}")
        bits += "".join(int_bits(v, 2) for v in values)
    if usnat.MspaCoveredTransaction == 0:
        raise ValueError("MspaCoveredTransaction must be 1 (yes) or 2 (no).")
    encoded = bits_to_base64url(bits)
    if usnat.Gpc is not None:
        encoded += "." + bits_to_base64url(
            int_bits(GPC_SUBSECTION_TYPE, 2) + ("1" if usnat.Gpc else "0")
        )
    return encoded


def _read_pairs(bits: str, position: int, count: int) -> list[int]:
    return [int(bits[position + 2 * i : position + 2 * i + 2], 2) for i in range(count)]


def decode_usnat(text: str) -> UsNat:
    """Parse `core[.gpc]`; Version 1 strings use the 12/2 layout, Version 2 the 16/3 one."""
    parts = text.split(".")
    if len(parts) > 2:
        raise GppError("The usnat section has more than one sub-section after its core.")
    bits = base64url_to_bits(parts[0], "usnat core segment")
    version = int(bits[:6], 2)
    if version not in LIST_LENGTHS:
        raise GppError(f"usnat Version {version} is not known (1 and 2 are).")
    sensitive, child = LIST_LENGTHS[version]
    # Some early encoders wrote Version 1 with the 16/3 widths (72 bits rather than 60/66);
    # the reference library reads those as 16/3 and reports the first 12/2 entries. So do we.
    read_sensitive, read_child = (16, 3) if version == 1 and len(bits) > 66 else (sensitive, child)
    needed = 6 + 2 * (len(NOTICE_FIELDS) + len(OPT_OUT_FIELDS) + 1 + len(MSPA_FIELDS))
    needed += 2 * (read_sensitive + read_child)
    if len(bits) < needed:
        raise GppError(
            f"The usnat core segment is too short: Version {version} needs {needed} bits."
        )
    values: dict = {"Version": version}
    position = 6
    for name in CORE_FIELD_ORDER[1:]:
        width = {"SensitiveDataProcessing": read_sensitive}.get(name)
        width = read_child if name == "KnownChildSensitiveDataConsents" else width
        pairs = _read_pairs(bits, position, width or 1)
        position += 2 * (width or 1)
        if 3 in pairs:
            raise GppError(f"{name} holds the value 3; only 0, 1 and 2 are defined.")
        if name == "SensitiveDataProcessing":
            values[name] = tuple(pairs[:sensitive])
        elif name == "KnownChildSensitiveDataConsents":
            values[name] = tuple(pairs[:child])
        else:
            values[name] = pairs[0]
    if values["MspaCoveredTransaction"] == 0:
        raise GppError("MspaCoveredTransaction is 0; the specification allows 1 (yes) or 2 (no).")
    gpc = None
    if len(parts) == 2:
        sub = base64url_to_bits(parts[1], "usnat GPC sub-section")
        subsection_type = int(sub[:2], 2)
        if subsection_type != GPC_SUBSECTION_TYPE:
            raise GppError(f"usnat sub-section type {subsection_type} is not known (1 is GPC).")
        gpc = sub[2] == "1"
    return UsNat(**values, Gpc=gpc)


# --- the whole GPP string ---------------------------------------------------------------


@dataclass(frozen=True)
class GppString:
    version: int
    section_ids: list[int]
    sections: dict  # section id -> UsNat for usnat, the raw encoded text for other sections


def gpp_string(usnat: UsNat) -> str:
    header = int_bits(GPP_HEADER_TYPE, 6) + int_bits(GPP_VERSION, 6)
    header += fibonacci_range_bits([USNAT_SECTION_ID])
    return bits_to_base64url(header) + "~" + encode_usnat(usnat)


def decode_gpp(text: str) -> GppString:
    text = (text or "").strip()
    if len(text) > MAX_GPP_LENGTH:
        raise GppError(f"The string is longer than {MAX_GPP_LENGTH} characters.")
    parts = text.split("~")
    bits = base64url_to_bits(parts[0], "header")
    if len(bits) < 12:
        raise GppError("The header is too short.")
    header_type, version = int(bits[:6], 2), int(bits[6:12], 2)
    if header_type != GPP_HEADER_TYPE:
        raise GppError(f"The header's Type is {header_type}, not 3: this is not a GPP string.")
    if version != GPP_VERSION:
        raise GppError(f"GPP Version {version} is not supported (1 is).")
    section_ids, _ = read_fibonacci_range(bits, 12)
    if len(parts) - 1 != len(section_ids):
        raise GppError(
            f"The header names {len(section_ids)} section(s) but {len(parts) - 1} follow it."
        )
    sections: dict = {}
    for section_id, encoded in zip(section_ids, parts[1:], strict=True):
        if section_id == USNAT_SECTION_ID:
            sections[section_id] = decode_usnat(encoded)
        else:
            if not encoded:
                raise GppError(f"Section {section_id} is empty.")
            sections[section_id] = encoded
    return GppString(version=version, section_ids=section_ids, sections=sections)


NOTICE_MEANINGS = {0: "not applicable", 1: "notice given", 2: "notice not given"}
OPT_OUT_MEANINGS = {0: "not applicable", 1: "opted out", 2: "did not opt out"}
CONSENT_MEANINGS = {0: "not applicable", 1: "no consent", 2: "consent"}
YES_NO_MEANINGS = {0: "not applicable", 1: "yes", 2: "no"}
SENSITIVE_CATEGORIES = (
    "racial or ethnic origin",
    "religious or philosophical beliefs",
    "health",
    "sex life or sexual orientation",
    "citizenship or immigration status",
    "genetic data",
    "biometric data",
    "precise geolocation",
    "government id numbers",
    "account log-in or financial account",
    "union membership",
    "contents of mail, email, texts",
    "consumer health data",
    "status as a crime victim",
    "national origin",
    "transgender or nonbinary status",
)
CHILD_CATEGORIES = {
    1: ("age 13 to 16", "under 13"),
    2: ("age 13 to 16", "under 13", "age 16 to 17"),
}


def explain_usnat(usnat: UsNat) -> list[dict]:
    rows = [
        {"field": "Version", "value": usnat.Version, "meaning": f"usnat Version {usnat.Version}"}
    ]
    for name in NOTICE_FIELDS:
        value = getattr(usnat, name)
        rows.append({"field": name, "value": value, "meaning": NOTICE_MEANINGS[value]})
    for name in OPT_OUT_FIELDS:
        value = getattr(usnat, name)
        rows.append({"field": name, "value": value, "meaning": OPT_OUT_MEANINGS[value]})
    for index, value in enumerate(usnat.SensitiveDataProcessing):
        rows.append(
            {
                "field": f"SensitiveDataProcessing[{index + 1}]",
                "value": value,
                "meaning": f"{SENSITIVE_CATEGORIES[index]}: {CONSENT_MEANINGS[value]}",
            }
        )
    for index, value in enumerate(usnat.KnownChildSensitiveDataConsents):
        rows.append(
            {
                "field": f"KnownChildSensitiveDataConsents[{index + 1}]",
                "value": value,
                "meaning": f"{CHILD_CATEGORIES[usnat.Version][index]}: {CONSENT_MEANINGS[value]}",
            }
        )
    rows.append(
        {
            "field": "PersonalDataConsents",
            "value": usnat.PersonalDataConsents,
            "meaning": CONSENT_MEANINGS[usnat.PersonalDataConsents],
        }
    )
    for name in MSPA_FIELDS:
        value = getattr(usnat, name)
        rows.append({"field": name, "value": value, "meaning": YES_NO_MEANINGS[value]})
    if usnat.Gpc is None:
        rows.append({"field": "Gpc", "value": None, "meaning": "no GPC sub-section"})
    else:
        meaning = "GPC signal present" if usnat.Gpc else "no GPC signal"
        rows.append({"field": "Gpc", "value": usnat.Gpc, "meaning": meaning})
    return rows


def explain_gpp(text: str) -> dict:
    """The string field by field, for the decode command and endpoint. Raises GppError."""
    decoded = decode_gpp(text)
    sections = []
    for section_id in decoded.section_ids:
        content = decoded.sections[section_id]
        prefix = SECTION_PREFIXES.get(section_id, f"section {section_id}")
        if isinstance(content, UsNat):
            sections.append(
                {
                    "id": section_id,
                    "prefix": prefix,
                    "decoded": True,
                    "fields": explain_usnat(content),
                    "parsed": content.subsections(),
                }
            )
        else:
            sections.append(
                {
                    "id": section_id,
                    "prefix": prefix,
                    "decoded": False,
                    "encoded": content,
                    "fields": [],
                }
            )
    return {
        "string": text.strip(),
        "header": {
            "Type": GPP_HEADER_TYPE,
            "Version": decoded.version,
            "SectionIds": decoded.section_ids,
        },
        "sections": sections,
    }


# --- the legacy US Privacy string -------------------------------------------------------

US_PRIVACY_NOT_APPLICABLE = "1---"


def us_privacy_string(
    *, notice_given: bool | None, opted_out: bool | None, lspa_covered: bool | None
) -> str:
    """`1` + notice + opted out of sale + LSPA-covered, each Y, N or - (None: not applicable)."""

    def flag(value):
        return "-" if value is None else "Y" if value else "N"

    return "1" + flag(notice_given) + flag(opted_out) + flag(lspa_covered)


def decode_us_privacy(text: str) -> dict:
    if len(text) != 4 or text[0] != "1" or any(c not in "YN-" for c in text[1:]):
        raise GppError("A US Privacy string is `1` followed by three of Y, N or -, e.g. 1YNN.")
    names = ("notice_given", "opted_out_of_sale", "lspa_covered")
    return {
        "version": 1,
        **{n: {"Y": True, "N": False, "-": None}[c] for n, c in zip(names, text[1:], strict=True)},
    }


# --- from a subject's choices -----------------------------------------------------------


@dataclass(frozen=True)
class MspaConfig:
    """A site's IAB Multi-State Privacy Agreement settings and its US Privacy switch."""

    covered_transaction: bool = False
    opt_out_option_mode: bool = False
    service_provider_mode: bool = False
    us_privacy_enabled: bool = True

    @classmethod
    def from_site(cls, site) -> "MspaConfig":
        return cls(
            covered_transaction=site.mspa_covered_transaction,
            opt_out_option_mode=site.mspa_opt_out_option_mode,
            service_provider_mode=site.mspa_service_provider_mode,
            us_privacy_enabled=site.us_privacy_enabled,
        )


def _notice(present: bool, notice_given: bool) -> int:
    if not present:
        return N_A
    return NOTICE_GIVEN if notice_given else NOTICE_NOT_GIVEN


def _opt_out(allowed: bool | None, notice_given: bool, gpc: bool) -> int:
    """A refusal (or GPC) is an opt-out; not opting out only counts after a notice."""
    if allowed is None:
        return N_A
    if not allowed or gpc:
        return OPTED_OUT
    return DID_NOT_OPT_OUT if notice_given else N_A


def usnat_from_choices(
    choices: Mapping[str, bool], *, notice_given: bool, gpc: bool | None, mspa: MspaConfig
) -> UsNat:
    """Map purpose decisions (key -> allowed) to usnat; a purpose the organization lacks is n/a.

    `gpc` None leaves out the GPC sub-section (the caller cannot see the browser's signal).
    """
    sale = choices.get(SALE_SHARE)
    targeted = choices.get(TARGETED_ADVERTISING)
    sensitive = choices.get(SENSITIVE_DATA_LIMIT)
    sensitive_value = N_A if sensitive is None else CONSENT if sensitive else NO_CONSENT
    covered = mspa.covered_transaction
    return UsNat(
        SharingNotice=NOTICE_GIVEN if notice_given else NOTICE_NOT_GIVEN,
        SaleOptOutNotice=_notice(sale is not None, notice_given),
        SharingOptOutNotice=_notice(sale is not None, notice_given),
        TargetedAdvertisingOptOutNotice=_notice(targeted is not None, notice_given),
        SensitiveDataProcessingOptOutNotice=_notice(sensitive is not None, notice_given),
        SensitiveDataLimitUseNotice=_notice(sensitive is not None, notice_given),
        SaleOptOut=_opt_out(sale, notice_given, bool(gpc)),
        SharingOptOut=_opt_out(sale, notice_given, bool(gpc)),
        TargetedAdvertisingOptOut=_opt_out(targeted, notice_given, bool(gpc)),
        SensitiveDataProcessing=(sensitive_value,) * 16,
        KnownChildSensitiveDataConsents=(N_A,) * 3,
        PersonalDataConsents=N_A,
        MspaCoveredTransaction=YES if covered else NO,
        MspaOptOutOptionMode=(YES if mspa.opt_out_option_mode else NO) if covered else N_A,
        MspaServiceProviderMode=(YES if mspa.service_provider_mode else NO) if covered else N_A,
        Gpc=gpc,
    )


def us_privacy_from_choices(
    choices: Mapping[str, bool], *, notice_given: bool, gpc: bool | None, mspa: MspaConfig
) -> str:
    """The `1YNN` string; the MSPA's covered-transaction flag answers the LSPA question."""
    sale = choices.get(SALE_SHARE)
    opted_out = None if sale is None else (not sale or bool(gpc))
    return us_privacy_string(
        notice_given=notice_given, opted_out=opted_out, lspa_covered=mspa.covered_transaction
    )


def signals_from_choices(
    choices: Mapping[str, bool],
    *,
    jurisdiction_group: str,
    notice_given: bool,
    gpc: bool | None,
    mspa: MspaConfig,
) -> dict:
    """`gpp` and `us_privacy` for the consent state API; outside the US no usnat, `1---`."""
    if jurisdiction_group != "us":
        us_privacy = US_PRIVACY_NOT_APPLICABLE if mspa.us_privacy_enabled else None
        return {"gpp": None, "us_privacy": us_privacy}
    usnat = usnat_from_choices(choices, notice_given=notice_given, gpc=gpc, mspa=mspa)
    us_privacy = None
    if mspa.us_privacy_enabled:
        us_privacy = us_privacy_from_choices(choices, notice_given=notice_given, gpc=gpc, mspa=mspa)
    return {"gpp": gpp_string(usnat), "us_privacy": us_privacy}


def signals_for_decisions(*, organization, decisions, jurisdiction: str, site=None) -> dict:
    """`gpp` and `us_privacy` for a subject's current decisions, as the state API reports them.

    A server cannot see the browser's GPC signal, so the GPC sub-section appears only when the
    subject's sale/share refusal was recorded from GPC (source `gpc`).
    """
    from django.utils import timezone

    from consents.jurisdiction import jurisdiction_group

    choices = {d.purpose.key: d.allowed for d in decisions}
    sale = next((d for d in decisions if d.purpose.key == SALE_SHARE), None)
    gpc = True if sale is not None and not sale.allowed and sale.source == "gpc" else None
    notice_given = organization.notices.filter(published_at__lte=timezone.now()).exists()
    return signals_from_choices(
        choices,
        jurisdiction_group=jurisdiction_group(jurisdiction or organization.default_jurisdiction),
        notice_given=notice_given,
        gpc=gpc,
        mspa=MspaConfig.from_site(site) if site is not None else MspaConfig(),
    )
