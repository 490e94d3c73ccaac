"""The PostgreSQL fast path of NDJSON exports: each line built by the database.

Serializing a million records in Python costs far more than reading them. Here PostgreSQL
writes every line exactly as `json.dumps(record, separators=(",", ":"), ensure_ascii=False)`
would: keys in EXPORT_COLUMNS order, strings through to_json (which escapes the same
characters the same way), timestamps as YYYY-MM-DDTHH:MM:SS.ffffffZ in UTC. Python only
joins the lines of a chunk and passes the bytes along. tests/consents/test_export_sql.py
holds both paths to identical output.
"""

import json
from collections.abc import Iterator

from django.db import connection, transaction

from consents import ledger


def _text(expression: str) -> str:
    return f"to_json({expression})::text"


def _nullable(expression: str) -> str:
    return f"COALESCE(to_json({expression})::text, 'null')"


TIMESTAMP_FORMAT = """'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'"""


def _hex(expression: str) -> str:
    # Hex digests and salts are written by the ledger code only and hold no character JSON
    # escapes, so they are quoted directly (to_json costs most of a line's time).
    return f"""'"' || {expression} || '"'"""


def _nullable_hex(expression: str) -> str:
    return f"""COALESCE('"' || {expression} || '"', 'null')"""


def _timestamp(expression: str) -> str:
    return f"""'"' || to_char({expression} AT TIME ZONE 'UTC', {TIMESTAMP_FORMAT}) || '"'"""


# (key, SQL expression giving the JSON text of its value), in EXPORT_COLUMNS order.
LINE_PARTS = (
    ("id", "e.id::text"),
    ("v", f"'{ledger.CHAIN_VERSION}'"),
    ("organization", "%s"),  # the organization's slug, one per export
    ("subject", """'"' || s.uid::text || '"'"""),
    ("seq", "e.seq::text"),
    ("purpose", _text("p.key")),
    ("granted", "CASE WHEN e.granted THEN 'true' ELSE 'false' END"),
    ("source", _text("e.source")),
    ("notice_version", _text("COALESCE(n.version, '')")),
    ("jurisdiction", _text("e.jurisdiction")),
    ("site", _text("COALESCE(st.key, '')")),
    ("occurred_at", _timestamp("e.occurred_at")),
    ("recorded_at", _timestamp("e.recorded_at")),
    ("actor", _text("e.actor")),
    ("ip_truncated", _nullable("e.ip_truncated")),
    ("user_agent", _nullable("e.user_agent")),
    ("pii_salt", _nullable_hex("e.pii_salt")),
    ("pii_digest", _hex("e.pii_digest")),
    ("client_event_id", _text("e.client_event_id")),
    ("prev_hash", _hex("e.prev_hash")),
    ("hash", _hex("e.hash")),
)


def _line_expression() -> str:
    pieces = []
    for position, (key, value) in enumerate(LINE_PARTS):
        prefix = ("{" if position == 0 else ",") + f'"{key}":'
        pieces.append(f"'{prefix}' || {value}")
    return " || ".join(pieces) + " || '}'"


# Built from the constants above only; the filter comes from the ORM with its parameters.
# COPY ... TO STDOUT hands the lines over in bulk, without a result row per event. In CSV
# format with delimiter and quote set to control characters that JSON text never holds raw
# (to_json escapes every character below 0x20), each line comes out exactly as built, one per
# record, ended by a newline.
STREAM_SQL = f"""
COPY (
SELECT {_line_expression()}
FROM consents_consentevent e
JOIN consents_datasubject s ON s.id = e.subject_id
JOIN consents_purpose p ON p.id = e.purpose_id
LEFT JOIN consents_notice n ON n.id = e.notice_id
LEFT JOIN cookies_site st ON st.id = e.site_id
WHERE {{where}}
ORDER BY e.id
) TO STDOUT WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')
"""  # noqa: S608
# A whole organization's ledger up to a bound: a range scan, no semi-join on an id list.
WHOLE_LEDGER = "e.organization_id = %s AND e.id <= %s"


def available(export_format: str) -> bool:
    return export_format == "ndjson" and connection.vendor == "postgresql"


def ndjson_chunks(
    organization, bound: int, rows_per_chunk: int, ids_queryset=None
) -> Iterator[tuple[int, int, int, bytes]]:
    """(rows, first id, last id, the lines) per chunk: the organization's events up to
    `bound`, or those `ids_queryset` selects (a `values("id")` queryset of its events).

    One COPY statement: the export is a single snapshot, and memory holds one chunk at a
    time."""
    slug_json = json.dumps(organization.slug, ensure_ascii=False)
    if ids_queryset is None:
        where, params = WHOLE_LEDGER, [organization.pk, bound]
    else:
        sql, params = ids_queryset.query.sql_with_params()
        where = f"e.id IN ({sql})"
    with transaction.atomic():
        connection.ensure_connection()
        with connection.connection.cursor() as cursor:
            # Compiling the line expressions costs more than it saves on this query (an
            # export of a million events ran 8% faster without it).
            cursor.execute("SET LOCAL jit = off")
        with (
            connection.connection.cursor() as cursor,
            cursor.copy(STREAM_SQL.replace("{where}", where), [slug_json, *params]) as copy,
        ):
            # PostgreSQL sends one CopyData message per row: a chunk is `rows_per_chunk`
            # whole lines (the count is still taken from the bytes).
            pending, count = bytearray(), 0
            for data in copy:
                pending += data
                count += 1
                if count == rows_per_chunk:
                    yield _chunk(bytes(pending))
                    pending, count = bytearray(), 0
            if pending:
                yield _chunk(bytes(pending))


def _id_of_line(chunk: bytes, start: int) -> int:
    # Every line starts with {"id":<digits>,
    return int(chunk[start + 6 : chunk.index(b",", start)])


def _chunk(chunk: bytes) -> tuple[int, int, int, bytes]:
    last_start = chunk.rfind(b"\n", 0, len(chunk) - 1) + 1
    return chunk.count(b"\n"), _id_of_line(chunk, 0), _id_of_line(chunk, last_start), chunk


def event_hash(event_id: int) -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT hash FROM consents_consentevent WHERE id = %s", [event_id])
        return cursor.fetchone()[0]
