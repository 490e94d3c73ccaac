from django.core.management.base import BaseCommand

from consents.demo import DEMO_PASSWORD, DEMO_USERNAME, seed_demo


class Command(BaseCommand):
    help = "Create or refresh the demo organization, site, purposes, admin user and history."

    def handle(self, *args, **options):
        organization = seed_demo()
        self.stdout.write(
            f"Demo organization {organization.slug!r} ready "
            f"(admin user {DEMO_USERNAME!r}, password {DEMO_PASSWORD!r})."
        )
