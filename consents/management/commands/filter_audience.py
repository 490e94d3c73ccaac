"""Keep the recipients of a CSV file who may be contacted for a purpose (check before send)."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from consents.audience import BATCH_SIZE, AudienceError, filter_audience
from consents.jurisdiction import INVALID_JURISDICTION, normalize_jurisdiction
from consents.models import Organization, Purpose


class Command(BaseCommand):
    help = (
        "Stream a CSV of recipients and write the rows allowed for a purpose. Malformed rows "
        "are reported on stderr with their line number and counted."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="Organization slug.")
        parser.add_argument("--purpose", required=True, help="Purpose key, e.g. marketing_email.")
        parser.add_argument("--input", required=True, type=Path, help="CSV with a header row.")
        parser.add_argument("--output", required=True, type=Path, help="Where allowed rows go.")
        parser.add_argument("--column", default="email", help="Column holding the address.")
        parser.add_argument(
            "--identifier-type",
            default="email",
            choices=["email", "phone", "user_id"],
            help="What the column holds (default email).",
        )
        parser.add_argument("--jurisdiction", default="", help="e.g. DE or US-CA.")
        parser.add_argument("--batch-size", type=int, default=BATCH_SIZE)

    def handle(self, *args, **options):
        organization = Organization.objects.filter(slug=options["org"]).first()
        if organization is None:
            raise CommandError(f"Unknown organization {options['org']!r}.")
        purpose = organization.purposes.filter(key=options["purpose"]).first()
        if purpose is None:
            known = ", ".join(organization.purposes.values_list("key", flat=True))
            raise CommandError(f"Unknown purpose {options['purpose']!r} (known: {known}).")
        input_path, output_path = Path(options["input"]), Path(options["output"])
        if input_path.resolve() == output_path.resolve():
            raise CommandError("--output must differ from --input.")
        jurisdiction = options["jurisdiction"].strip()
        if jurisdiction and not normalize_jurisdiction(jurisdiction):
            raise CommandError(f"--jurisdiction: {INVALID_JURISDICTION}")

        def report_malformed(line: int, reason: str) -> None:
            self.stderr.write(f"line {line}: {reason}")

        try:
            report = filter_audience(
                organization=organization,
                purpose=purpose,
                input_path=input_path,
                output_path=output_path,
                column=options["column"],
                identifier_type=options["identifier_type"],
                jurisdiction=normalize_jurisdiction(jurisdiction),
                batch_size=max(1, options["batch_size"]),
                report_malformed=report_malformed,
            )
        except AudienceError as exc:
            raise CommandError(str(exc)) from None
        self._print(report, purpose)

    def _print(self, report, purpose: Purpose) -> None:
        out = self.stdout
        out.write(f"rows read:   {report.rows}")
        out.write(f"allowed:     {report.allowed}")
        out.write(f"not allowed: {report.rows - report.allowed - report.malformed}")
        out.write(f"malformed:   {report.malformed}")
        out.write(f"by reason ({purpose.key}):")
        for reason, count in sorted(report.reasons.items(), key=lambda item: (-item[1], item[0])):
            out.write(f"  {reason:<16} {count}")
