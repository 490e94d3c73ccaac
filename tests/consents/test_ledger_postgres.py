"""Append-only and concurrency guarantees of the ledger, on real PostgreSQL connections."""

import json
import os
import subprocess
import sys
import threading

import psycopg
import pytest
from django.db import connection, transaction
from django.db.utils import InternalError, ProgrammingError

from consents.identifiers import hash_identifier
from consents.models import ConsentEvent, ConsentState, DataSubject
from consents.services import record_consent
from consents.verification import verify_organization_ledger

pytestmark = [pytest.mark.postgres]


def conninfo() -> str:
    settings = connection.settings_dict
    return psycopg.conninfo.make_conninfo(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"] or None,
        host=settings["HOST"] or None,
        port=settings["PORT"] or None,
    )


@pytest.mark.django_db
def test_database_refuses_update_and_delete_of_ledger_rows(organization):
    record_consent(
        organization=organization,
        identifiers={"email": "a@example.com"},
        choices={"analytics": True},
        source="api",
        actor="test",
    )
    event_id = ConsentEvent.objects.get().pk
    for statement in (
        "UPDATE consents_consentevent SET granted = false WHERE id = %s",
        "DELETE FROM consents_consentevent WHERE id = %s",
    ):
        with (
            pytest.raises((InternalError, ProgrammingError)) as refused,
            transaction.atomic(),
            connection.cursor() as cursor,
        ):
            cursor.execute(statement, [event_id])
        assert "append-only" in str(refused.value)
    assert ConsentEvent.objects.get().granted is True


@pytest.mark.django_db(transaction=True)
def test_concurrent_writers_for_one_subject_lose_nothing_and_chain_verifies(organization):
    workers, per_worker = 4, 15
    settings = connection.settings_dict
    env = {
        **os.environ,
        "DATABASE_URL": f"postgres://{settings['USER']}@{settings['HOST']}:"
        f"{settings['PORT']}/{settings['NAME']}",
    }
    processes = [
        subprocess.Popen(
            [
                sys.executable,
                "-m",
                "tests.ledger_writer",
                str(organization.pk),
                str(w),
                str(per_worker),
            ],
            env=env,
        )
        for w in range(workers)
    ]
    assert [p.wait(timeout=120) for p in processes] == [0] * workers
    events = ConsentEvent.objects.filter(organization=organization)
    assert events.count() == workers * per_worker * 2
    seqs = sorted(events.values_list("seq", flat=True))
    assert seqs == list(range(1, workers * per_worker * 2 + 1))
    report = verify_organization_ledger(organization)
    assert report.ok, report.problems
    last = events.filter(purpose__key="marketing_email").order_by("-id").first()
    state = ConsentState.objects.get(purpose__key="marketing_email")
    assert state.event_id == last.pk and state.granted == last.granted


@pytest.mark.django_db(transaction=True)
def test_tampering_with_a_stored_value_is_detected(organization):
    for email in ("a@example.com", "b@example.com"):
        record_consent(
            organization=organization,
            identifiers={"email": email},
            choices={"analytics": True, "marketing_email": True},
            source="api",
            actor="t",
        )
    assert verify_organization_ledger(organization).ok
    victim = ConsentEvent.objects.filter(purpose__key="marketing_email").order_by("id").first()
    # An attacker with database access switches the trigger's guard off and edits a row.
    with psycopg.connect(conninfo(), autocommit=False) as raw:
        raw.execute("SET LOCAL kaizen.ledger_maintenance = 'on'")
        raw.execute("UPDATE consents_consentevent SET granted = false WHERE id = %s", [victim.pk])
        raw.commit()
    report = verify_organization_ledger(organization)
    assert not report.ok
    assert report.problems[0].kind == "edited" and report.problems[0].event_id == victim.pk


