import re
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from consents.exports import export_public_key_hex
from consents.models import Organization
from consents.verification import (
    compare_export_with_live,
    verify_export_file,
    verify_organization_ledger,
)


class Command(BaseCommand):
    help = (
        "Verify an export file against its chains and signed manifest, or (--org) the live "
        "ledger. Exits 1 naming the first event edited, removed, inserted or reordered."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "file", nargs="?", help="Export file (its manifest beside it or inside)"
        )
        parser.add_argument(
            "--org", help="Verify this organization's live ledger (or trust its key)"
        )
        parser.add_argument(
            "--public-key", help="Trusted export public key (hex) for the signature"
        )
        parser.add_argument(
            "--against-live",
            action="store_true",
            help="With FILE and --org: every event of the export must still be in the live "
            "ledger unchanged (or removed by retention)",
        )

    def handle(self, *args, file=None, org=None, public_key=None, against_live=False, **options):
        organization, trusted = None, None
        if public_key is not None and not re.fullmatch(r"[0-9a-fA-F]{64}", public_key.strip()):
            raise CommandError(
                "--public-key must be the 64 hexadecimal digits of an Ed25519 public key "
                "(the organization's export key, shown in the admin)."
            )
        if org:
            organization = Organization.objects.filter(slug=org).first()
            if organization is None:
                raise CommandError(f"No organization with slug {org!r}.")
        if file:
            path = Path(file)
            if not path.is_file():
                raise CommandError(f"No such file: {file}")
            trusted = public_key or (export_public_key_hex(organization) if organization else None)
            result = verify_export_file(path, trusted)
            chain, problems = result.chain, list(result.problems)
        elif organization:
            chain, problems = verify_organization_ledger(organization), []
        else:
            raise CommandError("Give an export FILE, or --org ORG to verify the live ledger.")
        if chain.problems:
            first = chain.problems[0]
            raise CommandError(f"FAILED: {first.kind}: {first.message}", returncode=1)
        if problems:
            raise CommandError("FAILED: " + "; ".join(problems), returncode=1)
        verified = f"OK: {chain.events} events in {chain.subjects} chains verified"
        if file and not trusted:
            # Whoever wrote the file chose the key inside it: a forger re-signs with their own.
            verified += (
                "; the signature was checked against the public key inside the manifest only, "
                "which proves the file intact as signed, not who signed it: give --public-key "
                "(the organization's export key, shown in the admin) or --org to check that"
            )
        self.stdout.write(verified + ".")
        if against_live:
            if not (file and organization):
                raise CommandError("--against-live needs an export FILE and --org ORG.")
            comparison = compare_export_with_live(Path(file), organization)
            if comparison.problem:
                raise CommandError(
                    f"FAILED against the live ledger: {comparison.problem}", returncode=1
                )
            self.stdout.write(
                f"OK against the live ledger: {comparison.matching} events unchanged, "
                f"{comparison.removed_by_retention} removed by retention."
            )
