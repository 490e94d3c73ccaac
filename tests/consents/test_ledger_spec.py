"""The hashes as docs/ledger.md spells them, built by hand as an outside verifier would."""

import hashlib

from consents import ledger


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