@pytest.mark.django_db(transaction=True)
def test_a_new_identifier_linked_concurrently_joins_that_subject_and_leaves_no_orphan(
    organization,
):
    """Another request creates the subject for an address while this one is creating it too:
    this one waits, finds the other's subject once it commits, and appends to its chain."""
    email = "race@example.com"
    value_hash = hash_identifier(organization.identifier_secret, "email", email)
    other = psycopg.connect(conninfo())
    subject_id = other.execute(
        "INSERT INTO consents_datasubject (organization_id, uid, created_at, chain_length,"
        " chain_head_hash, chain_anchor_seq, chain_anchor_hash, is_identified,"
        " last_activity_at) VALUES (%s, gen_random_uuid(), now(), 0, '', 0, '', true, now())"
        " RETURNING id",
        [organization.pk],
    ).fetchone()[0]
    other.execute(
        "INSERT INTO consents_subjectidentifier (organization_id, subject_id, kind, value_hash,"
        " created_at) VALUES (%s, %s, 'email', %s, now())",
        [organization.pk, subject_id, value_hash],
    )
    outcome = {}

    def write():
        try:
            outcome["result"] = record_consent(
                organization=organization,
                identifiers={"email": email},
                choices={"marketing_email": True},
                source="api",
                actor="test",
            )
        except Exception as exc:  # noqa: BLE001  (reported below)
            outcome["error"] = exc
        finally:
            connection.close()

    writer = threading.Thread(target=write)
    writer.start()
    writer.join(timeout=1)
    assert writer.is_alive(), "the write should wait for the other transaction's identifier"
    other.commit()
    other.close()
    writer.join(timeout=30)
    assert "error" not in outcome, outcome.get("error")
    assert outcome["result"].subject.pk == subject_id
    assert list(DataSubject.objects.values_list("pk", flat=True)) == [subject_id]
    event = ConsentEvent.objects.get()
    assert (event.subject_id, event.seq) == (subject_id, 1)


def lower_id_commits_last(organization) -> threading.Thread:
    """Writer "slow" takes the lower id and holds its transaction open; writer "fast" commits
    a higher id meanwhile; "slow" commits a second later. Join the returned thread."""
    inserted, release = threading.Event(), threading.Event()

    def slow_writer():
        try:
            with transaction.atomic():
                record_consent(
                    organization=organization,
                    identifiers={"email": "a@example.com"},
                    choices={"analytics": True},
                    source="api",
                    actor="slow",
                )
                inserted.set()
                release.wait(10)
        finally:
            connection.close()

    thread = threading.Thread(target=slow_writer)
    thread.start()
    assert inserted.wait(10)
    record_consent(
        organization=organization,
        identifiers={"email": "b@example.com"},
        choices={"analytics": True},
        source="api",
        actor="fast",
    )
    threading.Timer(1.0, release.set).start()
    return thread


@pytest.mark.django_db(transaction=True)
def test_an_export_waits_for_an_event_whose_transaction_is_still_open(organization):
    """Writer A takes the lower id and commits late; writer B commits first. The export must
    hold A's event, not report `complete` without it."""
    from consents.exports import LedgerExport, organization_events

    thread = lower_id_commits_last(organization)
    export = LedgerExport(
        organization=organization, events=organization_events(organization), filters={}
    )
    lines = b"".join(export.chunks()).decode().splitlines()
    thread.join(10)
    assert sorted(json.loads(line)["actor"] for line in lines) == ["fast", "slow"]
    assert export.manifest["rows"] == 2 and export.manifest["complete"] is True


def wait_for_a_lock_wait(timeout: float = 10.0) -> None:
    """Until some connection of this database waits for a lock another one holds."""
    import time

    deadline = time.monotonic() + timeout
    with psycopg.connect(conninfo(), autocommit=True) as watcher:
        while time.monotonic() < deadline:
            waiting = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity"
                " WHERE wait_event_type = 'Lock' AND datname = current_database()"
            ).fetchone()[0]
            if waiting:
                return
            time.sleep(0.02)
    raise AssertionError("no connection ever waited for a lock")


