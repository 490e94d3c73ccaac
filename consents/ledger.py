"""The hash chain that makes the consent ledger tamper-evident (docs/ledger.md is the spec).

Each subject has its own chain, so writers for different subjects never wait on each other.
An event's hash covers its fields, its position (`seq`) and the previous event's hash; its
personal data (truncated IP, user agent) enter only through a salted digest, so retention can
remove that data later and every hash still verifies.
"""

import hashlib
import json
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime

CHAIN_VERSION = 1
GENESIS_HASH = ""

# The fields an event's hash covers, in the canonical record (see docs/ledger.md).
HASHED_FIELDS = (
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
    "client_event_id",
    "pii_digest",
    "prev_hash",
)


def format_timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC with microseconds and a Z: 2026-01-31T12:00:00.000000Z."""
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")


def pii_digest(salt: str, ip_truncated: str | None, user_agent: str | None) -> str:
    """Salted SHA-256 of the event's personal data."""
    material = json.dumps([salt, ip_truncated or "", user_agent or ""], separators=(",", ":"))
    return hashlib.sha256(material.encode()).hexdigest()


def canonical_record(record: dict) -> bytes:
    """The exact bytes hashed: a JSON object of HASHED_FIELDS, keys sorted, no spaces, UTF-8."""
    body = {name: record[name] for name in HASHED_FIELDS}
    return json.dumps(body, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def event_hash(record: dict) -> str:
    return hashlib.sha256(canonical_record(record)).hexdigest()


@dataclass
class ChainProblem:
    """The first thing wrong in a ledger, with the event it concerns."""

    kind: str  # edited | removed | inserted | reordered | personal_data_edited | head_mismatch
    event_id: int | str | None
    subject: str
    seq: int | None
    message: str


@dataclass
class VerificationReport:
    events: int = 0
    subjects: int = 0
    problems: list[ChainProblem] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return not self.problems


def verify_records(
    records: Iterable[dict],
    *,
    chain_starts: dict[str, tuple[int, str]] | None = None,
    chain_heads: dict[str, tuple[int, str]] | None = None,
    complete: bool = True,
) -> VerificationReport:
    """Check exported or live records (dicts with HASHED_FIELDS plus `id`) in ledger order.

    `chain_starts` gives, per subject, the (seq, hash) the chain resumes after (retention);
    `chain_heads` the expected last (seq, hash). With `complete=False` (a filtered export),
    a subject's first record may start anywhere and gaps are not reported as removals.
    """
    report = VerificationReport()
    last: dict[str, tuple[int, str]] = {}
    starts = chain_starts or {}
    for record in records:
        report.events += 1
        subject = record["subject"]
        seq = record["seq"]
        problem = _check_one(record, last.get(subject), starts.get(subject), complete)
        if problem:
            report.problems.append(problem)
            return report
        last[subject] = (seq, record["hash"])
    report.subjects = len(last)
    for subject, (seq, head_hash) in (chain_heads or {}).items():
        seen = last.get(subject)
        if seen is None and (seq, head_hash) == starts.get(subject, (0, GENESIS_HASH)):
            continue
        if seen != (seq, head_hash):
            kind = "removed" if seen is None or seen[0] < seq else "inserted"
            report.problems.append(
                ChainProblem(
                    kind,
                    None,
                    subject,
                    seq,
                    f"subject {subject}: chain should end at #{seq} {head_hash[:16]}…, "
                    f"found {'nothing' if seen is None else f'#{seen[0]} {seen[1][:16]}…'}",
                )
            )
            return report
    return report


def _check_one(record, previous, start, complete) -> ChainProblem | None:
    subject, seq, event_id = record["subject"], record["seq"], record.get("id")

    def problem(kind: str, message: str) -> ChainProblem:
        return ChainProblem(
            kind, event_id, subject, seq, f"event {event_id} ({subject} #{seq}): {message}"
        )

    salt = record.get("pii_salt")
    if (
        salt
        and pii_digest(salt, record.get("ip_truncated"), record.get("user_agent"))
        != record["pii_digest"]
    ):
        return problem("personal_data_edited", "IP or user agent differs from its digest")
    if not salt and (record.get("ip_truncated") or record.get("user_agent")):
        # De-identification removes the salt with the data: data without a salt was put back.
        return problem("personal_data_edited", "IP or user agent present without its salt")
    if event_hash(record) != record["hash"]:
        return problem("edited", "content does not match its hash")
    if previous is None:
        expected_seq, expected_prev = start or (0, GENESIS_HASH)
        if not complete:
            return None
        if seq != expected_seq + 1:
            kind = "removed" if seq > expected_seq + 1 else "inserted"
            return problem(kind, f"chain starts at #{seq}, expected #{expected_seq + 1}")
        if record["prev_hash"] != expected_prev:
            return problem("inserted", "does not link to the start of its chain")
        return None
    prev_seq, prev_hash = previous
    if seq <= prev_seq:
        return problem("reordered", f"comes after #{prev_seq} in ledger order")
    if seq > prev_seq + 1:
        if complete:
            return problem("removed", f"#{prev_seq + 1}..#{seq - 1} missing before it")
        return None
    if record["prev_hash"] != prev_hash:
        return problem("inserted", f"does not link to #{prev_seq}")
    return None


def iter_json_lines(lines: Iterable[str]) -> Iterator[dict]:
    for line in lines:
        if line.strip():
            yield json.loads(line)
