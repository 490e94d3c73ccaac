"""GPP usnat and US Privacy strings: our codec, the IAB reference library, and the API."""

import itertools
import random

import pytest

from consents import gpp
from consents.gpp import GppError, MspaConfig, UsNat
from tests.gpp_reference import run_reference

GOLDEN_V2 = "DBABLA~CEAQAAAAAACA.YA"
GOLDEN_V1 = "DBABLA~BVVVkkkkkpFY.YA"

CHOICE_VALUES = (None, True, False)  # purpose missing, allowed, refused
MSPA_CONFIGS = (
    MspaConfig(covered_transaction=False),
    MspaConfig(covered_transaction=True, opt_out_option_mode=True),
    MspaConfig(covered_transaction=True, service_provider_mode=True),
    MspaConfig(covered_transaction=True),
    MspaConfig(covered_transaction=True, opt_out_option_mode=True, service_provider_mode=True),
)


def choice_combinations():
    """Every combination of the inputs that change a bit of the usnat section."""
    for sale, targeted, sensitive, notice, gpc, mspa in itertools.product(
        CHOICE_VALUES,
        CHOICE_VALUES,
        CHOICE_VALUES,
        (True, False),
        (None, True, False),
        MSPA_CONFIGS,
    ):
        choices = {"necessary": True, "analytics": False}
        for key, value in (
            ("sale_share", sale),
            ("targeted_advertising", targeted),
            ("sensitive_data_limit", sensitive),
        ):
            if value is not None:
                choices[key] = value
        yield choices, notice, gpc, mspa


def reference_fields(usnat: UsNat) -> dict:
    """Our section as the reference library names it after decoding."""
    fields = usnat.core_fields()
    fields["GpcSegmentType"] = 1
    fields["Gpc"] = bool(usnat.Gpc)
    return fields


def reference_setters(usnat: UsNat) -> dict:
    fields = usnat.core_fields()
    fields.pop("Version")
    fields["GpcSegmentIncluded"] = usnat.Gpc is not None
    fields["Gpc"] = bool(usnat.Gpc)
    return fields


# --- golden strings -------------------------------------------------------------------------


def test_golden_version_2_string_decodes_exactly():
    decoded = gpp.decode_gpp(GOLDEN_V2)
    assert decoded.version == 1 and decoded.section_ids == [7]
    assert decoded.sections[7] == UsNat(
        Version=2, SaleOptOutNotice=1, SaleOptOut=1, MspaCoveredTransaction=2, Gpc=True
    )


def test_golden_version_1_string_decodes_exactly_in_the_12_2_layout():
    usnat = gpp.decode_gpp(GOLDEN_V1).sections[7]
    assert usnat == UsNat(
        Version=1,
        SharingNotice=1,
        SaleOptOutNotice=1,
        SharingOptOutNotice=1,
        TargetedAdvertisingOptOutNotice=1,
        SensitiveDataProcessingOptOutNotice=1,
        SensitiveDataLimitUseNotice=1,
        SaleOptOut=1,
        SharingOptOut=1,
        TargetedAdvertisingOptOut=1,
        SensitiveDataProcessing=(2, 1, 0, 2, 1, 0, 2, 1, 0, 2, 1, 0),
        KnownChildSensitiveDataConsents=(2, 1),
        PersonalDataConsents=1,
        MspaCoveredTransaction=1,
        MspaOptOutOptionMode=1,
        MspaServiceProviderMode=2,
        Gpc=True,
    )


def test_a_60_bit_version_1_core_reads_the_12_2_layout():
    bits = gpp.int_bits(1, 6) + "01" * 9 + "10" * 12 + "01" * 2 + "00" + "01" + "00" + "00"
    assert len(bits) == 60
    core = gpp.bits_to_base64url(bits)
    usnat = gpp.decode_usnat(core)
    assert usnat.SensitiveDataProcessing == (2,) * 12
    assert usnat.KnownChildSensitiveDataConsents == (1, 1)
    assert usnat.MspaCoveredTransaction == 1 and usnat.Gpc is None
    reference = run_reference([{"decode": "DBABLA~" + core}])[0]["sections"]["usnat"]
    assert reference["SensitiveDataProcessing"] == [2] * 12
    assert reference["KnownChildSensitiveDataConsents"] == [1, 1]


