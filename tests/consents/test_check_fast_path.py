"""The plain check (consents.api.views.plain_check) answers exactly as CheckView does.

The common single check is served without DRF's per-request machinery and with a prepared
statement on PostgreSQL; these tests hold it to the full view's answers and show it is used.
"""

import json

import pytest
from django.db import connection

from consents.api import serializers as io
from consents.api import views
from consents.identifiers import hash_identifier
from consents.models import Suppression
from consents.services import record_consent

pytestmark = pytest.mark.django_db

VALID = {"purpose": "marketing_email", "identifier_type": "email"}
BODIES = [
    {**VALID, "identifiers": ["yes@example.com"]},
    {**VALID, "identifiers": ["  YES@Example.com "]},
    {**VALID, "identifiers": ["no@example.com", "unknown@example.com", "yes@example.com"]},
    {**VALID, "identifiers": ["gone@example.com"]},
    {**VALID, "identifiers": ["yes@example.com"], "jurisdiction": "US-CA"},
    {**VALID, "identifiers": ["yes@example.com"], "jurisdiction": ""},
    {**VALID, "identifiers": ["yes@example.com"], "extra": "ignored"},
    {"purpose": "sale_share", "identifier_type": "email", "identifiers": ["a@example.com"]},
    {"purpose": "analytics", "identifier_type": "user_id", "identifiers": ["user-1"]},
    {"purpose": "analytics", "identifier_type": "user_id", "identifiers": ["line\u2028sep"]},
    {"purpose": "analytics", "identifier_type": "user_id", "identifiers": ["caf\u00e9 \u6f22"]},
    {"purpose": "analytics", "identifier_type": "user_id", "identifiers": ["\ud800"]},
    # Everything below is the full view's to answer: errors and unusual shapes.
    {**VALID, "identifiers": ["not-an-address"]},
    {**VALID, "identifiers": []},
    {**VALID, "identifiers": "yes@example.com"},
    {**VALID, "identifiers": [7]},
    {**VALID, "identifiers": [""]},
    {**VALID, "identifiers": ["x" * 400 + "@example.com"]},
    {"purpose": "nope", "identifier_type": "email", "identifiers": ["yes@example.com"]},
    {"purpose": " marketing_email ", "identifier_type": "email", "identifiers": ["a@b.example"]},
    {"purpose": "marketing_email", "identifier_type": "fax", "identifiers": ["1"]},
    {"identifier_type": "email", "identifiers": ["yes@example.com"]},
    {**VALID, "identifiers": ["yes@example.com"], "jurisdiction": "far-too-long-code"},
    {**VALID, "identifiers": ["yes@example.com"], "jurisdiction": None},
    ["not", "an", "object"],
]


@pytest.fixture
def checked_org(organization):
    for email, granted in (("yes@example.com", True), ("no@example.com", False)):
        record_consent(
            organization=organization,
            identifiers={"email": email},
            choices={"marketing_email": granted},
            source="api",
            actor="test",
        )
    record_consent(
        organization=organization,
        identifiers={"user_id": "user-1"},
        choices={"analytics": True},
        source="api",
        actor="test",
    )
    Suppression.objects.create(
        organization=organization,
        kind="email",
        value_hash=hash_identifier(organization.identifier_secret, "email", "gone@example.com"),
    )
    return organization


def post(api, body, **headers):
    return api.generic(
        "POST", "/api/v1/checks", json.dumps(body), content_type="application/json", **headers
    )


def answer(response) -> tuple:
    return response.status_code, response["Content-Type"], response.content


@pytest.mark.parametrize("body", BODIES)
def test_plain_check_answers_as_the_full_view(api, checked_org, monkeypatch, body):
    api.as_key(checked_org, "consents:check")
    plain = answer(post(api, body))
    monkeypatch.setattr(views, "plain_check", lambda request: None)
    full = answer(post(api, body))
    assert plain == full