def in_thread(work) -> threading.Thread:
    """Run `work` on its own database connection, as another request would."""

    def run():
        try:
            work()
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    return thread


def decide(organization, identifiers, actor="t", **choices):
    return record_consent(
        organization=organization,
        identifiers=identifiers,
        choices=choices,
        source="api",
        actor=actor,
    ).subject


@pytest.mark.django_db(transaction=True)
def test_a_write_that_waited_for_its_subject_follows_an_identifier_moved_meanwhile(
    organization,
):
    """B reads address → S1 and waits for S1's lock; meanwhile A links the address to S2 and
    commits. B's later opt-out must land where the address now points, or checks would go
    on answering A's grant."""
    from consents.selectors import subject_by_identifier

    email = "moved@example.com"
    first = decide(organization, {"email": email}, marketing_email=True)
    person = decide(organization, {"user_id": "u-1"}, analytics=True)
    # B is slow between reading and locking: a no-key lock on S1 holds it there, and lets A
    # link the address (its record of the move only needs S1 to exist).
    holder = psycopg.connect(conninfo())
    holder.execute("SELECT 1 FROM consents_datasubject WHERE id = %s FOR NO KEY UPDATE", [first.pk])
    late = in_thread(lambda: decide(organization, {"email": email}, "late", marketing_email=False))
    wait_for_a_lock_wait()
    decide(organization, {"user_id": "u-1", "email": email}, "link", marketing_email=True)
    holder.rollback()
    holder.close()
    late.join(10)

    assert subject_by_identifier(organization, "email", email).pk == person.pk
    state = ConsentState.objects.get(subject=person, purpose__key="marketing_email")
    assert (state.granted, state.event.actor) == (False, "late")
    assert verify_organization_ledger(organization).ok


def hold_a_write_open(organization, identifiers, release, actor="late", **choices):
    """A write whose transaction stays open (its subject locked) until `release` is set."""
    written = threading.Event()

    def work():
        with transaction.atomic():
            decide(organization, identifiers, actor, **choices)
            written.set()
            release.wait(10)

    thread = in_thread(work)
    assert written.wait(10)
    return thread


def retention_during_a_write(organization, identifiers, **choices):
    """Retention's report when it runs while a write for `identifiers` is still open: it
    chooses its rows before the write commits and reaches them after."""
    from consents.retention import apply_retention

    release, reports = threading.Event(), []
    writer = hold_a_write_open(organization, identifiers, release, **choices)
    retention = in_thread(lambda: reports.append(apply_retention(organization)))
    wait_for_a_lock_wait()
    release.set()
    writer.join(10)
    retention.join(10)
    return reports[0]


@pytest.mark.django_db(transaction=True)
def test_retention_keeps_a_visitor_who_decides_while_it_runs(organization):
    from datetime import timedelta

    from django.utils import timezone

    visitor = {"visitor_id": "visitor-0123456789abcdef"}
    subject = decide(organization, visitor, analytics=True)
    old = timezone.now() - timedelta(days=organization.anonymous_event_retention_days + 30)
    DataSubject.objects.filter(pk=subject.pk).update(last_activity_at=old)
    report = retention_during_a_write(organization, visitor, analytics=False)

    assert report.subjects_deleted == 0
    assert ConsentEvent.objects.filter(subject=subject, actor="late").exists()
    assert verify_organization_ledger(organization).ok


@pytest.mark.django_db(transaction=True)
def test_a_marketing_lapse_spares_a_grant_made_while_retention_runs(organization):
    from datetime import timedelta

    from django.utils import timezone

    person = {"email": "still@example.com"}
    subject = decide(organization, person, marketing_email=True)
    old = timezone.now() - timedelta(days=organization.marketing_retention_days + 30)
    DataSubject.objects.filter(pk=subject.pk).update(last_activity_at=old)
    report = retention_during_a_write(organization, person, marketing_email=True, analytics=True)

    assert report.marketing_lapsed == 0
    state = ConsentState.objects.get(subject=subject, purpose__key="marketing_email")
    assert state.granted is True