def test_trailing_zero_padding_is_ignored():
    assert gpp.decode_gpp("DBABL~CEAQAAAAAACA.Y") == gpp.decode_gpp(GOLDEN_V2)
    assert gpp.decode_gpp("DBABLAAA~CEAQAAAAAACAAA.YAAA") == gpp.decode_gpp(GOLDEN_V2)


def test_our_encoder_reproduces_the_golden_version_2_string():
    assert gpp.gpp_string(gpp.decode_gpp(GOLDEN_V2).sections[7]) == GOLDEN_V2


# --- round trips and the reference implementation ------------------------------------------


def test_every_choice_combination_round_trips_through_our_decoder():
    seen = set()
    for choices, notice, gpc, mspa in choice_combinations():
        usnat = gpp.usnat_from_choices(choices, notice_given=notice, gpc=gpc, mspa=mspa)
        string = gpp.gpp_string(usnat)
        assert string.startswith("DBABLA~")
        assert gpp.decode_gpp(string).sections[7] == usnat
        seen.add(string)
    assert len(seen) > 300  # the inputs really change the bits


def test_reference_library_decodes_our_strings_to_the_same_fields():
    cases = [
        gpp.usnat_from_choices(choices, notice_given=notice, gpc=gpc, mspa=mspa)
        for choices, notice, gpc, mspa in choice_combinations()
    ]
    answers = run_reference([{"decode": gpp.gpp_string(u)} for u in cases])
    for usnat, answer in zip(cases, answers, strict=True):
        assert answer["header"] == {"Id": 3, "Version": 1, "SectionIds": [7]}
        assert answer["sections"]["usnat"] == reference_fields(usnat)


def random_usnat(rng: random.Random) -> UsNat:
    def pick():
        return rng.choice((0, 1, 2))

    covered = rng.choice((1, 2))
    return UsNat(
        **{name: pick() for name in gpp.NOTICE_FIELDS + gpp.OPT_OUT_FIELDS},
        SensitiveDataProcessing=tuple(pick() for _ in range(16)),
        KnownChildSensitiveDataConsents=tuple(pick() for _ in range(3)),
        PersonalDataConsents=pick(),
        MspaCoveredTransaction=covered,
        MspaOptOutOptionMode=pick(),
        MspaServiceProviderMode=pick(),
        Gpc=rng.choice((None, True, False)),
    )


def test_reference_encoder_and_ours_give_identical_strings_and_we_decode_its_strings():
    rng = random.Random(7)
    cases = [random_usnat(rng) for _ in range(300)]
    answers = run_reference([{"encode": {"usnat": reference_setters(u)}} for u in cases])
    for usnat, answer in zip(cases, answers, strict=True):
        assert answer["string"] == gpp.gpp_string(usnat)
        assert gpp.decode_gpp(answer["string"]).sections[7] == usnat


def test_we_decode_a_reference_string_with_several_sections_in_a_fibonacci_group():
    answer = run_reference(
        [
            {
                "encode": {
                    "uspv1": {"Notice": "Y", "OptOutSale": "N", "LspaCovered": "Y"},
                    "usnat": {"SaleOptOutNotice": 1, "SaleOptOut": 2},
                    "usca": {"SaleOptOutNotice": 1},
                    "usva": {"SaleOptOutNotice": 1},
                }
            }
        ]
    )[0]
    decoded = gpp.decode_gpp(answer["string"])
    assert decoded.section_ids == [6, 7, 8, 9]
    assert decoded.sections[7].SaleOptOut == 2 and decoded.sections[7].SaleOptOutNotice == 1
    explained = gpp.explain_gpp(answer["string"])
    assert [s["prefix"] for s in explained["sections"]] == ["uspv1", "usnat", "usca", "usva"]
    assert [s["decoded"] for s in explained["sections"]] == [False, True, False, False]


