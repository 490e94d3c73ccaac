"""Streaming ledger exports (NDJSON, CSV) and their signed manifests.

An export reads the ledger in id-keyed batches, so memory stays flat whatever the ledger's
size, and it is bounded by the highest event id at its start, so rows appended meanwhile do
not make it inconsistent. On PostgreSQL an NDJSON export is written by the database instead,
line for line the same bytes, through one server-side cursor (consents.export_sql).

The manifest (filters, row count, first and last hash, the file's SHA-256) is signed with
the organization's Ed25519 export key; anyone holding the published public key can check a
file long after it left.
"""

import csv
import hashlib
import hmac
import io
import json
from collections.abc import Iterator
from dataclasses import dataclass, field

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import connection, transaction
from django.db.models import Max
from django.utils import timezone

from consents import export_sql, selectors
from consents.identifiers import IDENTIFIER_KINDS
from consents.ledger import format_timestamp
from consents.models import ConsentEvent, DataSubject, Organization
from consents.records import EVENT_VALUE_FIELDS, RECORD_FIELDS, record_from_values
from consents.services import UNKNOWN_PURPOSE, ConsentValidationError

UNKNOWN_SITE = "Unknown site {key!r}."


def filtered_events(organization, filters: dict):
    """The organization's ledger narrowed by the export/list filters, in ledger order."""
    events = ConsentEvent.objects.filter(organization=organization).order_by("id")
    if "since" in filters:
        events = events.filter(recorded_at__gte=filters["since"])
    if "until" in filters:
        events = events.filter(recorded_at__lt=filters["until"])
    # An unknown key is an error, not an empty answer: a signed manifest of no rows for a
    # misspelt purpose reads as "no such events".
    if filters.get("purpose"):
        purpose = organization.purposes.filter(key=filters["purpose"]).first()
        if purpose is None:
            raise ConsentValidationError(
                {"purpose": [UNKNOWN_PURPOSE.format(key=filters["purpose"])]}
            )
        events = events.filter(purpose=purpose)
    if filters.get("site"):
        site = organization.sites.filter(key=filters["site"]).first()
        if site is None:
            raise ConsentValidationError({"site": [UNKNOWN_SITE.format(key=filters["site"])]})
        events = events.filter(site=site)
    for kind in IDENTIFIER_KINDS:
        if filters.get(kind):
            try:
                subject = selectors.subject_by_identifier(organization, kind, filters[kind])
            except DjangoValidationError as exc:
                raise ConsentValidationError({kind: exc.messages}) from None
            events = events.filter(subject=subject) if subject else events.none()
    return events


def export_filter_summary(data: dict) -> dict:
    """The filters as they go into a manifest: only those given, as strings."""
    summary = {}
    for name in ("since", "until", "purpose", "site", *IDENTIFIER_KINDS):
        if data.get(name):
            value = data[name]
            summary[name] = value.isoformat() if hasattr(value, "isoformat") else str(value)
    for kind in IDENTIFIER_KINDS:
        if kind in summary:
            summary[kind] = "(hashed)"
    return summary


FORMATS = ("ndjson", "csv")
EXPORT_BATCH = 5_000
MANIFEST_KIND = "kaizen-ledger-export"
# Columns of an export, in order (CSV header; NDJSON keys).
EXPORT_COLUMNS = RECORD_FIELDS
CSV_MANIFEST_PREFIX = "# manifest: "
# A spreadsheet opening the CSV runs a cell that starts with = + - @, a tab or a carriage
# return as a formula, and a user agent or an Idempotency-Key is whatever the caller sent. Such
# a cell is written after an apostrophe (which spreadsheets read as "text"), and so is a value
# that starts with an apostrophe itself, so that a reader removes exactly one. The manifest
# names the prefix (`csv_formula_prefix`); exports made before it was added have none.
CSV_FORMULA_PREFIX = "'"
CSV_FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r", CSV_FORMULA_PREFIX)


