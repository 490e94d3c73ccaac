"""A separate process that records consents for one subject: used by concurrency tests.

python -m tests.ledger_writer ORG_ID WORKER COUNT   (DATABASE_URL names the database)
"""

import os
import sys


def main(org_id: int, worker: int, count: int) -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "consent_platform.settings")
    import django

    django.setup()
    from consents.models import Organization
    from consents.services import record_consent

    organization = Organization.objects.get(pk=org_id)
    for i in range(count):
        record_consent(
            organization=organization,
            identifiers={"email": "same@example.com"},
            choices={"marketing_email": (worker + i) % 2 == 0, "analytics": i % 3 == 0},
            source="api",
            actor=f"worker-{worker}",
        )


if __name__ == "__main__":
    main(int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]))