def test_our_header_bits_equal_the_reference_header_for_a_group_and_a_gap():
    answer = run_reference(
        [
            {
                "encode": {
                    "uspv1": {"Notice": "Y", "OptOutSale": "N", "LspaCovered": "Y"},
                    "usnat": {"SaleOptOutNotice": 1},
                    "usca": {"SaleOptOutNotice": 1},
                    "usva": {"SaleOptOutNotice": 1},
                    "usct": {"SaleOptOutNotice": 1},
                }
            }
        ]
    )[0]
    header = answer["string"].split("~")[0]
    ids = [6, 7, 8, 9, 12]
    ours = gpp.bits_to_base64url("000011" + "000001" + gpp.fibonacci_range_bits(ids))
    assert ours == header
    assert gpp.decode_gpp(answer["string"]).section_ids == ids


# --- Fibonacci coding ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "code"),
    [
        (1, "11"),
        (2, "011"),
        (3, "0011"),
        (4, "1011"),
        (5, "00011"),
        (6, "10011"),
        (7, "01011"),
        (8, "000011"),
        (12, "101011"),
        (13, "0000011"),
    ],
)
def test_fibonacci_codes_match_the_specification(value, code):
    assert gpp.fibonacci_bits(value) == code
    assert gpp.read_fibonacci(code + "0101", 0) == (value, len(code))


def test_fibonacci_codes_round_trip_and_end_in_their_only_11():
    for value in range(1, 2000):
        code = gpp.fibonacci_bits(value)
        assert code.endswith("11") and code.find("11") == len(code) - 2
        assert gpp.read_fibonacci(code, 0) == (value, len(code))


def test_fibonacci_rejects_zero_and_a_cut_off_code():
    with pytest.raises(ValueError):
        gpp.fibonacci_bits(0)
    with pytest.raises(GppError, match="cut off"):
        gpp.read_fibonacci("0101", 0)


@pytest.mark.parametrize(
    "ids", [[], [7], [1], [6, 7], [2, 6, 7, 8, 12], [1, 2, 3, 4, 5, 30], [100, 4000]]
)
def test_fibonacci_ranges_round_trip(ids):
    bits = gpp.fibonacci_range_bits(ids)
    assert gpp.read_fibonacci_range(bits + "0000", 0) == (ids, len(bits))


def test_consecutive_ids_are_encoded_as_one_group():
    assert gpp.fibonacci_range_bits([6, 7, 8]) == gpp.int_bits(1, 12) + "1" + "10011" + "011"


def header_naming_a_group_of(length_code: str) -> str:
    """A GPP header whose one Fibonacci group starts at 7 and has the given coded length."""
    bits = "000011" + "000001" + gpp.int_bits(1, 12) + "1" + gpp.fibonacci_bits(7) + length_code
    return gpp.bits_to_base64url(bits)


def test_a_header_naming_a_huge_group_is_refused_before_its_ids_are_listed():
    import tracemalloc

    # 34 bits name a group of almost 6 million section ids; the string has one section.
    string = header_naming_a_group_of("0" * 32 + "11") + "~CEAQAAAAAACA"
    tracemalloc.start()
    try:
        with pytest.raises(GppError, match="The header names"):
            gpp.decode_gpp(string)
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 1_000_000


@pytest.mark.parametrize("offset_code", ["0" * 21000 + "11", gpp.fibonacci_bits(4096)])
def test_decode_endpoint_answers_400_to_a_header_naming_an_absurd_section_id(client, offset_code):
    bits = "000011" + "000001" + gpp.int_bits(1, 12) + "0" + offset_code
    response = client.get("/api/v1/gpp/decode", {"string": gpp.bits_to_base64url(bits) + "~abc"})
    assert response.status_code == 400
    assert "section id above 4095" in response.json()["string"][0]


def test_decode_endpoint_answers_400_to_a_header_naming_billions_of_sections(client):
    string = header_naming_a_group_of("0" * 70 + "11") + "~CEAQAAAAAACA"
    response = client.get("/api/v1/gpp/decode", {"string": string})
    assert response.status_code == 400
    assert "The header names" in response.json()["string"][0]


