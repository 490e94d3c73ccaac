"""The check's input fast paths answer exactly as the general validators did."""

import hashlib
import hmac

import pytest
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from consents.identifiers import hash_identifier, hash_identifiers, normalize_identifier

pytestmark = pytest.mark.django_db

ADDRESSES = [
    "ada@example.com",
    "a.b-c+tag@sub.example.co.uk",
    "x@localhost",
    '"quoted local"@example.com',
    "user@[192.0.2.1]",
    "user@[300.0.0.1]",
    "user@münchen.de",
    "üser@example.com",
    "a..b@example.com",
    ".a@example.com",
    "a@-example.com",
    "a@example-.com",
    "a@example",
    "a@example.c",
    "a@example.123",
    "a@@example.com",
    "no-at-sign",
    "a@exa mple.com",
    "a@" + "x" * 64 + ".com",
    "a@" + "x" * 63 + ".com",
    "!#$%&'*+/=?^_`{}|~@example.com",
]


def django_accepts(value: str) -> bool:
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


def we_accept(value: str) -> bool:
    try:
        normalize_identifier("email", value)
    except ValidationError:
        return False
    return True


@pytest.mark.parametrize("address", ADDRESSES)
def test_email_check_agrees_with_django(address):
    assert we_accept(address) == django_accepts(address.strip().lower())


def test_identifier_hash_is_the_hmac_of_kind_and_value():
    expected = hmac.new(b"secret", b"email:ada@example.com", hashlib.sha256).hexdigest()
    assert hash_identifier("secret", "email", "ada@example.com") == expected


def test_many_identifiers_hash_as_each_would_alone():
    values = ["ada@example.com", "üser@example.com", "+4915112345678", "", "x" * 300]
    for kind in ("email", "phone", "user_id"):
        assert hash_identifiers("s3cret-ü", kind, values) == [
            hash_identifier("s3cret-ü", kind, value) for value in values
        ]


def test_numbers_are_checked_as_user_ids_and_other_types_refused(api, organization):
    api.as_key(organization, "consents:check")
    ok = api.post(
        "/api/v1/checks",
        {"purpose": "marketing_email", "identifier_type": "user_id", "identifiers": [42, "7"]},
        format="json",
    )
    assert ok.status_code == 200
    assert [r["identifier"] for r in ok.json()["results"]] == ["42", "7"]
    bad = api.post(
        "/api/v1/checks",
        {
            "purpose": "marketing_email",
            "identifier_type": "user_id",
            "identifiers": ["fine", {"a": 1}, True, "", "x" * 321],
        },
        format="json",
    )
    assert bad.status_code == 400
    assert set(bad.json()["identifiers"]) == {"1", "2", "3", "4"}


def test_suppressions_answer_in_the_same_query_as_states(api, organization):
    from consents.identifiers import identifier_hash
    from consents.services import record_consent
    from tests.factories import SuppressionFactory

    for email in ("granted@example.com", "topic@example.com", "other@example.com"):
        record_consent(
            organization=organization,
            identifiers={"email": email},
            choices={"marketing_email": True},
            source="api",
            actor="test",
        )

    def suppress(email, purpose_key=""):
        SuppressionFactory(
            organization=organization,
            value_hash=identifier_hash(organization.identifier_secret, "email", email),
            purpose_key=purpose_key,
        )

    suppress("granted@example.com")
    suppress("never-seen@example.com")
    suppress("topic@example.com", "marketing_email")
    suppress("other@example.com", "marketing_sms")
    api.as_key(organization, "consents:check")
    emails = [
        "granted@example.com",
        "never-seen@example.com",
        "topic@example.com",
        "other@example.com",
        "unknown@example.com",
    ]
    response = api.post(
        "/api/v1/checks",
        {"purpose": "marketing_email", "identifier_type": "email", "identifiers": emails},
        format="json",
    )
    reasons = [r["reason"] for r in response.json()["results"]]
    assert reasons == ["suppressed", "suppressed", "suppressed", "granted", "no_record"]


def test_a_changed_purpose_applies_to_the_next_check(api, organization):
    api.as_key(organization, "consents:check")
    body = {
        "purpose": "analytics",
        "identifier_type": "email",
        "identifiers": ["a@example.com"],
        "jurisdiction": "DE",
    }
    first = api.post("/api/v1/checks", body, format="json").json()["results"][0]
    assert first["reason"] == "no_record"
    purpose = organization.purposes.get(key="analytics")
    purpose.mode_eu = "opt_out"
    purpose.save()
    second = api.post("/api/v1/checks", body, format="json").json()["results"][0]
    assert second["reason"] == "default_opt_out" and second["allowed"]
    purpose.delete()
    assert api.post("/api/v1/checks", body, format="json").status_code == 400


@pytest.mark.parametrize(
    "written",
    [
        "+44 20 7946 0958",
        "+44 (0)20 7946 0958",
        "+44(0)2079460958",
        "0044 (0) 20 7946 0958",
        "+44 ٢٠ ٧٩٤٦ ٠٩٥٨",  # Arabic-Indic digits
        "＋４４ ２０ ７９４６ ０９５８",  # full-width
        "+۴۴ ۲۰ ۷۹۴۶ ۰۹۵۸",  # Persian digits
    ],
)
def test_one_phone_number_written_in_several_ways_is_one_identifier(written):
    assert normalize_identifier("phone", written) == "+442079460958"


@pytest.mark.parametrize("written", ["+39 06 6988 3111", "+39 (06) 6988 3111"])
def test_a_leading_zero_that_belongs_to_the_number_is_kept(written):
    # Italy dials the 0 from abroad too; only a bracketed "(0)" is a trunk prefix.
    assert normalize_identifier("phone", written) == "+390669883111"


@pytest.mark.parametrize("written", ["+44 ²⁰ 7946 0958", "+44 (1)20 7946 0958x"])
def test_digits_that_are_not_decimal_digits_are_refused(written):
    with pytest.raises(ValidationError):
        normalize_identifier("phone", written)


def test_an_address_with_a_punycode_domain_is_the_address_people_type():
    typed = normalize_identifier("email", "Ada@Bücher.de")
    assert typed == "ada@bücher.de"
    assert normalize_identifier("email", "ada@XN--BCHER-KVA.de") == typed
    assert normalize_identifier("email", "ada@mail.xn--bcher-kva.de") == "ada@mail.bücher.de"
    assert normalize_identifier("email", "xn--ada@example.com") == "xn--ada@example.com"
