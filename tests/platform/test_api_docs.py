"""The API docs work offline and under our Content-Security-Policy."""

import pytest

pytestmark = pytest.mark.django_db


def test_docs_page_loads_swagger_from_our_own_static_files(client):
    response = client.get("/api/docs/")
    assert response.status_code == 200
    html = response.content.decode()
    assert "/static/drf_spectacular_sidecar/swagger-ui-dist/swagger-ui-bundle.js" in html
    assert "cdn" not in html.lower()
    csp = response["Content-Security-Policy"]
    nonce = csp.split("'nonce-")[1].split("'")[0]
    assert f'<style nonce="{nonce}">' in html
    assert "<script>" not in html  # no inline script: the initializer is a separate file


def test_docs_initializer_script_and_schema_are_served(client):
    script = client.get("/api/docs/", {"script": ""})
    assert script.status_code == 200 and "SwaggerUIBundle" in script.content.decode()
    schema = client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert schema.status_code == 200
    spec = schema.json()
    assert "/api/v1/checks" in spec["paths"]
    assert spec["components"]["securitySchemes"]["ApiKey"]["scheme"] == "bearer"


def schema_of(client) -> dict:
    return client.get("/api/schema/", HTTP_ACCEPT="application/json").json()


def test_an_event_has_the_fields_the_schema_describes(client, api, organization):
    from consents.services import record_consent

    record_consent(
        organization=organization,
        identifiers={"email": "a@example.com"},
        choices={"analytics": True},
        source="api",
        actor="test",
    )
    event_schema = schema_of(client)["components"]["schemas"]["EventOutput"]
    api.as_key(organization, "events:read")
    event = api.get("/api/v1/events").json()["results"][0]
    assert set(event) == set(event_schema["properties"]) == set(event_schema["required"])


def test_the_export_schema_offers_no_pagination_the_export_refuses(client, api, organization):
    operation = schema_of(client)["paths"]["/api/v1/events/export"]["get"]
    names = {parameter["name"] for parameter in operation["parameters"]}
    assert {"since", "until", "purpose", "site", "format", "email"} <= names
    assert not names & {"after", "limit"}
    api.as_key(organization, "events:export")
    for name in ("after", "limit"):
        response = api.get("/api/v1/events/export", {name: "5"})
        assert response.status_code == 400 and name in response.json()
