"""Purposes: only a cookie category can be always on; marketing and data uses can be refused."""

import importlib

import pytest
from django.apps import apps as django_apps
from django.core.exceptions import ValidationError
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from consents.models import ConsentMode, Membership, Purpose
from tests.factories import MembershipFactory, PurposeFactory

pytestmark = pytest.mark.django_db

ALWAYS = ConsentMode.ALWAYS_ON
migration = importlib.import_module("consents.migrations.0011_purpose_always_on_only_cookies")


def purpose_form(organization, **overrides):
    form = {
        "organization": organization.pk,
        "key": "newsletter_weekly",
        "name": "Weekly newsletter",
        "description": "",
        "kind": Purpose.Kind.MARKETING_TOPIC,
        "mode_eu": ConsentMode.OPT_IN,
        "mode_us": ConsentMode.OPT_OUT,
        "mode_other": ConsentMode.OPT_IN,
        "validity_days": "",
        "position": 0,
    }
    return form | overrides


@pytest.mark.parametrize("kind", ["communication_channel", "marketing_topic", "data_use_opt_out"])
def test_the_admin_refuses_an_always_on_marketing_or_data_use_purpose(client, organization, kind):
    client.force_login(
        MembershipFactory(organization=organization, role=Membership.Role.ADMIN).user
    )
    response = client.post(
        reverse("admin:consents_purpose_add"), purpose_form(organization, kind=kind, mode_us=ALWAYS)
    )
    assert response.status_code == 200  # the form again, with the reason
    assert "Only a cookie category can be always on" in response.content.decode()
    assert not Purpose.objects.filter(key="newsletter_weekly").exists()


def test_the_admin_still_saves_an_always_on_cookie_category(client, organization):
    client.force_login(
        MembershipFactory(organization=organization, role=Membership.Role.ADMIN).user
    )
    response = client.post(
        reverse("admin:consents_purpose_add"),
        purpose_form(
            organization,
            key="security",
            kind=Purpose.Kind.COOKIE_CATEGORY,
            mode_eu=ALWAYS,
            mode_us=ALWAYS,
            mode_other=ALWAYS,
        ),
    )
    assert response.status_code == 302
    assert Purpose.objects.get(organization=organization, key="security").mode_eu == ALWAYS


def test_an_existing_topic_cannot_be_switched_to_always_on(organization):
    topic = organization.purpose_map["marketing_email"]
    topic.mode_other = ALWAYS
    with pytest.raises(ValidationError, match="Only a cookie category"):
        topic.full_clean()


def test_the_database_refuses_an_always_on_data_use_written_around_the_model(organization):
    with pytest.raises(IntegrityError), transaction.atomic():
        PurposeFactory(
            organization=organization, key="sale_share_x", kind="data_use_opt_out", mode_eu=ALWAYS
        )


@pytest.mark.postgres
def test_the_migration_names_the_purposes_to_fix_and_changes_nothing(organization):
    # Rows like this can only predate the constraint: drop it inside the test's transaction.
    constraint = next(
        c for c in Purpose._meta.constraints if c.name == "purpose_always_on_only_cookie_category"
    )
    with connection.cursor() as cursor:  # the fixture's deferred foreign-key checks, now
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    with connection.schema_editor(atomic=False) as editor:
        editor.remove_constraint(Purpose, constraint)
    Purpose.objects.filter(organization=organization, key="marketing_email").update(mode_us=ALWAYS)
    with pytest.raises(RuntimeError, match=f"{organization.slug}/marketing_email"):
        migration.refuse_always_on_outside_cookies(django_apps, None)
    assert Purpose.objects.get(organization=organization, key="marketing_email").mode_us == ALWAYS


def test_the_migration_passes_when_only_cookie_categories_are_always_on(organization):
    assert organization.purpose_map["necessary"].mode_eu == ALWAYS
    migration.refuse_always_on_outside_cookies(django_apps, None)  # raises nothing