def export_private_key(organization: Organization) -> Ed25519PrivateKey:
    """The organization's export signing key, derived from its secret for this use only."""
    seed = hmac.new(
        organization.export_signing_key.encode(), b"kaizen-export-ed25519-v1", hashlib.sha256
    ).digest()
    return Ed25519PrivateKey.from_private_bytes(seed)


def export_public_key_hex(organization: Organization) -> str:
    public = export_private_key(organization).public_key()
    return public.public_bytes(Encoding.Raw, PublicFormat.Raw).hex()


def manifest_signing_bytes(manifest: dict) -> bytes:
    body = {k: v for k, v in manifest.items() if k != "signature"}
    return json.dumps(body, sort_keys=True, separators=(",", ":")).encode()


def manifest_signature_valid(manifest: dict, public_key_hex: str | None = None) -> bool:
    """Check the manifest's signature with the given (trusted) key, or the one it names."""
    try:
        key = Ed25519PublicKey.from_public_bytes(
            bytes.fromhex(public_key_hex or manifest["public_key"])
        )
        key.verify(bytes.fromhex(manifest["signature"]), manifest_signing_bytes(manifest))
    except (InvalidSignature, ValueError, KeyError, TypeError):
        return False
    return True


SETTLE_LOCK_TIMEOUT = "10s"


def settled_max_id(events, lock_timeout: str = SETTLE_LOCK_TIMEOUT) -> int:
    """The highest id of `events`, read when no lower id can still appear.

    An event takes its id when its INSERT runs, not when its transaction commits: a writer
    holding id 41 may commit after another committed 42, and an export bounded at 42 that did
    not wait would say `complete` without 41. On PostgreSQL the bound is read under a SHARE
    lock on the ledger, granted once the writers in flight have committed (milliseconds); new
    writers wait only while max(id) is read. Inside a caller's transaction the lock would last
    as long as it, so there the bound is read as it stands."""
    if connection.vendor != "postgresql" or connection.in_atomic_block:
        return events.aggregate(top=Max("id"))["top"] or 0
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"SET LOCAL lock_timeout = '{lock_timeout}'")
        cursor.execute(f"LOCK TABLE {ConsentEvent._meta.db_table} IN SHARE MODE")
        return events.aggregate(top=Max("id"))["top"] or 0