@pytest.mark.parametrize("body", [b for b in BODIES if isinstance(b, dict)])
def test_plain_input_is_the_serializers_input_or_nothing(body):
    plain = io.plain_check_input(body)
    serializer = io.CheckInput(data=body)
    if plain is not None:
        assert serializer.is_valid(), serializer.errors
        assert plain == dict(serializer.validated_data)
    elif serializer.is_valid():
        # Declined although valid: allowed (the full view answers), but only for shapes the
        # plain path does not claim, such as a purpose with spaces around it.
        assert body["purpose"] != body["purpose"].strip()


def test_common_check_never_reaches_drf_and_errors_still_do(api, checked_org, monkeypatch):
    api.as_key(checked_org, "consents:check")

    def full_view_reached(self, request):
        raise AssertionError("the full view answered")

    monkeypatch.setattr(views.CheckView, "post", full_view_reached)
    response = post(api, {**VALID, "identifiers": ["yes@example.com"]})
    assert response.json()["results"][0]["reason"] == "granted"
    with pytest.raises(AssertionError, match="full view"):
        post(api, {**VALID, "identifiers": ["not-an-address"]})


@pytest.mark.parametrize(
    "headers",
    [
        {},  # no key
        {"HTTP_AUTHORIZATION": "Bearer kzc_nothere_secret"},
        {"HTTP_AUTHORIZATION": "Token abc"},
    ],
)
def test_missing_or_bad_keys_get_the_full_views_401(api, checked_org, headers):
    response = post(api, {**VALID, "identifiers": ["yes@example.com"]}, **headers)
    assert response.status_code == 401
    assert "detail" in response.json()


def test_a_key_without_the_check_scope_is_refused(api, checked_org):
    api.as_key(checked_org, "consents:read")
    response = post(api, {**VALID, "identifiers": ["yes@example.com"]})
    assert response.status_code == 403


def test_other_accept_types_go_to_negotiation(api, checked_org):
    api.as_key(checked_org, "consents:check")
    response = post(api, {**VALID, "identifiers": ["yes@example.com"]}, HTTP_ACCEPT="text/csv")
    assert response.status_code == 406


def test_single_check_runs_a_prepared_statement_with_a_generic_plan(api, checked_org):
    if connection.vendor != "postgresql":
        pytest.skip("prepared statements are a PostgreSQL path")
    api.as_key(checked_org, "consents:check")
    for _ in range(8):  # PostgreSQL weighs custom against generic plans for five runs
        assert post(api, {**VALID, "identifiers": ["yes@example.com"]}).status_code == 200
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT generic_plans FROM pg_prepared_statements WHERE statement LIKE %s",
            ["%consents_subjectidentifier%"],
        )
        plans = [row[0] for row in cursor.fetchall()]
    assert plans and max(plans) > 0


VALID_TEXT = json.dumps({**VALID, "identifiers": ["yes@example.com"]})


@pytest.mark.parametrize(
    "raw",
    [
        VALID_TEXT.encode("utf-16"),
        VALID_TEXT.encode("utf-32"),
        b"\xef\xbb\xbf" + VALID_TEXT.encode(),  # a byte order mark
        VALID_TEXT.replace("yes@", "\\ud800yes@").encode(),
        VALID_TEXT.encode().replace(b"yes@", b"\xed\xa0\x80yes@"),  # not UTF-8
        b'{"purpose": "marketing_email", "identifier_type": "email", "identifiers": NaN}',
    ],
)
def test_odd_encodings_are_answered_as_the_full_view_answers(api, checked_org, monkeypatch, raw):
    api.as_key(checked_org, "consents:check")

    def send():
        return api.generic("POST", "/api/v1/checks", raw, content_type="application/json")

    plain = answer(send())
    monkeypatch.setattr(views, "plain_check", lambda request: None)
    assert plain == answer(send())
    assert plain[0] == 400


def test_accept_parameters_are_left_to_drf(api, checked_org, monkeypatch):
    api.as_key(checked_org, "consents:check")
    body = {**VALID, "identifiers": ["yes@example.com"]}
    plain = answer(post(api, body, HTTP_ACCEPT="application/json; indent=4"))
    monkeypatch.setattr(views, "plain_check", lambda request: None)
    assert plain == answer(post(api, body, HTTP_ACCEPT="application/json; indent=4"))
    assert b"\n    " in plain[2]
