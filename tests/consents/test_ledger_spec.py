"""The hashes as docs/ledger.md spells them, built by hand as an outside verifier would.

Below the first checks, a verifier of an export and its signed manifest written from that page
alone (standard library and `cryptography`), held to real exports: it accepts every untampered
one and rejects edited, cut, reordered or re-signed copies."""

import csv
import hashlib
import io
import json
import re
from datetime import UTC, datetime, timedelta
from datetime import timezone as dt_timezone

import pytest
from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat
from django.core.management import call_command
from django.utils import timezone

from consents import ledger
from consents.exports import export_public_key_hex
from consents.models import DataSubject
from consents.retention import apply_retention, erase_subject
from consents.services import record_consent
from tests.factories import SiteFactory


def test_personal_data_digest_escapes_non_ascii_as_the_spec_says():
    salt = "0123456789abcdef" * 2
    # docs/ledger.md: ASCII JSON, non-ASCII as lower-case \uXXXX (surrogate pairs past U+FFFF)
    spelled = '["' + salt + '","192.0.2.0","Caf\\u00e9/1.0 \\ud83d\\ude00"]'
    expected = hashlib.sha256(spelled.encode("ascii")).hexdigest()
    assert ledger.pii_digest(salt, "192.0.2.0", "Café/1.0 😀") == expected
    empty = hashlib.sha256(('["' + salt + '","",""]').encode("ascii")).hexdigest()
    assert ledger.pii_digest(salt, None, None) == empty


def test_canonical_record_writes_non_ascii_as_itself_as_the_spec_says():
    record = {name: "" for name in ledger.HASHED_FIELDS}
    record.update(v=1, seq=1, granted=True, actor="user:é")
    body = ledger.canonical_record(record)
    assert '"actor":"user:é"'.encode() in body and b"\\u" not in body
    assert ledger.event_hash(record) == hashlib.sha256(body).hexdigest()


# --- An independent verifier of an export and its manifest, from docs/ledger.md alone ---------

