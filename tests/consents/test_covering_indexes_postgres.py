"""The unique indexes the check probes, on PostgreSQL: they carry the columns the check reads
(so it can answer from the indexes alone) and still refuse duplicates."""

import importlib

import pytest
from django.db import IntegrityError, connection, transaction

from consents.identifiers import hash_identifier
from consents.models import ConsentState, SubjectIdentifier
from consents.services import record_consent

pytestmark = [pytest.mark.postgres]

migration = importlib.import_module("consents.migrations.0006_check_reads_indexes_only")

COVERED = {
    "identifier_once_per_org": "UNIQUE (organization_id, kind, value_hash) INCLUDE (subject_id)",
    "one_state_per_purpose": "UNIQUE (subject_id, purpose_id) INCLUDE (granted, expires_at)",
}
PLAIN = {
    "identifier_once_per_org": "UNIQUE (organization_id, kind, value_hash)",
    "one_state_per_purpose": "UNIQUE (subject_id, purpose_id)",
}


def constraint_definitions() -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint WHERE conname = ANY(%s)",
            [list(COVERED)],
        )
        return dict(cursor.fetchall())


@pytest.mark.django_db
def test_the_indexes_carry_what_the_check_reads_and_still_refuse_duplicates(organization):
    assert constraint_definitions() == COVERED
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
    state = result.states[0]
    with pytest.raises(IntegrityError), transaction.atomic():
        ConsentState.objects.create(
            organization=organization,
            subject=result.subject,
            purpose=state.purpose,
            granted=False,
            event=state.event,
            source="api",
            decided_at=state.decided_at,
        )


@pytest.mark.django_db(transaction=True)
def test_the_migration_swaps_the_indexes_both_ways_under_the_same_names():
    with connection.schema_editor(atomic=False) as editor:
        migration.backwards(None, editor)
    assert constraint_definitions() == PLAIN
    with connection.schema_editor(atomic=False) as editor:
        migration.forwards(None, editor)
    assert constraint_definitions() == COVERED
