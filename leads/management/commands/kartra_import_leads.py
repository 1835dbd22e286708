"""Import leads to mirror from Kartra's lead export CSV or a plain list of emails or ids."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from leads.services.importing import lead_refs_read, leads_import


class Command(BaseCommand):
    help = (
        "Create the leads listed in FILE that the mirror does not have yet (as pending) and "
        "request their refresh. FILE is Kartra's lead export CSV (the email and id columns "
        "are found by their header) or a plain file with one email or lead id per line. "
        "Safe to re-run."
    )

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--dry-run", action="store_true", help="count only; change nothing")

    def handle(self, *args, file: Path, dry_run: bool, **options):
        if not file.is_file():
            raise CommandError(f"no such file: {file}")
        found, refs = lead_refs_read(file)
        self.stdout.write(f"Reading {file}: {found}.")
        report = leads_import(refs, dry_run=dry_run)
        verb = "Would create" if dry_run else "Created"
        self.stdout.write(
            f"{verb} {report.created} pending leads; {report.existing} already in the mirror; "
            f"{report.invalid} invalid lines; {report.duplicates} repeated in the file; "
            f"{report.suppressed} erased (on the suppression list); "
            f"refresh requested for {report.refresh_requested}."
        )
        for line, text in report.invalid_lines:
            self.stderr.write(f"  line {line}: not an email or lead id: {text!r}")
        if report.invalid > len(report.invalid_lines):
            self.stderr.write(f"  … {report.invalid - len(report.invalid_lines)} more")
        if not dry_run and report.refresh_requested:
            self.stdout.write(
                "They are fetched by the refresh loop of kartra_serve, the Celery beat task, "
                "or now with: python manage.py kartra_sync --due"
            )