@dataclass
class LedgerExport:
    """One export: iterate `chunks()` for the file's bytes, then read `manifest`."""

    organization: Organization
    events: object  # a ConsentEvent queryset, already filtered, any order
    filters: dict
    format: str = "ndjson"
    batch: int = EXPORT_BATCH
    manifest: dict = field(default_factory=dict)

    def chunks(self) -> Iterator[bytes]:
        digest = hashlib.sha256()
        rows, first_hash, last_hash = 0, "", ""
        bound = settled_max_id(self.events)
        encode = self._csv_encoder() if self.format == "csv" else _ndjson_line
        if self.format == "csv":
            header = _csv_line(EXPORT_COLUMNS)
            digest.update(header)
            yield header
        last_id = 0
        # An empty selection (bound 0) may not even compile to SQL: nothing to read.
        fast = export_sql.available(self.format) and bound > 0
        first_event_id = last_event_id = 0
        if fast:
            narrowed = (
                None if self._whole_ledger() else self.events.filter(id__lte=bound).values("id")
            )
            for count, first_id, chunk_last_id, chunk in export_sql.ndjson_chunks(
                self.organization, bound, self.batch, narrowed
            ):
                first_event_id = first_event_id or first_id
                last_event_id = chunk_last_id
                rows += count
                digest.update(chunk)
                yield chunk
            last_id = bound  # done: the Python path below does not run
        while last_id < bound:
            batch_rows = list(
                self.events.filter(id__gt=last_id, id__lte=bound)
                .order_by("id")
                .values(*EVENT_VALUE_FIELDS)[: self.batch]
            )
            if not batch_rows:
                break
            out = []
            for row in batch_rows:
                record = record_from_values(row)
                if not first_hash:
                    first_hash = record["hash"]
                last_hash = record["hash"]
                out.append(encode(record))
            rows += len(batch_rows)
            last_id = batch_rows[-1]["id"]
            chunk = b"".join(out)
            digest.update(chunk)
            yield chunk
        if fast and rows:
            first_hash = export_sql.event_hash(first_event_id)
            last_hash = export_sql.event_hash(last_event_id)
        manifest = {"csv_formula_prefix": CSV_FORMULA_PREFIX} if self.format == "csv" else {}
        self.manifest = self._sign(
            {
                **manifest,
                "kind": MANIFEST_KIND,
                "version": 1,
                "organization": self.organization.slug,
                "format": self.format,
                "filters": self.filters,
                "complete": not self.filters,
                "rows": rows,
                "first_hash": first_hash,
                "last_hash": last_hash,
                "max_event_id": bound,
                "sha256": digest.hexdigest(),
                "generated_at": format_timestamp(timezone.now()),
                "chain_anchors": self._anchors() if not self.filters else {},
            }
        )

    def _whole_ledger(self) -> bool:
        """Whether the events are the organization's whole ledger, which PostgreSQL reads by
        range rather than through a list of ids."""
        whole = ConsentEvent.objects.filter(organization=self.organization)
        return str(self.events.order_by().query) == str(whole.order_by().query)

    def chunks_with_trailer(self) -> Iterator[bytes]:
        """The file followed by its manifest as a last line (for HTTP, which has no sidecar)."""
        yield from self.chunks()
        if self.format == "csv":
            yield (CSV_MANIFEST_PREFIX + json.dumps(self.manifest, sort_keys=True) + "\n").encode()
        else:
            yield (json.dumps({"manifest": self.manifest}, sort_keys=True) + "\n").encode()

    def _anchors(self) -> dict:
        return {
            str(uid): [seq, anchor]
            for uid, seq, anchor in DataSubject.objects.filter(
                organization=self.organization, chain_anchor_seq__gt=0
            ).values_list("uid", "chain_anchor_seq", "chain_anchor_hash")
        }

    def _sign(self, manifest: dict) -> dict:
        key = export_private_key(self.organization)
        manifest["public_key"] = export_public_key_hex(self.organization)
        manifest["signature"] = key.sign(manifest_signing_bytes(manifest)).hex()
        return manifest

    @staticmethod
    def _csv_encoder():
        def encode(record: dict) -> bytes:
            return _csv_line(_csv_value(record[c]) for c in EXPORT_COLUMNS)

        return encode


def _ndjson_line(record: dict) -> bytes:
    return (json.dumps(record, separators=(",", ":"), ensure_ascii=False) + "\n").encode()


def _csv_value(value):
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str) and value.startswith(CSV_FORMULA_STARTS):
        return CSV_FORMULA_PREFIX + value
    return value


def _csv_line(values) -> bytes:
    # The writer quotes a cell holding a character of its line terminator: with "\r\n" a cell
    # holding a bare CR is quoted too (any CSV reader ends a record there), then the record
    # ends in LF as every line of the export does.
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\r\n").writerow(list(values))
    return (buffer.getvalue()[:-2] + "\n").encode()


def records_from_csv_lines(lines, formula_prefix: str = "") -> Iterator[dict]:
    """Read an export CSV back into records with their JSON types; `formula_prefix` is the
    manifest's `csv_formula_prefix`, removed from the cells that start with it."""
    reader = csv.DictReader(lines)
    for row in reader:
        if formula_prefix:
            row = {
                name: cell[len(formula_prefix) :]
                if isinstance(cell, str) and cell.startswith(formula_prefix)
                else cell
                for name, cell in row.items()
            }
        yield {
            **row,
            "id": int(row["id"]),
            "v": int(row["v"]),
            "seq": int(row["seq"]),
            "granted": row["granted"] == "true",
            "ip_truncated": row["ip_truncated"] or None,
            "user_agent": row["user_agent"] or None,
            "pii_salt": row["pii_salt"] or None,
        }


def organization_events(organization: Organization):
    return ConsentEvent.objects.filter(organization=organization)
