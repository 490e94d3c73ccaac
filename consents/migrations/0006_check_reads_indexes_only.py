"""On PostgreSQL, the two unique indexes the check probes also carry what it reads (INCLUDE).

The check looks an identifier up by (organization, kind, value hash) and needs only its
subject id; then the subject's state for the purpose by (subject, purpose) and needs only
`granted` and `expires_at`. With those columns in the indexes, PostgreSQL answers from the
indexes alone (index-only scans) and reads neither table. For a bulk check of 10,000 addresses
against 1,000,000 subjects the query read about 31,000 pages from outside shared buffers
before, 15,000 with the identifier index alone, 120-210 with both, and ran in 60-75% of the
time (docs/benchmarks.md, fifth pass).

The price: a state update that changes `granted` or `expires_at` now writes new index entries
instead of a heap-only (HOT) tuple. Measured on the bench, a write that updates two states
cost the same database CPU within the noise.

Same constraint names and key columns, so uniqueness behaves as before. Each index is built
CONCURRENTLY and then swapped in under the constraint's name, so a large table keeps taking
writes while it builds. Django's model state is unchanged: Django would drop a unique
constraint with INCLUDE on SQLite, which has no covering indexes.
"""

from django.db import migrations

# table, constraint, key columns, columns carried
COVERED = (
    (
        "consents_subjectidentifier",
        "identifier_once_per_org",
        "organization_id, kind, value_hash",
        "subject_id",
    ),
    (
        "consents_consentstate",
        "one_state_per_purpose",
        "subject_id, purpose_id",
        "granted, expires_at",
    ),
)


def _swap(schema_editor, table: str, constraint: str, key: str, include: str) -> None:
    new_index = f"{constraint}_new"
    run = schema_editor.execute
    # A build interrupted earlier leaves an invalid index behind: start clean.
    run(f"DROP INDEX CONCURRENTLY IF EXISTS {new_index}", params=None)
    carried = f" INCLUDE ({include})" if include else ""
    run(f"CREATE UNIQUE INDEX CONCURRENTLY {new_index} ON {table} ({key}){carried}", params=None)
    run(
        f"ALTER TABLE {table} DROP CONSTRAINT {constraint}, "
        f"ADD CONSTRAINT {constraint} UNIQUE USING INDEX {new_index}",
        params=None,
    )


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table, constraint, key, include in COVERED:
            _swap(schema_editor, table, constraint, key, include)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        for table, constraint, key, _include in COVERED:
            _swap(schema_editor, table, constraint, key, "")


class Migration(migrations.Migration):
    atomic = False  # CREATE INDEX CONCURRENTLY cannot run in a transaction

    dependencies = [("consents", "0005_drop_indexes_covered_by_composites")]

    operations = [migrations.RunPython(forwards, backwards)]
