"""The PostgreSQL fast path of NDJSON exports: each line built by the database.

Serializing a million records in Python costs far more than reading them. Here PostgreSQL
writes every line exactly as `json.dumps(record, separators=(",", ":"), ensure_ascii=False)`
would: keys in EXPORT_COLUMNS order, strings through to_json (which escapes the same
characters the same way), timestamps as YYYY-MM-DDTHH:MM:SS.ffffffZ in UTC. Python encodes
only the organization's few purpose, notice and site names, then joins the lines of a chunk
and passes the bytes along. tests/consents/test_export_sql.py
holds both paths to identical output.
"""

import json
from collections.abc import Iterator
from dataclasses import dataclass

from django.db import connection, transaction

from consents import ledger


# A value is the SQL of its JSON text, or a piece of text around SQL: Quoted("e.hash") is
# '"' || e.hash || '"'. Literal text between values is merged before the query is built, so a
# line costs one `||` per value rather than one per piece (PostgreSQL folds no constant
# that follows a column).
@dataclass(frozen=True)
class Quoted:
    expression: str


@dataclass(frozen=True)
class Literal:
    text: str


def _text(expression: str) -> str:
    return f"to_json({expression})::text"


def _nullable(expression: str) -> str:
    return f"COALESCE(to_json({expression})::text, 'null')"


# Hex digests, salts and UUIDs are written by the ledger code only and hold no character JSON
# escapes, so they are quoted directly (to_json costs most of a line's time).
def _nullable_hex(expression: str) -> str:
    return f"""COALESCE('"' || {expression} || '"', 'null')"""


# The export transaction sets its time zone to UTC, so to_char needs no AT TIME ZONE (which
# looks the zone up by name on every call).
TIMESTAMP_FORMAT = """'YYYY-MM-DD"T"HH24:MI:SS.US"Z"'"""


def _timestamp(expression: str) -> Quoted:
    return Quoted(f"to_char({expression}, {TIMESTAMP_FORMAT})")


# (key, its value), in EXPORT_COLUMNS order. Purpose keys, notice versions and site keys come
# from the organization's few purposes, notices and sites: their JSON text is written once
# per row of those tables, by Python (see `_json_by_id`), not once per event.
LINE_PARTS = (
    ("id", "e.id::text"),
    ("v", Literal(str(ledger.CHAIN_VERSION))),
    ("organization", "%s"),  # the organization's slug as JSON, one per export
    ("subject", Quoted("s.uid::text")),
    ("seq", "e.seq::text"),
    ("purpose", "p.json"),
    ("granted", "CASE WHEN e.granted THEN 'true' ELSE 'false' END"),
    ("source", _text("e.source")),
    ("notice_version", """COALESCE(n.json, '""')"""),
    ("jurisdiction", _text("e.jurisdiction")),
    ("site", """COALESCE(st.json, '""')"""),
    ("occurred_at", _timestamp("e.occurred_at")),
    ("recorded_at", _timestamp("e.recorded_at")),
    ("actor", _text("e.actor")),
    ("ip_truncated", _nullable("e.ip_truncated")),
    ("user_agent", _nullable("e.user_agent")),
    ("pii_salt", _nullable_hex("e.pii_salt")),
    ("pii_digest", Quoted("e.pii_digest")),
    ("client_event_id", _text("e.client_event_id")),
    ("prev_hash", Quoted("e.prev_hash")),
    ("hash", Quoted("e.hash")),
)


def _line_expression() -> str:
    pieces: list[Literal | str] = []
    for position, (key, value) in enumerate(LINE_PARTS):
        pieces.append(Literal(("{" if position == 0 else ",") + f'"{key}":'))
        if isinstance(value, Quoted):
            pieces += [Literal('"'), value.expression, Literal('"')]
        else:
            pieces.append(value)
    pieces.append(Literal("}"))
    merged: list[Literal | str] = []
    for piece in pieces:
        if isinstance(piece, Literal) and merged and isinstance(merged[-1], Literal):
            merged[-1] = Literal(merged[-1].text + piece.text)
        else:
            merged.append(piece)
    return " || ".join(
        "'" + piece.text.replace("'", "''") + "'" if isinstance(piece, Literal) else piece
        for piece in merged
    )