def erase_while_a_write_is_open(organization, email, identifiers, **choices):
    """Erase `email` while a write for `identifiers` holds its transaction open: the erasure
    starts before the write commits and finishes after."""
    from consents.retention import erase_subject

    release = threading.Event()
    writer = hold_a_write_open(organization, identifiers, release, **choices)
    erasure = in_thread(
        lambda: erase_subject(organization, kind="email", value=email, performed_by="t")
    )
    wait_for_a_lock_wait()
    release.set()
    writer.join(10)
    erasure.join(10)
    assert not erasure.is_alive()


def events_with_personal_data(subject):
    return ConsentEvent.objects.filter(subject=subject).exclude(ip_truncated=None).count()


@pytest.mark.django_db(transaction=True)
def test_an_erasure_reaches_a_browser_linked_to_the_person_while_it_waits(organization):
    """The person signs in on a browser (its visitor id moves to them) while their erasure
    waits for their lock: the browser's history is theirs and is erased too."""
    email, visitor = "erase-me@example.com", {"visitor_id": "visitor-erase-0123456789"}
    browser = record_consent(
        organization=organization,
        identifiers=visitor,
        choices={"analytics": True},
        source="api",
        actor="t",
        ip="192.0.2.7",
        user_agent="UA",
    ).subject
    decide(organization, {"email": email}, marketing_email=True)
    erase_while_a_write_is_open(organization, email, {"email": email, **visitor}, analytics=True)

    assert events_with_personal_data(browser) == 0
    assert DataSubject.objects.get(pk=browser.pk).erased_at is not None
    assert verify_organization_ledger(organization).ok


@pytest.mark.django_db(transaction=True)
def test_an_erasure_follows_an_address_linked_to_another_subject_while_it_runs(organization):
    """The address moves to the person's account (another subject) while its erasure runs:
    the erasure reaches the subject the address now names, not only the one it named."""
    from consents.selectors import subject_by_identifier

    email = "moving@example.com"
    decide(organization, {"email": email}, marketing_email=True)
    person = record_consent(
        organization=organization,
        identifiers={"user_id": "u-erase"},
        choices={"analytics": True},
        source="api",
        actor="t",
        ip="192.0.2.8",
        user_agent="UA",
    ).subject
    erase_while_a_write_is_open(
        organization, email, {"user_id": "u-erase", "email": email}, marketing_email=True
    )

    assert subject_by_identifier(organization, "email", email) is None
    assert events_with_personal_data(person) == 0
    assert not ConsentState.objects.filter(subject=person).exists()


@pytest.mark.django_db(transaction=True)
def test_a_client_paging_the_events_never_steps_past_an_event_still_being_written(organization):
    """Writer A takes the lower id and commits late; writer B commits first. A page read in
    between must not hand out B's id as the cursor while A's event is still to come: it
    answers 503 at once (retry) rather than hold the ledger's writes back while it waits."""
    import time

    from rest_framework.test import APIClient

    from tests.factories import api_key_for

    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Bearer {api_key_for(organization, 'events:read')}")
    thread = lower_id_commits_last(organization)
    started = time.monotonic()
    busy = client.get("/api/v1/events")
    assert (busy.status_code, busy["Retry-After"]) == (503, "1")
    assert busy.json()["code"] == "ledger_busy"
    assert time.monotonic() - started < 0.9  # before the open write commits
    thread.join(10)
    page = client.get("/api/v1/events").json()["results"]
    assert sorted(e["actor"] for e in page) == ["fast", "slow"]
    later = client.get("/api/v1/events", {"after": page[-1]["id"]}).json()["results"]
    assert later == []