SPEC_HASHED_FIELDS = (
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
SPEC_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z\Z")
SPEC_HEX64 = re.compile(r"[0-9a-f]{64}\Z")
SPEC_MANIFEST_FIELDS = {
    "kind",
    "version",
    "organization",
    "format",
    "filters",
    "complete",
    "rows",
    "first_hash",
    "last_hash",
    "max_event_id",
    "generated_at",
    "sha256",
    "public_key",
    "signature",
}


class Rejected(Exception):
    """The export does not verify; the message names what is wrong."""


def spec_sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


SPEC_SHORT_ESCAPES = {
    '"': '\\"',
    "\\": "\\\\",
    "\b": "\\b",
    "\f": "\\f",
    "\n": "\\n",
    "\r": "\\r",
    "\t": "\\t",
}


def spec_json(value, ascii_only: bool) -> str:
    """JSON as the page spells it: sorted keys, no whitespace, strings escaped by its rules."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, dict):
        items = sorted(value.items())
        return (
            "{"
            + ",".join(f"{spec_json(k, ascii_only)}:{spec_json(v, ascii_only)}" for k, v in items)
            + "}"
        )
    if isinstance(value, list | tuple):
        return "[" + ",".join(spec_json(item, ascii_only) for item in value) + "]"
    out = []
    for char in value:
        code = ord(char)
        if char in SPEC_SHORT_ESCAPES:
            out.append(SPEC_SHORT_ESCAPES[char])
        elif code < 0x20 or (ascii_only and 0x7F <= code <= 0xFFFF):
            out.append(f"\\u{code:04x}")
        elif ascii_only and code > 0xFFFF:
            high, low = divmod(code - 0x10000, 0x400)
            out.append(f"\\u{0xD800 + high:04x}\\u{0xDC00 + low:04x}")
        else:
            out.append(char)
    return '"' + "".join(out) + '"'


def spec_event_hash(record: dict) -> str:
    body = {name: record[name] for name in SPEC_HASHED_FIELDS}
    return spec_sha256(spec_json(body, ascii_only=False).encode("utf-8"))


def spec_pii_digest(salt: str, ip: str | None, user_agent: str | None) -> str:
    return spec_sha256(
        spec_json([salt, ip or "", user_agent or ""], ascii_only=True).encode("ascii")
    )


def spec_check_record(number: int, record: dict, organization: str) -> None:
    where = f"line {number}"
    missing = [name for name in (*SPEC_HASHED_FIELDS, "id", "hash") if name not in record]
    if missing:
        raise Rejected(f"{where}: missing {', '.join(missing)}")
    if record["v"] != 1 or record["organization"] != organization:
        raise Rejected(f"{where}: not a version-1 event of {organization}")
    if type(record["seq"]) is not int or type(record["granted"]) is not bool:
        raise Rejected(f"{where}: seq or granted of the wrong type")
    if not all(SPEC_HEX64.match(record[name]) for name in ("hash", "pii_digest")):
        raise Rejected(f"{where}: hash or pii_digest is not lower-case hex SHA-256")
    for name in ("occurred_at", "recorded_at"):
        if not SPEC_TIMESTAMP.match(record[name]):
            raise Rejected(f"{where}: {name} {record[name]!r} is not in the canonical format")
    if record.get("pii_salt"):
        expected = spec_pii_digest(
            record["pii_salt"], record.get("ip_truncated"), record.get("user_agent")
        )
        if expected != record["pii_digest"]:
            raise Rejected(f"{where}: personal data edited (pii_digest)")
    elif record.get("ip_truncated") or record.get("user_agent"):
        raise Rejected(f"{where}: personal data without its salt cannot be checked")
    if spec_event_hash(record) != record["hash"]:
        raise Rejected(f"{where}: event edited (hash)")


def spec_check_chains(records: list[dict], anchors: dict, complete: bool) -> int:
    """Step 3 of "Verifying", over the file in ledger order; returns the number of chains."""
    previous: dict[str, tuple[int, str]] = {}
    last_id = None
    for number, record in enumerate(records, 1):
        where = f"line {number}"
        if last_id is not None and record["id"] <= last_id:
            raise Rejected(f"{where}: not in ledger order (id)")
        last_id = record["id"]
        subject = record["subject"]
        if subject in previous:
            prev_seq, prev_hash = previous[subject]
        elif subject in anchors:
            prev_seq, prev_hash = anchors[subject]
        elif complete:
            prev_seq, prev_hash = 0, ""
        else:
            prev_seq, prev_hash = None, None
        seq = record["seq"]
        if prev_seq is not None and seq <= prev_seq:
            raise Rejected(f"{where}: chain {subject} reordered (seq {seq} after {prev_seq})")
        if complete and seq > prev_seq + 1:
            raise Rejected(f"{where}: chain {subject} has events removed before seq {seq}")
        if prev_seq is not None and seq == prev_seq + 1 and record["prev_hash"] != prev_hash:
            raise Rejected(f"{where}: chain {subject} has an event inserted before seq {seq}")
        previous[subject] = (seq, record["hash"])
    return len(previous)


def spec_manifest_payload(manifest: dict) -> bytes:
    unsigned = {key: value for key, value in manifest.items() if key != "signature"}
    return spec_json(unsigned, ascii_only=True).encode("ascii")


def spec_check_signature(manifest: dict, public_key_hex: str | None) -> None:
    key_hex = public_key_hex or manifest["public_key"]
    if public_key_hex and manifest["public_key"] != public_key_hex:
        raise Rejected("manifest: signed by another key than the organization's")
    try:
        key = Ed25519PublicKey.from_public_bytes(bytes.fromhex(key_hex))
        key.verify(bytes.fromhex(manifest["signature"]), spec_manifest_payload(manifest))
    except (ValueError, InvalidSignature) as error:
        raise Rejected(f"manifest: bad signature ({error.__class__.__name__})") from None


def spec_split(data: bytes, manifest: dict | None, fmt: str) -> tuple[bytes, dict]:
    """The data bytes and the manifest: beside the file, or as the file's last line."""
    if manifest is not None:
        return data, manifest
    body, _, last = data.rstrip(b"\n").rpartition(b"\n")
    body = body + b"\n" if body else b""
    text = last.decode("utf-8")
    if fmt == "ndjson":
        wrapper = json.loads(text)
        if set(wrapper) != {"manifest"}:
            raise Rejected("the last line is not a manifest")
        return body, wrapper["manifest"]
    prefix = "# manifest: "
    if not text.startswith(prefix):
        raise Rejected("the last line is not a manifest")
    return body, json.loads(text[len(prefix) :])


def spec_csv_records(data: bytes, prefix: str) -> list[dict]:
    rows = list(csv.reader(io.StringIO(data.decode("utf-8"), newline="")))
    header, records = rows[0], []
    for row in rows[1:]:
        cells = [
            cell[len(prefix) :] if prefix and cell.startswith(prefix) else cell for cell in row
        ]
        record = dict(zip(header, cells, strict=True))
        for name in ("v", "seq", "id"):
            record[name] = int(record[name])
        if record["granted"] not in ("true", "false"):
            raise Rejected(f"granted {record['granted']!r} is neither true nor false")
        record["granted"] = record["granted"] == "true"
        records.append(record)
    return records


def spec_check_events(records: list[dict], manifest: dict) -> int:
    """Every event, then every chain; returns the number of chains."""
    for number, record in enumerate(records, 1):
        spec_check_record(number, record, manifest["organization"])
        if record["id"] > manifest["max_event_id"]:
            raise Rejected(f"line {number}: past the export's upper bound")
    complete = manifest["complete"] is True
    anchors = {}
    if complete:
        anchors = {subject: tuple(at) for subject, at in manifest["chain_anchors"].items()}
    return spec_check_chains(records, anchors, complete)


def spec_records(data: bytes, manifest: dict) -> list[dict]:
    if manifest["format"] == "csv":
        return spec_csv_records(data, manifest.get("csv_formula_prefix", ""))
    # Lines end in LF; a record may hold U+2028 or U+0085 as itself, so split on LF alone.
    *lines, rest = data.decode("utf-8").split("\n")
    if rest:
        raise Rejected("the last line is cut short (no line end)")
    try:
        return [json.loads(line) for line in lines]
    except ValueError as error:
        raise Rejected(f"a line is not a JSON record ({error})") from None


def verify_export(data: bytes, manifest: dict | None = None, public_key_hex: str | None = None):
    """Verify an NDJSON or CSV export; raise Rejected, or return (events, chains)."""
    fmt = (manifest or {}).get("format")
    if fmt is None:
        fmt = "ndjson" if data.lstrip().startswith(b"{") else "csv"
    data, manifest = spec_split(data, manifest, fmt)
    if manifest.get("format") != fmt:
        raise Rejected("manifest: another format than the file's")
    missing = SPEC_MANIFEST_FIELDS - set(manifest)
    if missing:
        raise Rejected(f"manifest: missing {', '.join(sorted(missing))}")
    spec_check_signature(manifest, public_key_hex)
    if (manifest["kind"], manifest["version"]) != ("kaizen-ledger-export", 1):
        raise Rejected("manifest: not a version-1 ledger export manifest")
    if spec_sha256(data) != manifest["sha256"]:
        raise Rejected("manifest: the file's SHA-256 does not match")
    records = spec_records(data, manifest)
    if manifest["rows"] != len(records):
        raise Rejected(f"manifest: {manifest['rows']} rows, the file holds {len(records)}")
    ends = (records[0]["hash"], records[-1]["hash"]) if records else ("", "")
    if (manifest["first_hash"], manifest["last_hash"]) != ends:
        raise Rejected("manifest: first or last hash does not match the file")
    if manifest["max_event_id"] != (records[-1]["id"] if records else 0):
        raise Rejected("manifest: max_event_id is not the id of the file's last event")
    return len(records), spec_check_events(records, manifest)


# --- Real exports, checked with the verifier above -------------------------------------------


@pytest.fixture
def varied_ledger(organization):
    """Several subjects and purposes, non-ASCII text, a site, a notice, an anchor, an erasure."""
    org = organization
    org.anonymous_event_retention_days = 30
    org.identified_event_retention_days = 60
    org.marketing_retention_days = 90
    org.save()
    site = SiteFactory(organization=org, key="boutique")

    def decide(identifiers, choices, **extra):
        extra.setdefault("ip", "192.0.2.77")
        return record_consent(
            organization=org,
            identifiers=identifiers,
            choices=choices,
            source=extra.pop("source", "banner"),
            actor=extra.pop("actor", "visitor"),
            notice_version="2026-01",
            **extra,
        )

    browser = {"visitor_id": "visitor-trimmed-000001"}
    first = decide(
        browser, {"analytics": True}, user_agent="Café/1.0 😀", site=site, jurisdiction="FR"
    )
    decide(browser, {"advertising": False}, user_agent="Café/1.0 😀", site=site)
    decide(browser, {"analytics": False}, user_agent="Ünïcødé\t/2", site=site)
    decide({"visitor_id": "visitor-gone-00000001"}, {"analytics": True}, user_agent="UA")
    decide(
        {"email": "zoe@example.com"},
        {"marketing_email": True, "marketing_sms": False},
        source="api",
        actor="user:Jürgen",
        user_agent='=HYPERLINK("x")',
        jurisdiction="US-CA",
        idempotency_key="kë-1",
    )
    decide({"email": "erased@example.com"}, {"marketing_email": False}, user_agent="-UA 日本")
    decide({"email": "erased@example.com"}, {"sale_share": False}, source="api", actor="+api")
    decide({"email": "late@example.com"}, {"analytics": True}, ip="2001:db8::1", user_agent="")
    erase_subject(org, kind="email", value="erased@example.com", performed_by="dpo@example.com")
    # A hundred days on, the browser is still active: its oldest events go and leave an anchor,
    # the visitor who never came back goes with its whole chain, old personal data goes and
    # the unrenewed marketing consent lapses (a new event of the retention job).
    later = timezone.now() + timedelta(days=100)
    DataSubject.objects.filter(pk=first.subject.pk).update(last_activity_at=later)
    apply_retention(org, now=later, performed_by="retention")
    decide(browser, {"advertising": True}, user_agent="\tCafé/1.0 😀", site=site)
    decide({"email": "late@example.com"}, {"marketing_sms": True}, user_agent="@ünï \u2028")
    return org


def export(tmp_path, org, fmt="ndjson", *extra):
    path = tmp_path / f"ledger.{fmt}"
    call_command("export_events", "--org", org.slug, "--format", fmt, "--output", str(path), *extra)
    manifest = json.loads((tmp_path / f"ledger.{fmt}.manifest.json").read_text(encoding="utf-8"))
    return path.read_bytes(), manifest


def export_to_stdout(org, fmt, capsysbinary, *extra):
    capsysbinary.readouterr()
    call_command("export_events", "--org", org.slug, "--format", fmt, "--output", "-", *extra)
    return capsysbinary.readouterr().out


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_the_verifier_accepts_every_untampered_export(tmp_path, varied_ledger, fmt, capsysbinary):
    org_key = export_public_key_hex(varied_ledger)
    data, manifest = export(tmp_path, varied_ledger, fmt)
    assert verify_export(data, manifest, org_key) == (manifest["rows"], 4)
    assert manifest["rows"] == 10 and manifest["complete"] is True
    assert len(manifest["chain_anchors"]) == 1
    sources = {record["source"] for record in spec_records(data, manifest)}
    assert {"banner", "api", "retention"} <= sources
    # The same export with its manifest as the last line.
    assert verify_export(export_to_stdout(varied_ledger, fmt, capsysbinary), None, org_key)[0] == 10
    # Filtered exports hold partial chains.
    for extra in (
        ["--purpose", "advertising"],
        ["--site", "boutique"],
        ["--since", (timezone.now() - timedelta(minutes=5)).isoformat()],
    ):
        data, manifest = export(tmp_path, varied_ledger, fmt, *extra)
        assert manifest["complete"] is False and manifest["rows"] > 0
        verify_export(data, manifest, org_key)


def forged(manifest: dict, data: bytes, records: list[dict], key=None) -> dict:
    """The manifest an attacker would write for `data`, signed with a key of their own."""
    key = key or Ed25519PrivateKey.generate()
    fake = dict(manifest, sha256=spec_sha256(data), rows=len(records))
    fake.update(first_hash=records[0]["hash"], last_hash=records[-1]["hash"])
    fake["max_event_id"] = records[-1]["id"]
    fake["public_key"] = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw).hex()
    fake["signature"] = key.sign(spec_manifest_payload(fake)).hex()
    return fake


