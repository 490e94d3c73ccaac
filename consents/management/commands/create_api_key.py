from django.core.management.base import BaseCommand, CommandError

from consents.keys import create_api_key
from consents.models import ApiKey, Organization


class Command(BaseCommand):
    help = "Create an API key for an organization and print it once (last line of output)."

    def add_arguments(self, parser):
        parser.add_argument("--org", required=True, help="Organization slug")
        parser.add_argument("--name", required=True, help="What the key is for")
        parser.add_argument(
            "--scopes",
            required=True,
            help=f"Comma-separated, from: {', '.join(ApiKey.Scope.values)}",
        )

    def handle(self, *args, org, name, scopes, **options):
        organization = Organization.objects.filter(slug=org).first()
        if organization is None:
            raise CommandError(f"No organization with slug {org!r}.")
        requested = [s.strip() for s in scopes.split(",") if s.strip()]
        unknown = sorted(set(requested) - set(ApiKey.Scope.values))
        if unknown or not requested:
            raise CommandError(
                f"Unknown scope(s): {', '.join(unknown) or '(none given)'}. "
                f"Choose from: {', '.join(ApiKey.Scope.values)}."
            )
        if not name.strip():
            raise CommandError("--name must not be empty.")
        longest_name = ApiKey._meta.get_field("name").max_length
        if len(name.strip()) > longest_name:
            raise CommandError(f"--name must be at most {longest_name} characters.")
        api_key, raw = create_api_key(
            organization=organization,
            name=name.strip(),
            scopes=requested,
            created_by="command line",
        )
        self.stdout.write(
            f"Created API key {api_key.name!r} ({api_key.prefix}) for {organization.slug} "
            f"with scopes {', '.join(api_key.scopes)}. It is shown only now:"
        )
        self.stdout.write(raw)
