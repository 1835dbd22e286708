"""Erase a lead and everything about it from the mirror, or lift its suppression."""

import getpass

from django.core.management.base import BaseCommand, CommandError

from events.erasure import ErasureError, lead_erase, lead_erase_lift


def os_user() -> str:
    try:
        return getpass.getuser()
    except (KeyError, OSError):  # no login name (a container's numeric user)
        return "unknown"


class Command(BaseCommand):
    help = (
        "Erase a lead (by email or Kartra id): delete it and every row about it, redact the "
        "stored deliveries that mention it, put its identifiers on the suppression list and "
        "record the erasure. --lift takes identifiers off the suppression list."
    )

    def add_arguments(self, parser):
        parser.add_argument("--email", default="", help="the lead's email (any case)")
        parser.add_argument("--id", type=int, dest="kartra_id", help="the lead's Kartra id")
        parser.add_argument("--dry-run", action="store_true", help="only count, change nothing")
        parser.add_argument(
            "--yes", "--no-input", action="store_true", dest="yes", help="do not ask to confirm"
        )
        parser.add_argument(
            "--lift", action="store_true", help="remove the identifiers from the suppression list"
        )

    def handle(self, *args, email, kartra_id, dry_run, yes, lift, **options):
        if not email and kartra_id is None:
            raise CommandError("give --email or --id")
        if lift:
            lifted = lead_erase_lift(email=email, kartra_id=kartra_id)
            self.stdout.write(f"Lifted {lifted} suppression(s).")
            return
        try:
            plan = lead_erase(email=email, kartra_id=kartra_id, actor="", dry_run=True)
        except ErasureError as exc:
            raise CommandError(str(exc)) from exc
        self._counts("Would erase" if dry_run else "To erase", plan)
        if dry_run:
            return
        if not yes and not self._confirmed():
            raise CommandError("Erasure cancelled; nothing changed.")
        record = lead_erase(email=email, kartra_id=kartra_id, actor=f"os:{os_user()}")
        self._counts(f"Erased (record {record.pk})", record)

    def _counts(self, heading: str, record) -> None:
        found = "the lead" if record.lead_found else "no lead in the mirror, its mentions"
        self.stdout.write(f"{heading}: {found}.")
        for table, count in record.counts.items():
            self.stdout.write(f"  {table}: {count}")
        if not record.counts:
            self.stdout.write("  nothing stored about it")

    def _confirmed(self) -> bool:
        answer = input("This cannot be undone. Type 'yes' to erase: ")
        return answer.strip().lower() == "yes"