def tamperings(lines: list[bytes], records: list[dict]):
    """(name, changed lines, whether the chains alone show it) for each kind of tampering."""
    by_subject: dict[str, list[int]] = {}
    for index, record in enumerate(records):
        by_subject.setdefault(record["subject"], []).append(index)
    chain = next(indexes for indexes in by_subject.values() if len(indexes) >= 3)
    other = next(i for i, r in enumerate(records) if r["subject"] != records[chain[0]]["subject"])
    with_pii = next(i for i, r in enumerate(records) if r["pii_salt"] and r["ip_truncated"])

    def changed(index, old: bytes, new: bytes):
        assert old in lines[index]
        return [*lines[:index], lines[index].replace(old, new, 1), *lines[index + 1 :]]

    def without(index):
        return lines[:index] + lines[index + 1 :]

    def swapped(a, b):
        copy = list(lines)
        copy[a], copy[b] = copy[b], copy[a]
        return copy

    granted = chain[1]
    word = b"true" if records[granted]["granted"] else b"false"
    flipped = b"false" if word == b"true" else b"true"
    yield "edited decision", changed(granted, word, flipped), True
    yield "edited IP", changed(with_pii, b"192.0.2.0", b"192.0.2.1"), True
    yield "deleted line", without(chain[1]), True
    yield "lines of one chain swapped", swapped(chain[0], chain[1]), True
    first_other = min(chain[0], other)
    yield "lines of two chains swapped", swapped(first_other, max(chain[0], other)), True
    moved = records[chain[1]]["subject"].encode()
    yield (
        "moved to another subject",
        changed(other, records[other]["subject"].encode(), moved),
        True,
    )
    yield "truncated tail", lines[:-1], False
    yield "cut in the last line", [*lines[:-1], lines[-1][:40]], False


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_the_verifier_rejects_every_tampered_copy(tmp_path, varied_ledger, fmt):
    org_key = export_public_key_hex(varied_ledger)
    data, manifest = export(tmp_path, varied_ledger, fmt)
    records = spec_records(data, manifest)
    lines = data.split(b"\n")[:-1]
    header, lines = (lines[:1], lines[1:]) if fmt == "csv" else ([], lines)
    for name, changed, chains_show_it in tamperings(lines, records):
        tampered = b"\n".join([*header, *changed]) + b"\n"
        with pytest.raises(Rejected):
            verify_export(tampered, manifest, org_key)
        try:
            tampered_records = spec_records(tampered, manifest)
        except (Rejected, ValueError):
            assert not chains_show_it, name  # a cut line does not even parse
            continue
        # Without the signed manifest's protection (a key holder rewrote it), the chains alone.
        resigned = forged(manifest, tampered, tampered_records)
        if chains_show_it:
            with pytest.raises(Rejected):
                spec_check_events(tampered_records, manifest)
            with pytest.raises(Rejected):
                verify_export(tampered, resigned)
        else:
            assert verify_export(tampered, resigned)[0] == len(records) - 1, name
        with pytest.raises(Rejected, match="another key"):
            verify_export(tampered, resigned, org_key)


