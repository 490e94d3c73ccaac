"""A GPP string explained field by field, for the decode command and the public endpoint."""

from consents.gpp.strings import (
    GPP_HEADER_TYPE,
    MSPA_FIELDS,
    NOTICE_FIELDS,
    OPT_OUT_FIELDS,
    SECTION_PREFIXES,
    UsNat,
    decode_gpp,
)

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
