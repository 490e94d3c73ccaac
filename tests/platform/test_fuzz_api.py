"""Fuzz the API from its own OpenAPI schema: no 5xx, every response matches the schema.

Bounded (examples per operation, no deadline) so the suite stays fast; run with more examples
locally by setting FUZZ_EXAMPLES.
"""

import os

import pytest
import schemathesis
from django.core import signals
from django.db import close_old_connections
from hypothesis import HealthCheck, settings
from schemathesis import checks

from consent_platform.wsgi import application

schema = schemathesis.openapi.from_wsgi("/api/schema/", application)
EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "12"))


@pytest.fixture
def keep_test_connection():
    """Calls go straight to the WSGI app: keep it from closing the test's database connection
    at the end of each request (Django's own test client does the same)."""
    signals.request_started.disconnect(close_old_connections)
    signals.request_finished.disconnect(close_old_connections)
    yield
    signals.request_started.connect(close_old_connections)
    signals.request_finished.connect(close_old_connections)


@pytest.fixture
def all_scopes_key(organization, keep_test_connection):
    from consents.models import ApiKey
    from tests.factories import api_key_for

    return api_key_for(organization, *ApiKey.Scope.values)


@pytest.mark.django_db
@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    deadline=None,
    # CI replays the same examples (a landing is not a lottery); local runs explore anew.
    derandomize=os.environ.get("CI") == "true",
    suppress_health_check=[
        HealthCheck.function_scoped_fixture,
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
    ],
)
def test_api_never_fails_and_matches_its_schema(case, all_scopes_key):
    case.call_and_validate(
        headers={"Authorization": f"Bearer {all_scopes_key}"},
        checks=[
            checks.not_a_server_error,
            checks.status_code_conformance,
            checks.content_type_conformance,
            checks.response_schema_conformance,
            checks.response_headers_conformance,
        ],
    )