@pytest.mark.django_db
def test_a_forged_manifest_is_rejected(tmp_path, varied_ledger):
    org_key = export_public_key_hex(varied_ledger)
    data, manifest = export(tmp_path, varied_ledger)
    records = spec_records(data, manifest)
    assert verify_export(data, manifest, org_key)
    for change in ({"rows": manifest["rows"] + 1}, {"complete": False}, {"chain_anchors": {}}):
        with pytest.raises(Rejected, match="signature"):
            verify_export(data, dict(manifest, **change), org_key)
    # Signed by someone else, naming their key: it holds only against the key it names.
    own = forged(manifest, data, records)
    assert verify_export(data, own) and own["public_key"] != org_key
    with pytest.raises(Rejected, match="another key"):
        verify_export(data, own, org_key)
    # Naming the organization's key does not make another key's signature hold.
    with pytest.raises(Rejected, match="signature"):
        verify_export(data, dict(own, public_key=org_key), org_key)
    # A manifest without its anchors cannot hide a trimmed chain start either.
    stripped = forged(dict(manifest, chain_anchors={}), data, records)
    with pytest.raises(Rejected, match="removed"):
        verify_export(data, stripped)


@pytest.mark.django_db
@pytest.mark.parametrize("fmt", ["ndjson", "csv"])
def test_odd_text_and_empty_exports_verify(tmp_path, organization, fmt, api):
    """Control characters, DEL, U+2028, quotes, line ends and a decision time given in another
    time zone: the canonical JSON and the files as the page spells them."""
    org_key = export_public_key_hex(organization)
    empty, manifest = export(tmp_path, organization, fmt)
    assert verify_export(empty, manifest, org_key) == (0, 0)
    when = datetime.now(dt_timezone(timedelta(hours=-5))).replace(microsecond=0)
    odd = ["a\nb\r\nc", "\r=cmd", 'q"\\/\x01\x7f\u2028\u0085é😀', "\x1f-", "'quoted"]
    for i, text in enumerate(odd):
        record_consent(
            organization=organization,
            identifiers={"visitor_id": "odd-visitor-00000001"},
            choices={"analytics": i % 2 == 0},
            source="api",
            actor=text,
            ip="198.51.100.7",
            user_agent=text,
            idempotency_key=f"{text}{i}",
            occurred_at=when - timedelta(minutes=i),
        )
    data, manifest = export(tmp_path, organization, fmt)
    assert verify_export(data, manifest, org_key) == (5, 1)
    records = spec_records(data, manifest)
    assert [r["user_agent"] for r in records] == odd
    assert records[0]["occurred_at"] == (when.astimezone(UTC)).strftime("%Y-%m-%dT%H:%M:%S.000000Z")
    api.as_key(organization, "events:export")
    body = b"".join(api.get("/api/v1/events/export", {"format": fmt}).streaming_content)
    assert verify_export(body, None, org_key) == (5, 1)
    data, manifest = export(tmp_path, organization, fmt, "--purpose", "marketing_sms")
    assert verify_export(data, manifest, org_key) == (0, 0)
