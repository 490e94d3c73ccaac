"""Verify the live ledger of an organization against its hash chains (see docs/ledger.md)."""

import csv
import hashlib
import json
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

from consents.exports import (
    CSV_MANIFEST_PREFIX,
    FORMATS,
    manifest_signature_valid,
    records_from_csv_lines,
)
from consents.ledger import VerificationReport, iter_json_lines, verify_records
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


@dataclass
class FileVerification:
    """The result of checking an export file against its manifest and its chains."""

    chain: VerificationReport
    manifest: dict | None
    problems: list[str] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return self.chain.ok and not self.problems


TAIL_BLOCK_BYTES = 1 << 20


def _last_line(path: Path) -> tuple[bytes, int]:
    """The file's last non-empty line and the number of bytes it takes with its newlines.

    Read backwards block by block until the line's start: a manifest line holds an anchor per
    chain that retention trimmed, so it has no size limit."""
    with path.open("rb") as handle:
        position = handle.seek(0, 2)
        tail = stripped = b""
        while position > 0 and b"\n" not in stripped:
            step = min(TAIL_BLOCK_BYTES, position)
            position -= step
            handle.seek(position)
            tail = handle.read(step) + tail
            stripped = tail.rstrip(b"\n")
    last = stripped.rpartition(b"\n")[2]
    return last, len(last) + len(tail) - len(stripped)


class UnreadableManifest(Exception):
    """A manifest that is there but cannot be read, or is not shaped like an export's."""


# The manifest fields the verifier reads, with the JSON type each must have.
MANIFEST_FIELD_TYPES = {
    "organization": (str, "a string"),
    "format": (str, "a string"),
    "complete": (bool, "true or false"),
    "rows": (int, "an integer"),
    "sha256": (str, "a string"),
    "first_hash": (str, "a string"),
    "last_hash": (str, "a string"),
    "chain_anchors": (dict, "an object"),
}


def _is_chain_anchor(anchor) -> bool:
    """A [seq, hash] pair, as the exporter writes it per subject."""
    return (
        isinstance(anchor, list)
        and len(anchor) == 2
        and type(anchor[0]) is int
        and isinstance(anchor[1], str)
    )


def manifest_shape_problem(manifest) -> str | None:
    """What makes the manifest unfit for the verifier to read, or None when it is fit."""
    if not isinstance(manifest, dict):
        return "not a JSON object"
    for name, (json_type, described) in MANIFEST_FIELD_TYPES.items():
        value = manifest.get(name)
        # JSON true is a Python int too, but never a row count
        if not isinstance(value, json_type) or (json_type is int and isinstance(value, bool)):
            return f"{name} must be {described}, got {json.dumps(value)[:40]}"
    if manifest["format"] not in FORMATS:
        return f"format must be one of {', '.join(FORMATS)}, got {manifest['format'][:40]!r}"
    if not isinstance(manifest.get("csv_formula_prefix", ""), str):
        return "csv_formula_prefix must be a string"
    for subject, anchor in manifest["chain_anchors"].items():
        if not _is_chain_anchor(anchor):
            return f"chain_anchors of {subject[:40]!r} must be [seq, hash]"
    return None


def _parse_manifest(path: Path, sidecar: Path) -> tuple[object, int]:
    """The manifest as parsed JSON (None when there is none) and the bytes it takes at the
    file's end."""
    if sidecar.exists():
        return json.loads(sidecar.read_text(encoding="utf-8")), 0
    if not path.stat().st_size:
        return None, 0
    last, trailer_bytes = _last_line(path)
    text = last.decode("utf-8", "replace")
    if text.startswith(CSV_MANIFEST_PREFIX):
        return json.loads(text[len(CSV_MANIFEST_PREFIX) :]), trailer_bytes
    if text.startswith('{"manifest"'):
        return json.loads(text)["manifest"], trailer_bytes
    return None, 0


def load_manifest(path: Path) -> tuple[dict | None, int]:
    """The export's manifest and how many bytes at the file's end hold it (0 for a sidecar).

    Raises UnreadableManifest when the file has a manifest the verifier cannot read."""
    sidecar = path.with_name(path.name + ".manifest.json")
    where = sidecar.name if sidecar.exists() else f"the last line of {path.name}"
    try:
        manifest, trailer_bytes = _parse_manifest(path, sidecar)
    except (OSError, ValueError, RecursionError) as exc:
        raise UnreadableManifest(f"unreadable manifest in {where}: {exc}") from None
    if manifest is None:
        return None, 0
    problem = manifest_shape_problem(manifest)
    if problem:
        raise UnreadableManifest(f"unreadable manifest in {where}: {problem}")
    return manifest, trailer_bytes


def record_reader(manifest: dict):
    """The function that reads the records of an export with this manifest from its lines."""
    if manifest["format"] != "csv":
        return iter_json_lines
    prefix = manifest.get("csv_formula_prefix", "")
    return lambda lines: records_from_csv_lines(lines, formula_prefix=prefix)