# --- invalid strings -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("string", "message"),
    [
        ("", "header is empty"),
        ("CBABLA~CEAQAAAAAACA", "not a GPP string"),
        ("DCABLA~CEAQAAAAAACA", "GPP Version 2 is not supported"),
        ("DBABLA", "names 1 section"),
        ("DBABLA~CEAQAAAAAACA~CEAQAAAAAACA", "1 section\\(s\\) but 2 follow"),
        ("DBABLA~", "usnat core segment is empty"),
        ("DBABLA~CEAQ", "too short"),
        ("DBABLA~CEAQAAAAAACA.YA=", "base64url"),
        ("DBABLA~CEAQAAAAAACA+YA", "base64url"),
        ("DBABLA~DEAQAAAAAACA", "usnat Version 3 is not known"),
        ("DBABLA~CEAQAAAAAAAA", "MspaCoveredTransaction is 0"),
        ("DBABLA~C0AQAAAAAACA", "SharingNotice holds the value 3"),
        ("DBABLA~CEAQAAAAAACA.oA", "sub-section type 2"),
        ("DBABLA~CEAQAAAAAACA.YA.YA", "more than one sub-section"),
        ("DBAB", "fewer section ids"),
        ("D", "header is too short"),
        ("DBAA" + "~x" * 3000, "longer than"),
    ],
)
def test_invalid_strings_are_rejected_with_a_clear_message(string, message):
    with pytest.raises(GppError, match=message):
        gpp.decode_gpp(string)


def test_encoder_refuses_values_the_specification_does_not_define():
    with pytest.raises(ValueError, match="SaleOptOut"):
        gpp.encode_usnat(UsNat(SaleOptOut=3))
    with pytest.raises(ValueError, match="MspaCoveredTransaction"):
        gpp.encode_usnat(UsNat(MspaCoveredTransaction=0))
    with pytest.raises(ValueError, match="Version 2"):
        gpp.encode_usnat(UsNat(Version=1))


# --- from choices ----------------------------------------------------------------------------

NOT_COVERED = MspaConfig()


def test_refusing_sale_share_opts_out_of_sale_and_sharing_after_a_notice():
    usnat = gpp.usnat_from_choices(
        {"sale_share": False, "targeted_advertising": True},
        notice_given=True,
        gpc=False,
        mspa=NOT_COVERED,
    )
    assert (usnat.SaleOptOut, usnat.SharingOptOut, usnat.TargetedAdvertisingOptOut) == (1, 1, 2)
    assert (usnat.SaleOptOutNotice, usnat.SharingOptOutNotice) == (1, 1)
    assert usnat.TargetedAdvertisingOptOutNotice == 1 and usnat.SharingNotice == 1
    assert usnat.SensitiveDataLimitUseNotice == 0 and usnat.SensitiveDataProcessing == (0,) * 16
    assert usnat.Gpc is False


def test_gpc_opts_out_of_sale_sharing_and_targeted_advertising_even_when_allowed():
    usnat = gpp.usnat_from_choices(
        {"sale_share": True, "targeted_advertising": True},
        notice_given=True,
        gpc=True,
        mspa=NOT_COVERED,
    )
    assert (usnat.SaleOptOut, usnat.SharingOptOut, usnat.TargetedAdvertisingOptOut) == (1, 1, 1)
    assert gpp.encode_usnat(usnat).endswith(".YA")


def test_without_a_notice_not_opting_out_is_reported_as_not_applicable():
    usnat = gpp.usnat_from_choices(
        {"sale_share": True, "targeted_advertising": False},
        notice_given=False,
        gpc=None,
        mspa=NOT_COVERED,
    )
    assert (usnat.SaleOptOutNotice, usnat.SaleOptOut) == (2, 0)
    assert usnat.TargetedAdvertisingOptOut == 1
    assert "." not in gpp.encode_usnat(usnat)


def test_purposes_the_organization_lacks_are_not_applicable():
    usnat = gpp.usnat_from_choices(
        {"analytics": True}, notice_given=True, gpc=False, mspa=NOT_COVERED
    )
    assert all(getattr(usnat, name) == 0 for name in gpp.NOTICE_FIELDS[1:] + gpp.OPT_OUT_FIELDS)


