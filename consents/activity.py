"""Signs of interest: a person opened a marketing email, clicked, or used their account.

The privacy policy keeps marketing data "from the date you last expressed interest": retention
lapses a marketing grant once its subject shows no interest for `marketing_retention_days`
(consents.retention). A consent decision is one such sign; this records the others, reported
by the mail system or the organization's own product. It changes no consent and writes no
ledger event: it only moves the subject's `last_activity_at` forward.
"""

from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone

from consents.identifiers import hash_identifiers
from consents.models import DataSubject, Organization, SubjectIdentifier


@dataclass(frozen=True)
class ActivityResult:
    known: int  # distinct identifiers we hold a subject for
    subjects_updated: int  # subjects whose last sign of interest moved forward


def record_activity(
    *,
    organization: Organization,
    identifier_type: str,
    normalized: list[str],
    occurred_at: datetime | None = None,
) -> ActivityResult:
    """Move the last sign of interest of the subjects these identifiers name to `occurred_at`
    (now by default; never into the future, never backwards). Erased subjects are left alone."""
    now = timezone.now()
    when = min(occurred_at or now, now)
    hashes = set(hash_identifiers(organization.identifier_secret, identifier_type, normalized))
    found = SubjectIdentifier.objects.filter(
        organization=organization, kind=identifier_type, value_hash__in=hashes
    ).values_list("subject_id", flat=True)
    subject_ids = set(found)
    with transaction.atomic():
        # Locked in id order, as every writer of several subjects does: two reports sent at
        # once cannot deadlock on each other.
        moving = list(
            DataSubject.objects.select_for_update()
            .filter(pk__in=subject_ids, erased_at=None, last_activity_at__lt=when)
            .order_by("pk")
            .values_list("pk", flat=True)
        )
        DataSubject.objects.filter(pk__in=moving).update(last_activity_at=when)
    return ActivityResult(known=len(found), subjects_updated=len(moving))
