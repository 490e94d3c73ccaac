import pytest
from django.db import connection
from rest_framework.test import APIClient

from tests.factories import NoticeFactory, OrganizationFactory, api_key_for, standard_purposes


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    engine = settings.DATABASES["default"]["ENGINE"]
    if "postgresql" in engine:
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL: set DATABASE_URL=postgres://...")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture(autouse=True)
def _fresh_cache():
    from django.core.cache import cache

    from consent_platform import memo

    cache.clear()
    memo.clear()
    yield
    cache.clear()
    memo.clear()


@pytest.fixture
def organization(db):
    org = OrganizationFactory(slug="acme", default_jurisdiction="DE")
    org.purpose_map = standard_purposes(org)
    org.notice = NoticeFactory(organization=org, version="2026-01")
    return org


@pytest.fixture
def other_organization(db):
    org = OrganizationFactory(slug="globex", default_jurisdiction="DE")
    org.purpose_map = standard_purposes(org)
    return org


@pytest.fixture
def api():
    """An API client; call api.as_key(org, scopes...) to authenticate."""

    class KeyClient(APIClient):
        def as_key(self, org, *scopes):
            raw = api_key_for(org, *scopes)
            self.credentials(HTTP_AUTHORIZATION=f"Bearer {raw}")
            return raw

    return KeyClient()


@pytest.fixture
def on_postgres():
    return connection.vendor == "postgresql"
