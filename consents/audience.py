"""Check before send for files: stream a recipients CSV and keep the rows allowed for a purpose.

Rows are checked in batches through `selectors.check_identifiers` (one query per batch), so a
file of any size is read once in constant memory. The allowed rows are written to a temporary
file beside the output, renamed into place only when the whole input was read: a failure never
leaves a partial output behind.
"""

import contextlib
import csv
import os
import tempfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.core.exceptions import ValidationError

from consents.identifiers import normalize_identifier
from consents.models import Organization, Purpose
from consents.selectors import check_identifiers

BATCH_SIZE = 5_000
MALFORMED = "malformed"

CANNOT_READ = "Cannot read {path}: {reason}."
EMPTY_INPUT = "{path} is empty: expected a header row naming the columns."
MISSING_COLUMN = "{path} has no column {column!r} (its columns: {found})."
CANNOT_WRITE = "Cannot write {path}: {reason}."


class AudienceError(Exception):
    """A problem with the files themselves: nothing was written."""


@dataclass
class AudienceReport:
    rows: int = 0
    allowed: int = 0
    reasons: Counter = field(default_factory=Counter)

    @property
    def malformed(self) -> int:
        return self.reasons[MALFORMED]


def _malformed_reason(row: list[str], width: int, column_index: int, kind: str) -> str | None:
    if len(row) != width:
        return f"expected {width} fields, found {len(row)}"
    if any("\udc80" <= ch <= "\udcff" for cell in row for ch in cell):
        return "not valid UTF-8"
    value = row[column_index].strip()
    if not value:
        return f"empty {kind}"
    try:
        normalize_identifier(kind, value)
    except ValidationError:
        return f"not a valid {kind}: {value[:80]!r}"
    return None


def filter_audience(
    *,
    organization: Organization,
    purpose: Purpose,
    input_path: Path,
    output_path: Path,
    column: str = "email",
    identifier_type: str = "email",
    jurisdiction: str = "",
    batch_size: int = BATCH_SIZE,
    report_malformed: Callable[[int, str], None] = lambda line, reason: None,
) -> AudienceReport:
    """Write the rows of `input_path` allowed for `purpose` to `output_path`; count every row.

    Raises AudienceError for unreadable input, a missing column or an unwritable output.
    `report_malformed(line_number, reason)` is called for each row that is skipped.
    """
    input_path, output_path = Path(input_path), Path(output_path)
    report = AudienceReport()
    try:
        source = open(input_path, encoding="utf-8-sig", errors="surrogateescape", newline="")  # noqa: SIM115
    except OSError as exc:
        raise AudienceError(CANNOT_READ.format(path=input_path, reason=exc.strerror)) from None
    with source:
        reader = csv.reader(source)
        try:
            header = next(reader)
        except StopIteration:
            raise AudienceError(EMPTY_INPUT.format(path=input_path)) from None
        except (csv.Error, OSError) as exc:
            raise AudienceError(CANNOT_READ.format(path=input_path, reason=exc)) from None
        if any("\udc80" <= ch <= "\udcff" for name in header for ch in name):
            raise AudienceError(
                CANNOT_READ.format(path=input_path, reason="the header is not valid UTF-8")
            )
        names = [name.strip() for name in header]
        matching = [i for i, name in enumerate(names) if name.lower() == column.lower()]
        if not matching:
            raise AudienceError(
                MISSING_COLUMN.format(path=input_path, column=column, found=", ".join(names))
            )
        column_index = matching[0]
        output_dir = output_path.parent if str(output_path.parent) else Path(".")
        try:
            handle, temp_name = tempfile.mkstemp(
                dir=output_dir, prefix=f".{output_path.name}.", suffix=".part"
            )
        except OSError as exc:
            raise AudienceError(
                CANNOT_WRITE.format(path=output_path, reason=exc.strerror)
            ) from None
        try:
            with os.fdopen(handle, "w", encoding="utf-8", newline="") as sink:
                writer = csv.writer(sink)
                writer.writerow(header)
                _filter_rows(
                    reader,
                    writer,
                    report,
                    organization,
                    purpose,
                    len(header),
                    column_index,
                    identifier_type,
                    jurisdiction,
                    batch_size,
                    report_malformed,
                )
            os.replace(temp_name, output_path)
        except OSError as exc:
            _remove(temp_name)
            raise AudienceError(CANNOT_WRITE.format(path=output_path, reason=exc)) from None
        except BaseException:
            _remove(temp_name)
            raise
    return report


def _remove(path: str) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)


def _filter_rows(
    reader,
    writer,
    report,
    organization,
    purpose,
    width,
    column_index,
    identifier_type,
    jurisdiction,
    batch_size,
    report_malformed,
) -> None:
    batch: list[list[str]] = []

    def flush():
        results = check_identifiers(
            organization,
            purpose,
            identifier_type,
            [row[column_index].strip() for row in batch],
            jurisdiction,
        )
        for row, result in zip(batch, results, strict=True):
            report.reasons[result.reason] += 1
            if result.allowed:
                report.allowed += 1
                writer.writerow(row)
        batch.clear()

    while True:
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            report.rows += 1
            report.reasons[MALFORMED] += 1
            report_malformed(reader.line_num, f"unreadable CSV ({exc})")
            continue
        if not row:
            continue  # a blank line is not a recipient
        report.rows += 1
        reason = _malformed_reason(row, width, column_index, identifier_type)
        if reason:
            report.reasons[MALFORMED] += 1
            report_malformed(reader.line_num, reason)
            continue
        batch.append(row)
        if len(batch) >= batch_size:
            flush()
    if batch:
        flush()