def test_sensitive_data_limit_sets_notices_and_every_category():
    limited = gpp.usnat_from_choices(
        {"sensitive_data_limit": False}, notice_given=True, gpc=False, mspa=NOT_COVERED
    )
    assert limited.SensitiveDataProcessing == (1,) * 16
    assert limited.SensitiveDataLimitUseNotice == 1
    assert limited.SensitiveDataProcessingOptOutNotice == 1
    allowed = gpp.usnat_from_choices(
        {"sensitive_data_limit": True}, notice_given=True, gpc=False, mspa=NOT_COVERED
    )
    assert allowed.SensitiveDataProcessing == (2,) * 16


def test_mspa_modes_are_not_applicable_outside_a_covered_transaction():
    covered = gpp.usnat_from_choices(
        {},
        notice_given=True,
        gpc=None,
        mspa=MspaConfig(covered_transaction=True, service_provider_mode=True),
    )
    assert (
        covered.MspaCoveredTransaction,
        covered.MspaOptOutOptionMode,
        covered.MspaServiceProviderMode,
    ) == (1, 2, 1)
    not_covered = gpp.usnat_from_choices(
        {},
        notice_given=True,
        gpc=None,
        mspa=MspaConfig(covered_transaction=False, service_provider_mode=True),
    )
    assert (
        not_covered.MspaCoveredTransaction,
        not_covered.MspaOptOutOptionMode,
        not_covered.MspaServiceProviderMode,
    ) == (2, 0, 0)


@pytest.mark.parametrize(
    ("choices", "notice", "gpc", "covered", "expected"),
    [
        ({"sale_share": True}, True, False, False, "1YNN"),
        ({"sale_share": False}, True, False, True, "1YYY"),
        ({"sale_share": True}, True, True, False, "1YYN"),
        ({"sale_share": True}, False, None, False, "1NNN"),
        ({}, True, False, False, "1Y-N"),
    ],
)
def test_us_privacy_string_from_choices(choices, notice, gpc, covered, expected):
    mspa = MspaConfig(covered_transaction=covered)
    assert gpp.us_privacy_from_choices(choices, notice_given=notice, gpc=gpc, mspa=mspa) == expected


def test_us_privacy_is_not_applicable_outside_the_us_and_off_when_the_site_disables_it():
    eu = gpp.signals_from_choices(
        {"sale_share": False},
        jurisdiction_group="eu",
        notice_given=True,
        gpc=None,
        mspa=MspaConfig(),
    )
    assert eu == {"gpp": None, "us_privacy": "1---"}
    disabled = gpp.signals_from_choices(
        {"sale_share": False},
        jurisdiction_group="us",
        notice_given=True,
        gpc=None,
        mspa=MspaConfig(us_privacy_enabled=False),
    )
    assert disabled["us_privacy"] is None and disabled["gpp"].startswith("DBABLA~")


@pytest.mark.parametrize("text", ["1YN", "2YNN", "1YXN", "1YNNN", ""])
def test_malformed_us_privacy_strings_are_rejected(text):
    with pytest.raises(GppError, match="US Privacy string"):
        gpp.decode_us_privacy(text)


def test_us_privacy_string_decodes():
    assert gpp.decode_us_privacy("1YN-") == {
        "version": 1,
        "notice_given": True,
        "opted_out_of_sale": False,
        "lspa_covered": None,
    }


# --- the decode_gpp command -------------------------------------------------------------------


def test_decode_command_explains_every_field():
    from io import StringIO

    from django.core.management import call_command

    out = StringIO()
    call_command("decode_gpp", GOLDEN_V2, stdout=out)
    text = out.getvalue()
    assert "Section 7 (usnat)" in text
    assert "SaleOptOut                             1      opted out" in text
    assert "MspaCoveredTransaction                 2      no" in text
    assert "Gpc                                    True   GPC signal present" in text
    assert "SensitiveDataProcessing[16]" in text


def test_decode_command_rejects_a_bad_string_with_the_reason():
    from django.core.management import call_command
    from django.core.management.base import CommandError

    with pytest.raises(CommandError, match="header names 1 section\\(s\\) but 0 follow"):
        call_command("decode_gpp", "DBABLA")


# --- the public decoder endpoint ----------------------------------------------------------------

DECODE_URL = "/api/v1/gpp/decode"


