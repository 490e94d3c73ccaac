"""The demo seed and the API-key command: what a newcomer and an integrator run first."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.test import override_settings

from consents.api.authentication import hash_key
from consents.models import ApiKey, ConsentEvent, Organization, Purpose
from consents.verification import verify_organization_ledger
from cookies.models import Site

pytestmark = pytest.mark.django_db

DEMO_PURPOSES = {
    "necessary",
    "functional",
    "analytics",
    "advertising",
    "marketing_email",
    "marketing_sms",
    "sale_share",
    "targeted_advertising",
    "profiling",
}


def test_seed_demo_is_idempotent_and_complete(capsys):
    call_command("seed_demo")
    counts = (ConsentEvent.objects.count(), Purpose.objects.count(), Site.objects.count())
    call_command("seed_demo")
    assert (ConsentEvent.objects.count(), Purpose.objects.count(), Site.objects.count()) == counts
    demo = Organization.objects.get(slug="demo")
    assert set(demo.purposes.values_list("key", flat=True)) >= DEMO_PURPOSES
    assert Site.objects.get(key="demo").organization == demo
    assert counts[0] > 0 and verify_organization_ledger(demo).ok
    assert "admin" in capsys.readouterr().out


def test_seed_demo_gives_the_admin_a_random_password_when_debug_is_off(capsys):
    """The published demo password must not open the admin of a server (DEBUG off)."""
    from django.contrib.auth import authenticate

    from consents.demo import DEMO_PASSWORD, DEMO_USERNAME

    call_command("seed_demo")
    out = capsys.readouterr().out
    assert authenticate(username=DEMO_USERNAME, password=DEMO_PASSWORD) is None
    password = out.split("password '")[1].split("'")[0]
    assert authenticate(username=DEMO_USERNAME, password=password) is not None
    call_command("seed_demo")  # a second run keeps the password it gave
    assert "password unchanged" in capsys.readouterr().out
    assert authenticate(username=DEMO_USERNAME, password=password) is not None


@override_settings(DEBUG=True)
def test_seed_demo_uses_the_published_password_locally(capsys):
    from django.contrib.auth import authenticate

    from consents.demo import DEMO_PASSWORD, DEMO_USERNAME

    call_command("seed_demo")
    assert DEMO_PASSWORD in capsys.readouterr().out
    assert authenticate(username=DEMO_USERNAME, password=DEMO_PASSWORD) is not None


def test_create_api_key_prints_the_raw_key_last_and_stores_only_its_hash(capsys, organization):
    call_command(
        "create_api_key",
        "--org",
        organization.slug,
        "--name",
        "crm",
        "--scopes",
        "consents:write,consents:check,events:export",
    )
    raw = capsys.readouterr().out.strip().splitlines()[-1]
    key = ApiKey.objects.get(name="crm")
    assert raw.startswith("kzc_") and raw not in str(key.__dict__)
    assert key.key_hash == hash_key(raw)
    assert sorted(key.scopes) == ["consents:check", "consents:write", "events:export"]


@pytest.mark.parametrize(
    "args, message",
    [
        (["--org", "nope", "--name", "x", "--scopes", "consents:write"], "No organization"),
        (["--org", "acme", "--name", "x", "--scopes", "consents:everything"], "Unknown scope"),
        (["--org", "acme", "--name", " ", "--scopes", "consents:write"], "--name"),
    ],
)
def test_create_api_key_refuses_bad_arguments(organization, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("create_api_key", *args)
    assert not ApiKey.objects.exists()


def test_the_demo_page_can_record_choices_where_the_server_runs(client, settings):
    """`make run PORT=8080`: the banner on the demo page posts from that origin."""
    settings.PUBLIC_BASE_URL = "http://127.0.0.1:8080"
    call_command("seed_demo")
    call_command("seed_demo")

    origins = Site.objects.get(key="demo").origin_list()
    assert origins.count("http://127.0.0.1:8080") == 1
    assert "http://127.0.0.1:8000" in origins
    response = client.post(
        "/api/v1/sites/demo/consents",
        '{"visitor_id": "Qm9vb2tzIGFyZSBncmVhdA", "choices": {"analytics": true}, '
        '"event_id": "k2JZ0c1mQ3uS8a0W1xYb4g"}',
        content_type="text/plain",
        HTTP_ORIGIN="http://127.0.0.1:8080",
    )
    assert response.status_code == 201
