import json
import os
import sys
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_datetime

from consents.exports import FORMATS, LedgerExport, export_filter_summary, filtered_events
from consents.models import Organization


class Command(BaseCommand):
    help = (
        "Export an organization's ledger (NDJSON or CSV) in ledger order with constant memory; "
        "writes FILE and its signed manifest FILE.manifest.json."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True)
        parser.add_argument("--format", choices=FORMATS, default="ndjson")
        parser.add_argument("--output", required=True, help="File to write ('-' for stdout)")
        parser.add_argument("--since", help="ISO 8601 date-time (recorded at or after)")
        parser.add_argument("--until", help="ISO 8601 date-time (recorded before)")
        parser.add_argument("--purpose")
        parser.add_argument("--site")
        parser.add_argument("--no-progress", action="store_true")

    def handle(self, *args, **options):
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"No organization with slug {options['org']!r}.")
        filters = {}
        for name in ("since", "until"):
            if options[name]:
                moment = parse_datetime(options[name])
                if moment is None:
                    raise CommandError(
                        f"--{name} must be an ISO 8601 date-time, got {options[name]!r}."
                    )
                filters[name] = moment
        for name in ("purpose", "site"):
            if options[name]:
                filters[name] = options[name]
        if (
            filters.get("purpose")
            and not organization.purposes.filter(key=filters["purpose"]).exists()
        ):
            raise CommandError(f"Unknown purpose {filters['purpose']!r}.")
        events = filtered_events(organization, filters)
        export = LedgerExport(
            organization=organization,
            events=events,
            filters=export_filter_summary(filters),
            format=options["format"],
        )
        to_stdout = options["output"] == "-"
        path = None if to_stdout else Path(options["output"])
        show_progress = not options["no_progress"] and sys.stderr.isatty() and not to_stdout
        total = events.count() if show_progress else 0
        partial = path.with_name(path.name + ".partial") if path else None
        try:
            handle = sys.stdout.buffer if to_stdout else partial.open("wb")
        except OSError as exc:
            raise CommandError(f"Cannot write {options['output']}: {exc.strerror}.") from None
        written = 0
        try:
            for chunk in export.chunks():
                handle.write(chunk)
                if show_progress:
                    written += chunk.count(b"\n")
                    self._progress(written, total)
        except BaseException:
            if partial:
                handle.close()
                partial.unlink(missing_ok=True)
            raise
        if partial:
            handle.close()
            os.replace(partial, path)
            manifest_path = path.with_name(path.name + ".manifest.json")
            manifest_path.write_text(json.dumps(export.manifest, indent=2, sort_keys=True) + "\n")
        if show_progress:
            sys.stderr.write("\n")
        summary = f"Exported {export.manifest['rows']} events"
        if path:
            manifest_note = (
                f"manifest {manifest_path.name}, sha256 {export.manifest['sha256'][:16]}…"
            )
            summary += f" to {path} ({manifest_note})"
        (self.stderr if to_stdout else self.stdout).write(summary)

    @staticmethod
    def _progress(done: int, total: int) -> None:
        width = 30
        share = min(1.0, done / total) if total else 1.0
        bar = "#" * int(width * share)
        sys.stderr.write(f"\r[{bar:<{width}}] {done}/{total} events")
        sys.stderr.flush()
