"""Delete the raw bodies of old deliveries and the change history past its retention; the
mirror's state stays."""

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from events.selectors import deliveries_prunable, parse_age
from leads.selectors import changes_prunable


class Command(BaseCommand):
    help = (
        "Delete the raw bodies of processed deliveries older than an age (e.g. 90d), and of "
        "failed, rejected and unknown-action ones older than KARTRA_PRUNE_FAILED_DAYS, "
        "KARTRA_PRUNE_REJECTED_DAYS and KARTRA_PRUNE_UNKNOWN_DAYS (never sooner than processed "
        "ones). Unprocessed deliveries are never touched. Also deletes the changes of the "
        "change history recorded more than KARTRA_HISTORY_DAYS ago."
    )

    def add_arguments(self, parser):
        parser.add_argument("--older-than", required=True, help="age such as 90d, 12h, 2w")
        parser.add_argument("--dry-run", action="store_true", help="only count")

    def handle(self, *args, older_than, dry_run, **options):
        try:
            age = parse_age(older_than)
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        prunable = deliveries_prunable(older_than=age)
        changes = changes_prunable()
        if dry_run:
            self.stdout.write(f"Would prune the bodies of {prunable.count()} deliveries.")
            self.stdout.write(f"Would delete {changes.count()} changes of the history.")
            return
        pruned = prunable.update(body=None, body_pruned_at=timezone.now())
        self.stdout.write(
            f"Pruned the bodies of {pruned} deliveries: processed ones older than {older_than}, "
            "failed, rejected and unknown-action ones past their KARTRA_PRUNE_*_DAYS."
        )
        deleted, _ = changes.delete()
        self.stdout.write(f"Deleted {deleted} changes recorded before KARTRA_HISTORY_DAYS.")
