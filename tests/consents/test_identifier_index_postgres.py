"""The identifier's unique index on PostgreSQL: it carries the subject id for index-only
look-ups, and still refuses a second identifier with the same value in an organization."""

import importlib

import pytest
from django.db import IntegrityError, connection, transaction

from consents.identifiers import hash_identifier
from consents.models import SubjectIdentifier
from consents.services import record_consent

pytestmark = [pytest.mark.postgres]

migration = importlib.import_module("consents.migrations.0006_identifier_index_carries_subject")


def constraint_definition() -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = %s",
            ["identifier_once_per_org"],
        )
        return cursor.fetchone()[0]


@pytest.mark.django_db
def test_the_unique_index_carries_the_subject_and_still_refuses_duplicates(organization):
    assert constraint_definition() == (
        "UNIQUE (organization_id, kind, value_hash) INCLUDE (subject_id)"
    )
    result = record_consent(
        organization=organization,
        identifiers={"email": "a@example.com"},
        choices={"analytics": True},
        source="api",
        actor="test",
    )
    value_hash = hash_identifier(organization.identifier_secret, "email", "a@example.com")
    with pytest.raises(IntegrityError), transaction.atomic():
        SubjectIdentifier.objects.create(
            organization=organization, subject=result.subject, kind="email", value_hash=value_hash
        )


@pytest.mark.django_db(transaction=True)
def test_the_migration_swaps_the_index_both_ways_under_the_same_name():
    with connection.schema_editor(atomic=False) as editor:
        migration.backwards(None, editor)
    assert constraint_definition() == "UNIQUE (organization_id, kind, value_hash)"
    with connection.schema_editor(atomic=False) as editor:
        migration.forwards(None, editor)
    assert constraint_definition() == (
        "UNIQUE (organization_id, kind, value_hash) INCLUDE (subject_id)"
    )