def test_decode_endpoint_explains_a_string_without_an_api_key(client):
    response = client.get(DECODE_URL, {"string": GOLDEN_V2})
    assert response.status_code == 200
    body = response.json()
    assert body["header"] == {"Type": 3, "Version": 1, "SectionIds": [7]}
    section = body["sections"][0]
    assert section["prefix"] == "usnat" and section["decoded"] is True
    fields = {row["field"]: (row["value"], row["meaning"]) for row in section["fields"]}
    assert fields["SaleOptOut"] == (1, "opted out")
    assert fields["SaleOptOutNotice"] == (1, "notice given")
    assert fields["MspaCoveredTransaction"] == (2, "no")
    assert fields["Gpc"] == (True, "GPC signal present")
    assert section["parsed"][1] == {"SubsectionType": 1, "Gpc": True}


def test_decode_endpoint_explains_a_us_privacy_string(client):
    body = client.get(DECODE_URL, {"string": "1YYN"}).json()
    assert body["us_privacy"] == {
        "version": 1,
        "notice_given": True,
        "opted_out_of_sale": True,
        "lspa_covered": False,
    }


@pytest.mark.parametrize(
    ("string", "message"),
    [
        ("DBABLA~CEAQ", "too short"),
        ("DBABLA~CEAQAAAAAACA.YA=", "base64url"),
        ("", "Give the string"),
    ],
)
def test_decode_endpoint_answers_400_with_the_reason(client, string, message):
    response = client.get(DECODE_URL, {"string": string})
    assert response.status_code == 400
    assert message in response.json()["string"][0]


def test_decode_endpoint_ignores_a_bad_api_key(client):
    response = client.get(
        DECODE_URL, {"string": GOLDEN_V2}, HTTP_AUTHORIZATION="Bearer not-a-real-key"
    )
    assert response.status_code == 200


def test_decode_endpoint_is_rate_limited_per_address(client, settings):
    settings.KAIZEN_RATE_LIMITS = {**settings.KAIZEN_RATE_LIMITS, "public_ip": (3, 60)}
    codes = [
        client.get(DECODE_URL, {"string": GOLDEN_V2}, REMOTE_ADDR="203.0.113.9").status_code
        for _ in range(4)
    ]
    assert codes == [200, 200, 200, 429]
    other = client.get(DECODE_URL, {"string": GOLDEN_V2}, REMOTE_ADDR="203.0.113.10")
    assert other.status_code == 200


# --- gpp and us_privacy in the consent state API -------------------------------------------------

STATE_URL = "/api/v1/consents/state"


def record_choices(organization, email, choices, source="api"):
    from consents.services import record_consent

    record_consent(
        organization=organization,
        identifiers={"email": email},
        choices=choices,
        source=source,
        actor="test",
        jurisdiction="US-CA",
    )


@pytest.mark.django_db
def test_state_api_gives_gpp_and_us_privacy_for_a_us_subject_who_refused_sale(api, organization):
    record_choices(organization, "ada@example.com", {"sale_share": False})
    api.as_key(organization, "consents:read")
    body = api.get(STATE_URL, {"email": "ada@example.com", "jurisdiction": "US-CA"}).json()
    usnat = gpp.decode_gpp(body["gpp"]).sections[7]
    assert (usnat.SaleOptOut, usnat.SharingOptOut) == (1, 1)
    assert usnat.TargetedAdvertisingOptOut == 2  # opt-out default in the US, notice published
    assert usnat.SaleOptOutNotice == 1 and usnat.MspaCoveredTransaction == 2
    assert usnat.Gpc is None  # a server cannot see the browser's signal
    assert body["us_privacy"] == "1YYN"
    reference = run_reference([{"decode": body["gpp"]}])[0]["sections"]["usnat"]
    assert reference["SaleOptOut"] == 1 and reference["SharingOptOut"] == 1


@pytest.mark.django_db
def test_state_api_reports_a_gpc_opt_out_in_the_gpc_subsection(api, organization):
    record_choices(organization, "gpc@example.com", {"sale_share": False}, source="gpc")
    api.as_key(organization, "consents:read")
    body = api.get(STATE_URL, {"email": "gpc@example.com", "jurisdiction": "US"}).json()
    assert body["gpp"].endswith(".YA")
    assert gpp.decode_gpp(body["gpp"]).sections[7].Gpc is True


