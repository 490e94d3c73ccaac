"""The flat record of a ledger event: what the API lists, exports carry and verifiers read."""

from consents import ledger

# Columns fetched with .values() for a record; related names are followed by the ORM join.
EVENT_VALUE_FIELDS = (
    "id",
    "organization__slug",
    "subject__uid",
    "seq",
    "purpose__key",
    "granted",
    "source",
    "notice__version",
    "jurisdiction",
    "site__key",
    "occurred_at",
    "recorded_at",
    "actor",
    "ip_truncated",
    "user_agent",
    "pii_salt",
    "pii_digest",
    "client_event_id",
    "prev_hash",
    "hash",
)

# The keys of a record, in the order exports write them.
RECORD_FIELDS = (
    "id",
    "v",
    "organization",
    "subject",
    "seq",
    "purpose",
    "granted",
    "source",
    "notice_version",
    "jurisdiction",
    "site",
    "occurred_at",
    "recorded_at",
    "actor",
    "ip_truncated",
    "user_agent",
    "pii_salt",
    "pii_digest",
    "client_event_id",
    "prev_hash",
    "hash",
)


def record_from_values(row: dict) -> dict:
    """Turn a .values(*EVENT_VALUE_FIELDS) row into the canonical record plus its extras."""
    return {
        "id": row["id"],
        "v": ledger.CHAIN_VERSION,
        "organization": row["organization__slug"],
        "subject": str(row["subject__uid"]),
        "seq": row["seq"],
        "purpose": row["purpose__key"],
        "granted": row["granted"],
        "source": row["source"],
        "notice_version": row["notice__version"] or "",
        "jurisdiction": row["jurisdiction"],
        "site": row["site__key"] or "",
        "occurred_at": ledger.format_timestamp(row["occurred_at"]),
        "recorded_at": ledger.format_timestamp(row["recorded_at"]),
        "actor": row["actor"],
        "ip_truncated": row["ip_truncated"],
        "user_agent": row["user_agent"],
        "pii_salt": row["pii_salt"],
        "pii_digest": row["pii_digest"],
        "client_event_id": row["client_event_id"],
        "prev_hash": row["prev_hash"],
        "hash": row["hash"],
    }
