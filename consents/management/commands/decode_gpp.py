"""Explain a GPP string (or a US Privacy string) field by field."""

import json

from django.core.management.base import BaseCommand, CommandError

from consents.gpp import GppError, decode_us_privacy, explain_gpp


class Command(BaseCommand):
    help = "Explain a GPP string such as DBABLA~CEAQAAAAAACA.YA (or a US Privacy string like 1YNN)."

    def add_arguments(self, parser):
        parser.add_argument("string")
        parser.add_argument("--json", action="store_true", help="Print the explanation as JSON.")

    def handle(self, *args, string, **options):
        try:
            explained = (
                {"us_privacy": decode_us_privacy(string)}
                if string.startswith("1") and len(string) == 4
                else explain_gpp(string)
            )
        except GppError as exc:
            raise CommandError(f"Not a valid string: {exc}") from None
        if options["json"]:
            self.stdout.write(json.dumps(explained, indent=2))
            return
        if "us_privacy" in explained:
            for name, value in explained["us_privacy"].items():
                self.stdout.write(f"{name:<20} {value}")
            return
        header = explained["header"]
        self.stdout.write(
            f"GPP header: Type {header['Type']}, Version {header['Version']}, "
            f"sections {header['SectionIds']}"
        )
        for section in explained["sections"]:
            self.stdout.write("")
            self.stdout.write(f"Section {section['id']} ({section['prefix']})")
            if not section["decoded"]:
                self.stdout.write(f"  not decoded here: {section['encoded']}")
            for row in section["fields"]:
                value = "-" if row["value"] is None else row["value"]
                self.stdout.write(f"  {row['field']:<38} {value!s:<6} {row['meaning']}")