# Built from the constants above only; the filter comes from the ORM with its parameters.
# COPY ... TO STDOUT hands the lines over in bulk, without a result row per event. In CSV
# format with delimiter and quote set to control characters that JSON text never holds raw
# (to_json escapes every character below 0x20), each line comes out exactly as built, one per
# record, ended by a newline. {purposes}, {notices} and {sites} are (id, json) relations of
# the organization's rows, sent as VALUES (see `_json_by_id`).
STREAM_SQL = f"""
COPY (
SELECT {_line_expression()}
FROM consents_consentevent e
JOIN consents_datasubject s ON s.id = e.subject_id
JOIN {{purposes}} p(id, json) ON p.id = e.purpose_id
LEFT JOIN {{notices}} n(id, json) ON n.id = e.notice_id
LEFT JOIN {{sites}} st(id, json) ON st.id = e.site_id
WHERE {{where}}
ORDER BY e.id
) TO STDOUT WITH (FORMAT csv, DELIMITER E'\\x02', QUOTE E'\\x01')
"""  # noqa: S608
# A whole organization's ledger up to a bound: a range scan, no semi-join on an id list.
WHOLE_LEDGER = "e.organization_id = %s AND e.id <= %s"


NAMES_SQL = """
SELECT 'purpose', id, key FROM consents_purpose WHERE organization_id = %(org)s
UNION ALL SELECT 'notice', id, version FROM consents_notice WHERE organization_id = %(org)s
UNION ALL SELECT 'site', id, key FROM cookies_site WHERE organization_id = %(org)s
"""


def _names(organization) -> dict[str, list[tuple[int, str]]]:
    """The organization's purpose keys, notice versions and site keys by id, in one query."""
    names = {"purpose": [], "notice": [], "site": []}
    with connection.cursor() as cursor:
        cursor.execute(NAMES_SQL, {"org": organization.pk})
        for table, pk, name in cursor.fetchall():
            names[table].append((pk, name))
    return names


def _json_by_id(rows) -> tuple[str, list]:
    """A relation (id, json) of (id, value) pairs, as SQL and its parameters.

    VALUES rather than a subquery that calls to_json: PostgreSQL runs a query holding a
    subquery with OFFSET (the way to make it compute once per row) in one process, and the
    export's lines are built faster by two parallel workers."""
    pairs = [(pk, json.dumps(value, ensure_ascii=False)) for pk, value in rows]
    if not pairs:
        return "(SELECT NULL::bigint, NULL::text WHERE FALSE)", []
    placeholders = ", ".join(["(%s::bigint, %s::text)"] * len(pairs))
    return f"(VALUES {placeholders})", [value for pair in pairs for value in pair]


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
    names = _names(organization)
    purposes, purpose_params = _json_by_id(names["purpose"])
    notices, notice_params = _json_by_id(names["notice"])
    sites, site_params = _json_by_id(names["site"])
    statement = (
        STREAM_SQL.replace("{purposes}", purposes)
        .replace("{notices}", notices)
        .replace("{sites}", sites)
        .replace("{where}", where)
    )
    params = [slug_json, *purpose_params, *notice_params, *site_params, *params]
    with transaction.atomic():
        connection.ensure_connection()
        with connection.connection.cursor() as cursor:
            # Compiling the line expressions costs more than it saves on this query (an
            # export of a million events ran 8% faster without it).
            cursor.execute("SET LOCAL jit = off")
            cursor.execute("SET LOCAL timezone = 'UTC'")
        with (
            connection.connection.cursor() as cursor,
            cursor.copy(statement, params) as copy,
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
