"""The write path's lean statements store and read what the ORM would, on either database."""

from datetime import UTC, datetime

import pytest

from consents import rows
from consents.models import DataSubject, IdempotencyRecord, SubjectIdentifier

pytestmark = pytest.mark.django_db


def test_insert_sets_keys_in_order_and_stores_every_field_as_the_orm_reads_it(organization):
    when = datetime(2026, 11, 27, 7, 30, 15, 123456, tzinfo=UTC)
    subjects = [
        DataSubject(organization=organization, is_identified=flag, created_at=when)
        for flag in (True, False, True)
    ]
    rows.insert(subjects)
    assert all(s.pk and not s._state.adding for s in subjects)
    for subject in subjects:
        stored = DataSubject.objects.get(pk=subject.pk)
        assert (stored.uid, stored.is_identified, stored.created_at) == (
            subject.uid,
            subject.is_identified,
            when,
        )
    record = IdempotencyRecord(
        organization=organization, key="k", request_digest="d", response={"a": [1, "ü"]}
    )
    rows.insert([record])
    assert IdempotencyRecord.objects.get(pk=record.pk).response == {"a": [1, "ü"]}
    assert IdempotencyRecord.objects.get(pk=record.pk).created_at is not None  # auto_now_add


def test_fetch_converts_values_and_defers_the_rest(organization):
    subject = DataSubject.objects.create(organization=organization, is_identified=True)
    (fetched,) = rows.fetch(DataSubject, ("id", "uid", "is_identified"), "id = %s", [subject.pk])
    assert fetched.uid == subject.uid and fetched.is_identified is True
    assert fetched.get_deferred_fields() >= {"created_at", "chain_length"}
    assert fetched.created_at == subject.created_at  # loaded on access


def test_update_writes_only_the_named_fields(organization):
    subject = DataSubject.objects.create(organization=organization)
    subject.chain_length, subject.chain_head_hash = 3, "f" * 64
    rows.update(subject, ["chain_length"])
    stored = DataSubject.objects.get(pk=subject.pk)
    assert (stored.chain_length, stored.chain_head_hash) == (3, "")


def test_insert_new_skips_rows_that_break_a_unique_constraint(organization):
    subject = DataSubject.objects.create(organization=organization)
    SubjectIdentifier.objects.create(
        organization=organization, subject=subject, kind="email", value_hash="a" * 64
    )
    linked = rows.insert_new(
        [
            SubjectIdentifier(
                organization=organization, subject=subject, kind=kind, value_hash=value
            )
            for kind, value in (("email", "a" * 64), ("visitor_id", "b" * 64))
        ]
    )
    assert linked == 1
    assert sorted(subject.identifiers.values_list("kind", flat=True)) == ["email", "visitor_id"]