@pytest.mark.django_db
def test_state_api_outside_the_us_gives_no_usnat_and_a_not_applicable_us_privacy(api, organization):
    api.as_key(organization, "consents:read")
    body = api.get(STATE_URL, {"email": "new@example.com", "jurisdiction": "FR"}).json()
    assert body["gpp"] is None and body["us_privacy"] == "1---"


@pytest.mark.django_db
def test_state_api_uses_the_sites_mspa_settings_and_us_privacy_switch(api, organization):
    from tests.factories import SiteFactory

    SiteFactory(
        organization=organization,
        key="shop",
        mspa_covered_transaction=True,
        mspa_service_provider_mode=True,
        us_privacy_enabled=False,
    )
    api.as_key(organization, "consents:read")
    body = api.get(
        STATE_URL, {"email": "new@example.com", "jurisdiction": "US-VA", "site": "shop"}
    ).json()
    usnat = gpp.decode_gpp(body["gpp"]).sections[7]
    assert (
        usnat.MspaCoveredTransaction,
        usnat.MspaOptOutOptionMode,
        usnat.MspaServiceProviderMode,
    ) == (1, 2, 1)
    assert body["us_privacy"] is None


@pytest.mark.django_db
def test_state_api_rejects_a_site_of_another_organization(api, organization, other_organization):
    from tests.factories import SiteFactory

    SiteFactory(organization=other_organization, key="theirs")
    api.as_key(organization, "consents:read")
    response = api.get(
        STATE_URL, {"email": "a@example.com", "jurisdiction": "US", "site": "theirs"}
    )
    assert response.status_code == 400
    assert "site" in response.json()


# --- static/kaizen/gpp.js encodes the same bits ---------------------------------------------------

JS_ENCODER = """
const codec = require(process.argv[1]);
let input = "";
process.stdin.on("data", (chunk) => { input += chunk; });
process.stdin.on("end", () => {
  const answers = JSON.parse(input).map((c) => {
    const options = { noticeGiven: c.notice_given, gpc: c.gpc, mspa: c.mspa };
    const section = codec.usnatFromChoices(c.choices, options);
    return {
      gpp: codec.gppString(section),
      us_privacy: codec.usPrivacyFromChoices(c.choices, options),
      parsed: codec.subsections(section),
    };
  });
  process.stdout.write(JSON.stringify(answers));
});
"""


def test_browser_encoder_gives_the_same_strings_as_the_server_for_every_combination():
    import json
    import shutil
    import subprocess
    from pathlib import Path

    if shutil.which("node") is None:
        pytest.skip("node not installed: cannot run static/kaizen/gpp.js outside a browser")
    script = Path(__file__).resolve().parents[2] / "static" / "kaizen" / "gpp.js"
    cases = list(choice_combinations())
    payload = [
        {
            "choices": choices,
            "notice_given": notice,
            "gpc": gpc,
            "mspa": {
                "mspa_covered_transaction": mspa.covered_transaction,
                "mspa_opt_out_option_mode": mspa.opt_out_option_mode,
                "mspa_service_provider_mode": mspa.service_provider_mode,
            },
        }
        for choices, notice, gpc, mspa in cases
    ]
    completed = subprocess.run(
        ["node", "-e", JS_ENCODER, str(script)],
        input=json.dumps(payload),
        capture_output=True,
        text=True,
        check=True,
        timeout=60,
    )
    answers = json.loads(completed.stdout)
    for (choices, notice, gpc, mspa), answer in zip(cases, answers, strict=True):
        usnat = gpp.usnat_from_choices(choices, notice_given=notice, gpc=gpc, mspa=mspa)
        assert answer["gpp"] == gpp.gpp_string(usnat), (choices, notice, gpc, mspa)
        assert answer["parsed"] == usnat.subsections()
        expected_usp = gpp.us_privacy_from_choices(choices, notice_given=notice, gpc=gpc, mspa=mspa)
        assert answer["us_privacy"] == expected_usp
