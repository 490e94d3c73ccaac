from django.core.management.base import BaseCommand, CommandError

from consents.models import Organization
from consents.retention import RetentionPeriodInvalid, apply_retention


class Command(BaseCommand):
    help = "Delete or de-identify what is past the organization's retention periods, in batches."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True)
        parser.add_argument(
            "--dry-run", action="store_true", help="Report what would go; change nothing."
        )

    def handle(self, *args, org, dry_run, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization with slug {org!r}.")
        try:
            report = apply_retention(organization, dry_run=dry_run, performed_by="apply_retention")
        except RetentionPeriodInvalid as exc:
            raise CommandError(str(exc)) from None
        verb = "Would" if dry_run else "Did"
        self.stdout.write(
            f"{verb} delete {report.subjects_deleted} anonymous subjects and "
            f"{report.events_deleted} events, de-identify {report.events_deidentified} events, "
            f"lapse {report.marketing_lapsed} marketing grants"
            f" (retention: anonymous {organization.anonymous_event_retention_days} d, identified "
            f"{organization.identified_event_retention_days} d, marketing "
            f"{organization.marketing_retention_days} d)."
        )
