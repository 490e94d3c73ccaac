"""Verify the live ledger of an organization against its hash chains (see docs/ledger.md)."""

from consents.ledger import VerificationReport, verify_records
from consents.models import ConsentEvent, DataSubject, Organization
from consents.records import EVENT_VALUE_FIELDS, record_from_values

BATCH = 5_000


def iter_ledger_records(organization: Organization, batch: int = BATCH):
    """Every event of the organization as a record, in ledger (id) order, in bounded memory."""
    last_id = 0
    while True:
        rows = list(
            ConsentEvent.objects.filter(organization=organization, id__gt=last_id)
            .order_by("id")
            .values(*EVENT_VALUE_FIELDS)[:batch]
        )
        if not rows:
            return
        for row in rows:
            yield record_from_values(row)
        last_id = rows[-1]["id"]


def verify_organization_ledger(organization: Organization) -> VerificationReport:
    """Recompute every chain of the organization and compare each with its subject's head."""
    starts, heads = {}, {}
    for uid, anchor_seq, anchor_hash, length, head in DataSubject.objects.filter(
        organization=organization
    ).values_list(
        "uid", "chain_anchor_seq", "chain_anchor_hash", "chain_length", "chain_head_hash"
    ):
        key = str(uid)
        if anchor_seq:
            starts[key] = (anchor_seq, anchor_hash)
        if length:
            heads[key] = (length, head)
    return verify_records(iter_ledger_records(organization), chain_starts=starts, chain_heads=heads)
