import json
import os
import sys
from datetime import UTC, datetime
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone
from django.utils.dateparse import parse_datetime

from consents.exports import FORMATS, LedgerExport, export_filter_summary, filtered_events
from consents.models import Organization
from consents.services import ConsentValidationError

DATE_TIME_FORMAT = "an ISO 8601 date-time such as 2026-01-31T09:00 or 2026-01-31T09:00+01:00"


def parse_moment(option: str, text: str) -> datetime:
    """The option's date-time, made aware as the API does; refused when it is malformed,
    impossible, or has no date-time in UTC."""
    try:
        moment = parse_datetime(text)
    except ValueError:  # well-formed but impossible: month 13, hour 25, offset +99:00
        moment = None
    if moment is None:
        raise CommandError(f"--{option} must be {DATE_TIME_FORMAT}, got {text!r}.")
    if timezone.is_naive(moment):
        moment = timezone.make_aware(moment)
    try:
        moment.astimezone(UTC)  # as the query will: 0001-01-01T00:00+05:00 has no UTC time
    except OverflowError:
        raise CommandError(
            f"--{option} {text!r} is out of range: it has no date-time in UTC."
        ) from None
    return moment


def sidecar_path(path: Path) -> Path:
    return path.with_name(path.name + ".manifest.json")


def partial_path(path: Path) -> Path:
    return path.with_name(path.name + ".partial")


def export_target(output: str) -> Path:
    """The file --output names, refused before any export work when it cannot be written."""
    path = Path(output)
    if not path.name:
        raise CommandError(f"--output {output!r} names no file.")
    if not path.parent.is_dir():
        raise CommandError(f"--output {output}: there is no directory {path.parent}.")
    for target in (path, sidecar_path(path)):
        if target.is_dir():
            raise CommandError(f"--output {output}: {target} is a directory.")
    return path


class Command(BaseCommand):
    help = (
        "Export an organization's ledger (NDJSON or CSV) in ledger order with constant memory; "
        "writes FILE and its signed manifest FILE.manifest.json."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True)
        parser.add_argument("--format", choices=FORMATS, default="ndjson")
        parser.add_argument(
            "--output",
            required=True,
            help="File to write ('-' for stdout, the manifest as the last line)",
        )
        parser.add_argument("--since", help="ISO 8601 date-time (recorded at or after)")
        parser.add_argument("--until", help="ISO 8601 date-time (recorded before)")
        parser.add_argument("--purpose")
        parser.add_argument("--site")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"No organization with slug {options['org']!r}.")
        filters = self._filters(options)
        to_stdout = options["output"] == "-"
        path = None if to_stdout else export_target(options["output"])
        try:
            events = filtered_events(organization, filters)
        except ConsentValidationError as exc:
            raise CommandError(" ".join(m for ms in exc.errors.values() for m in ms)) from None
        export = LedgerExport(
            organization=organization,
            events=events,
            filters=export_filter_summary(filters),
            format=options["format"],
        )
        show_progress = not options["no_progress"] and sys.stderr.isatty() and not to_stdout
        total = events.count() if show_progress else 0
        if to_stdout:
            # No file to put the manifest beside: it follows the data as the last line, as in
            # the API's export, where verify_events finds it.
            self._write_chunks(export.chunks_with_trailer(), sys.stdout.buffer, False, 0)
        else:
            self._write_file(export, path, show_progress, total)
        if show_progress:
            sys.stderr.write("\n")
        summary = f"Exported {export.manifest['rows']} events"
        if path:
            manifest_note = (
                f"manifest {sidecar_path(path).name}, sha256 {export.manifest['sha256'][:16]}…"
            )
            summary += f" to {path} ({manifest_note})"
        (self.stderr if to_stdout else self.stdout).write(summary)

    @staticmethod
    def _filters(options: dict) -> dict:
        filters = {}
        for name in ("since", "until"):
            if options[name]:
                filters[name] = parse_moment(name, options[name])
        for name in ("purpose", "site"):
            if options[name]:
                filters[name] = options[name]
        return filters

    def _write_file(self, export: LedgerExport, path: Path, show_progress: bool, total: int):
        """Write the export and its manifest beside it through partial files, which never
        outlive a failure."""
        partial, manifest_partial = partial_path(path), partial_path(sidecar_path(path))
        try:
            with partial.open("wb") as handle:
                self._write_chunks(export.chunks(), handle, show_progress, total)
            manifest_partial.write_text(
                json.dumps(export.manifest, indent=2, sort_keys=True) + "\n"
            )
            os.replace(partial, path)
            os.replace(manifest_partial, sidecar_path(path))
        except OSError as exc:
            raise CommandError(f"Cannot write {path}: {exc.strerror or exc}.") from None
        finally:
            partial.unlink(missing_ok=True)
            manifest_partial.unlink(missing_ok=True)

    def _write_chunks(self, chunks, handle, show_progress: bool, total: int) -> None:
        written = 0
        for chunk in chunks:
            handle.write(chunk)
            if show_progress:
                written += chunk.count(b"\n")
                self._progress(written, total)

    @staticmethod
    def _progress(done: int, total: int) -> None:
        width = 30
        share = min(1.0, done / total) if total else 1.0
        bar = "#" * int(width * share)
        sys.stderr.write(f"\r[{bar:<{width}}] {done}/{total} events")
        sys.stderr.flush()
