"""A process that records a consent, then hangs inside its transaction until it is killed.

python -m tests.fault_writer ORG_ID   (DATABASE_URL names the database)
"""

import os
import sys
import time


def main(org_id: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "consent_platform.settings")
    import django

    django.setup()
    from django.db import transaction

    from consents.models import Organization
    from consents.services import record_consent

    organization = Organization.objects.get(pk=org_id)
    with transaction.atomic():
        record_consent(
            organization=organization,
            identifiers={"email": "victim@example.com"},
            choices={"marketing_email": False, "analytics": True},
            source="api",
            actor="fault",
        )
        print("written, not committed", flush=True)
        time.sleep(120)


if __name__ == "__main__":
    main(int(sys.argv[1]))
