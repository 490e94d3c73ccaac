"""Make the consent ledger append-only in the database itself (PostgreSQL).

Why raw SQL: Django has no notion of triggers. UPDATE and DELETE on consents_consentevent are
refused unless the transaction opted in with `SET LOCAL kaizen.ledger_maintenance = 'on'`,
which only the retention and erasure code paths do (consents/retention.py).
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION kaizen_ledger_append_only() RETURNS trigger AS $$
BEGIN
    IF coalesce(current_setting('kaizen.ledger_maintenance', true), '') = 'on' THEN
        IF TG_OP = 'DELETE' THEN RETURN OLD; END IF;
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'consent ledger is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER consentevent_append_only
    BEFORE UPDATE OR DELETE ON consents_consentevent
    FOR EACH ROW EXECUTE FUNCTION kaizen_ledger_append_only();
"""

DROP = """
DROP TRIGGER IF EXISTS consentevent_append_only ON consents_consentevent;
DROP FUNCTION IF EXISTS kaizen_ledger_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE, params=None)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP, params=None)


class Migration(migrations.Migration):
    dependencies = [("consents", "0002_initial")]

    operations = [migrations.RunPython(forwards, backwards)]
