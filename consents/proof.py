"""Proof of consent: a subject's full history with the exact notice text of each decision."""

from consents.ledger import format_timestamp
from consents.models import ConsentEvent, DataSubject, Notice, Organization
from consents.records import EVENT_VALUE_FIELDS, record_from_values
from consents.selectors import consent_state_for_subject


def proof_of_consent(
    organization: Organization, subject: DataSubject, jurisdiction: str = ""
) -> dict:
    """Everything an auditor needs to show who agreed to what, when, and under which notice."""
    rows = [
        record_from_values(row)
        for row in ConsentEvent.objects.filter(subject=subject)
        .order_by("seq")
        .values(*EVENT_VALUE_FIELDS)
    ]
    versions = {row["notice_version"] for row in rows if row["notice_version"]}
    notices = {
        notice.version: {
            "version": notice.version,
            "title": notice.title,
            "language": notice.language,
            "text": notice.text,
            "published_at": format_timestamp(notice.published_at) if notice.published_at else None,
        }
        for notice in Notice.objects.filter(organization=organization, version__in=versions)
    }
    for row in rows:
        row["notice"] = notices.get(row["notice_version"])
    decisions = consent_state_for_subject(organization, subject, jurisdiction)
    return {
        "organization": organization.slug,
        "subject": str(subject.uid),
        "identifier_kinds": sorted(set(subject.identifiers.values_list("kind", flat=True))),
        "erased_at": format_timestamp(subject.erased_at) if subject.erased_at else None,
        "chain": {
            "length": subject.chain_length,
            "head_hash": subject.chain_head_hash,
            "anchor_seq": subject.chain_anchor_seq,
            "anchor_hash": subject.chain_anchor_hash,
        },
        "events": rows,
        "state": [
            {
                "purpose": d.purpose.key,
                "allowed": d.allowed,
                "decision": d.decision,
                "basis": d.basis,
                "decided_at": format_timestamp(d.decided_at) if d.decided_at else None,
                "source": d.source,
                "notice_version": d.notice_version,
                "expires_at": format_timestamp(d.expires_at) if d.expires_at else None,
            }
            for d in decisions
        ],
    }
