import secrets

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.management.base import BaseCommand

from consents.demo import DEMO_PASSWORD, DEMO_USERNAME, seed_demo


class Command(BaseCommand):
    help = "Create or refresh the demo organization, site, purposes, admin user and history."

    def handle(self, *args, **options):
        # The published demo password is for a local run only: on a server (DEBUG off) the
        # demo's superuser would otherwise open the admin to anyone who read the README.
        password = DEMO_PASSWORD if settings.DEBUG else secrets.token_urlsafe(16)
        new_admin = not get_user_model().objects.filter(username=DEMO_USERNAME).exists()
        organization = seed_demo(admin_password=password)
        shown = repr(password) if new_admin else "unchanged"
        self.stdout.write(
            f"Demo organization {organization.slug!r} ready "
            f"(admin user {DEMO_USERNAME!r}, password {shown})."
        )