def _data_lines(path: Path, data_size: int, digest) -> Iterator[str]:
    with path.open("rb") as handle:
        remaining = data_size
        for line in handle:
            if remaining <= 0:
                return
            line = line[:remaining]
            remaining -= len(line)
            digest.update(line)
            yield line.decode("utf-8")


def verify_export_file(path: Path, public_key_hex: str | None = None) -> FileVerification:
    """Recompute an export's chains in one streaming pass, then hold it against its manifest."""
    try:
        manifest, trailer_bytes = load_manifest(path)
    except UnreadableManifest as exc:
        return FileVerification(VerificationReport(), None, [str(exc)])
    if manifest is None:
        return FileVerification(
            VerificationReport(),
            None,
            ["no manifest found (FILE.manifest.json or a trailing manifest line)"],
        )
    digest = hashlib.sha256()
    lines = _data_lines(path, path.stat().st_size - trailer_bytes, digest)
    counts = {"rows": 0, "first": None, "last": None}

    def counted(records):
        for record in records:
            counts["rows"] += 1
            counts["first"] = counts["first"] or record
            counts["last"] = record
            yield record

    anchors = {subject: tuple(anchor) for subject, anchor in manifest["chain_anchors"].items()}
    reader = record_reader(manifest)
    try:
        chain = verify_records(
            counted(reader(lines)), chain_starts=anchors, complete=manifest["complete"]
        )
        for _ in lines:  # read to the end so the digest covers the whole file
            pass
    # Whatever the file holds: bytes that are not UTF-8, lines that are not records, JSON
    # nested past the recursion limit, CSV fields past the csv module's field size limit.
    except (OSError, ValueError, KeyError, TypeError, RecursionError, csv.Error) as exc:
        return FileVerification(VerificationReport(), manifest, [f"unreadable export: {exc}"])
    result = FileVerification(chain, manifest)
    if not chain.ok:
        return result
    if digest.hexdigest() != manifest["sha256"]:
        result.problems.append("file SHA-256 differs from the manifest: the file was altered")
    rows = counts["rows"]
    if rows != manifest["rows"]:
        change = "removed" if rows < manifest["rows"] else "inserted"
        result.problems.append(
            f"{rows} events in the file, the manifest says {manifest['rows']}: "
            f"an event was {change}"
        )
    # The id is not hashed, so a verified record may still lack one.
    if counts["first"] and counts["first"]["hash"] != manifest["first_hash"]:
        result.problems.append(
            f"first event {counts['first'].get('id')} is not the manifest's first"
        )
    if counts["last"] and counts["last"]["hash"] != manifest["last_hash"]:
        result.problems.append(f"last event {counts['last'].get('id')} is not the manifest's last")
    if not manifest_signature_valid(manifest, public_key_hex):
        result.problems.append(
            "manifest signature does not verify"
            + (" with the given public key" if public_key_hex else "")
        )
    return result


@dataclass
class LiveComparison:
    """An earlier export held against today's ledger: what still matches, what retention took."""

    matching: int = 0
    removed_by_retention: int = 0
    problem: str = ""


def compare_export_with_live(path: Path, organization: Organization) -> LiveComparison:
    """Check that every event of an earlier export is still in the live ledger, unchanged.

    The chain alone cannot show a rewrite of a whole chain and its head; an export taken
    earlier can. An event that is gone counts as retention's work only where retention says
    so (its subject was deleted, or its chain now starts after it)."""
    try:
        manifest, trailer_bytes = load_manifest(path)
    except UnreadableManifest as exc:
        return LiveComparison(problem=str(exc))
    if manifest is None:
        return LiveComparison(problem="no manifest found")
    if manifest["organization"] != organization.slug:
        return LiveComparison(problem="the export belongs to another organization")
    reader = record_reader(manifest)
    lines = _data_lines(path, path.stat().st_size - trailer_bytes, hashlib.sha256())
    result = LiveComparison()
    batch: list[dict] = []
    for record in reader(lines):
        batch.append(record)
        if len(batch) == BATCH:
            if not _compare_batch(batch, organization, result):
                return result
            batch = []
    if batch:
        _compare_batch(batch, organization, result)
    return result


def _compare_batch(records: list[dict], organization: Organization, result: LiveComparison) -> bool:
    live = dict(
        ConsentEvent.objects.filter(
            organization=organization, id__in=[r["id"] for r in records]
        ).values_list("id", "hash")
    )
    missing = [r for r in records if r["id"] not in live]
    anchors = dict(
        DataSubject.objects.filter(
            organization=organization, uid__in={r["subject"] for r in missing}
        ).values_list("uid", "chain_anchor_seq")
    )
    anchors = {str(uid): seq for uid, seq in anchors.items()}
    for record in records:
        where = f"event {record['id']} ({record['subject']} #{record['seq']})"
        if record["id"] in live:
            if live[record["id"]] != record["hash"]:
                result.problem = f"{where} differs from the live ledger: rewritten since the export"
                return False
            result.matching += 1
        elif record["subject"] not in anchors or record["seq"] <= anchors[record["subject"]]:
            result.removed_by_retention += 1
        else:
            result.problem = f"{where} is missing from the live ledger"
            return False
    return True
