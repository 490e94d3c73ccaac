"""GPP strings: the header, the US National section (usnat) with its GPC sub-section, and
the legacy US Privacy string. Encodes usnat Version 2; decodes Versions 1 and 2."""

from dataclasses import dataclass

from consents.gpp.bits import (
    GppError,
    base64url_to_bits,
    bits_to_base64url,
    fibonacci_range_bits,
    int_bits,
    read_fibonacci_range,
)

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


N_A, NOTICE_GIVEN, NOTICE_NOT_GIVEN = 0, 1, 2
OPTED_OUT, DID_NOT_OPT_OUT = 1, 2
NO_CONSENT, CONSENT = 1, 2
YES, NO = 1, 2


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
    section_ids, _ = read_fibonacci_range(bits, 12, max_ids=len(parts) - 1)
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
