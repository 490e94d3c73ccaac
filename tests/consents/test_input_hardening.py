"""Outside input that used to be accepted silently or to crash: now a clear 400 or 409, with
nothing written. Each case was once a wrong answer, a wrong ledger row or a 500."""

import json

import pytest

from consents.models import ConsentEvent, IdempotencyRecord

CHECK = {"purpose": "analytics", "identifier_type": "email", "identifiers": ["new@example.com"]}


def post_json(api, path, body, **headers):
    return api.post(path, data=json.dumps(body), content_type="application/json", **headers)


def consent(**overrides):
    return {"subject": {"email": "ada@example.com"}, "choices": {"analytics": True}, **overrides}


@pytest.mark.parametrize("jurisdiction", ["DEU", "Germany", "1", "D", "US-CALIF"])
def test_a_check_with_an_unknown_jurisdiction_is_refused(api, organization, jurisdiction):
    api.as_key(organization, "consents:check")
    response = post_json(api, "/api/v1/checks", {**CHECK, "jurisdiction": jurisdiction})
    assert response.status_code == 400
    assert "ISO 3166" in response.json()["jurisdiction"][0]


def test_a_check_accepts_codes_in_any_case_and_blank(api, organization):
    api.as_key(organization, "consents:check")
    answers = [
        post_json(api, "/api/v1/checks", {**CHECK, "jurisdiction": value}).json()
        for value in ("us-ca", "US-CA", " US-CA ")
    ]
    assert answers[0] == answers[1] == answers[2]
    assert answers[0]["results"][0]["reason"] == "default_opt_out"  # analytics is opt-out in US
    blank = post_json(api, "/api/v1/checks", {**CHECK, "jurisdiction": ""}).json()
    assert blank["results"][0]["reason"] == "no_record"  # the organization's default, DE


def test_a_consent_with_an_unknown_jurisdiction_writes_nothing(api, organization):
    api.as_key(organization, "consents:write")
    response = post_json(api, "/api/v1/consents", consent(jurisdiction="DEU"))
    assert response.status_code == 400 and "jurisdiction" in response.json()
    assert not ConsentEvent.objects.exists()
    recorded = post_json(api, "/api/v1/consents", consent(jurisdiction="us-ca"))
    assert recorded.status_code == 201
    assert ConsentEvent.objects.get().jurisdiction == "US-CA"


@pytest.mark.parametrize("path", ["/api/v1/consents/state", "/api/v1/subjects/proof"])
def test_state_and_proof_refuse_an_unknown_jurisdiction(api, organization, path):
    api.as_key(organization, "consents:write", "consents:read", "events:read")
    post_json(api, "/api/v1/consents", consent())
    response = api.get(path, {"email": "ada@example.com", "jurisdiction": "Germany"})
    assert response.status_code == 400 and "jurisdiction" in response.json()
    assert api.get(path, {"email": "ada@example.com", "jurisdiction": "de"}).status_code == 200


@pytest.mark.parametrize(
    "changed",
    [{"jurisdiction": "US-CA"}, {"occurred_at": "2026-11-01T00:00:00Z"}],
)
def test_an_idempotency_key_reused_with_another_jurisdiction_or_time_is_a_conflict(
    api, organization, changed
):
    api.as_key(organization, "consents:write")
    key = {"HTTP_IDEMPOTENCY_KEY": "k-0001"}
    first = post_json(api, "/api/v1/consents", consent(jurisdiction="DE"), **key)
    again = post_json(api, "/api/v1/consents", consent(jurisdiction="DE"), **key)
    other = post_json(api, "/api/v1/consents", consent(**{"jurisdiction": "DE", **changed}), **key)
    assert (first.status_code, again.status_code, other.status_code) == (201, 200, 409)
    assert ConsentEvent.objects.count() == 1


@pytest.mark.parametrize("path", ["/api/v1/consents", "/api/v1/checks"])
def test_json_nested_too_deeply_is_a_400(api, organization, path):
    api.as_key(organization, "consents:write", "consents:check")
    body = "[" * 1100 + "]" * 1100
    response = api.post(path, data=body, content_type="application/json")
    assert response.status_code == 400
    assert "nested too deeply" in response.json()["detail"]


@pytest.mark.parametrize("key", ["\ud800", "analytics\u0000", "x" * 65])
def test_a_choice_key_no_purpose_can_have_is_a_field_error(api, organization, key):
    api.as_key(organization, "consents:write")
    raw = json.dumps(consent(choices={key: True}))  # escapes the lone surrogate as \ud800
    response = api.post("/api/v1/consents", data=raw, content_type="application/json")
    assert response.status_code == 400
    [shown] = response.json()["choices"]
    assert "Unknown purpose" in response.json()["choices"][shown][0]
    assert not ConsentEvent.objects.exists() and not IdempotencyRecord.objects.exists()


def test_export_names_the_parameter_that_exports_do_not_take(api, organization):
    api.as_key(organization, "events:export")
    for name in ("limit", "after"):
        response = api.get("/api/v1/events/export", {name: "5"})
        assert response.status_code == 400
        assert response.json() == {name: ["Exports are not paginated."]}
