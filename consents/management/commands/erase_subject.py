from django.core.exceptions import ValidationError
from django.core.management.base import BaseCommand, CommandError

from consents.identifiers import IDENTIFIER_KINDS
from consents.models import Organization
from consents.retention import SubjectNotFound, erase_subject


class Command(BaseCommand):
    help = (
        "Erase a person on request: identifiers and personal data are removed; a hashed "
        "suppression record keeps them from being contacted again."
    )

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True)
        for kind in IDENTIFIER_KINDS:
            parser.add_argument(f"--{kind.replace('_', '-')}", dest=kind)
        parser.add_argument("--by", default="command line", help="Who handled the request")

    def handle(self, *args, org, by, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization with slug {org!r}.")
        given = [(k, options[k]) for k in IDENTIFIER_KINDS if options.get(k)]
        if len(given) != 1:
            raise CommandError("Give exactly one of --email, --phone, --user-id, --visitor-id.")
        kind, value = given[0]
        try:
            result = erase_subject(organization, kind=kind, value=value, performed_by=by)
        except ValidationError as exc:
            raise CommandError(f"Invalid {kind}: {' '.join(exc.messages)}") from None
        except SubjectNotFound as exc:
            raise CommandError(str(exc)) from None
        self.stdout.write(
            f"Erased subject {result.subject_uid}: "
            f"{result.identifiers_removed} identifiers removed, "
            f"{result.suppressions} suppression records kept, {result.events_deidentified} events "
            f"de-identified, {result.states_removed} state rows removed."
        )
