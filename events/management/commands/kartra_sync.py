"""Refresh leads (and the catalogues) from Kartra's inbound API, recorded as a sync run."""

import time
from collections.abc import Callable

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.db.models.functions import Lower

from events.selectors import parse_age
from events.sync.catalogs import catalog_sync_into
from events.sync.refresh import leads_refresh
from events.sync.runs import sync_run
from leads.models import Lead
from leads.services.due import leads_due, leads_stale
from leads.services.settle import FAILED
from leads.services.sync import Target, credentials_configured, sync_client, targets_of


def _split(values: list[str] | None) -> list[str]:
    return [part.strip() for value in values or [] for part in value.split(",") if part.strip()]


class Command(BaseCommand):
    help = (
        "Refresh leads from Kartra with get_lead (by --email/--id, --all, --stale AGE or "
        "--due) after syncing the catalogues, or sync the catalogues alone (--catalog). "
        "Exits non-zero if any lead failed."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--email", action="append", help="lead email (repeatable, or comma-separated)"
        )
        parser.add_argument(
            "--id",
            action="append",
            dest="ids",
            help="Kartra lead id (repeatable, or comma-separated)",
        )
        which = parser.add_mutually_exclusive_group()
        which.add_argument("--all", action="store_true", help="every lead in the mirror")
        which.add_argument(
            "--stale", metavar="AGE", help="leads not refreshed for AGE (e.g. 12h, 7d) or never"
        )
        which.add_argument(
            "--due", action="store_true", help="leads with a refresh request, then stale ones"
        )
        parser.add_argument(
            "--catalog", action="store_true",
            help="sync the catalogues (alone: only them; they are synced before leads anyway)",
        )  # fmt: skip
        parser.add_argument(
            "--no-catalog", action="store_true", help="do not sync the catalogues first"
        )
        parser.add_argument("--limit", type=int, help="refresh at most N leads")
        parser.add_argument(
            "--workers", type=int, help="get_lead calls in flight (default: KARTRA_API_RATE)"
        )
        parser.add_argument(
            "--dry-run", action="store_true", help="show what would be synced; call nothing"
        )

    def handle(self, *args, **options):
        kind, targets = self._select(options)
        catalog = options["catalog"] or (targets is not None and not options["no_catalog"])
        if targets is None and not catalog:
            raise CommandError("say what to sync: --email/--id, --all, --stale, --due or --catalog")
        if options["dry_run"]:
            return self._dry_run(kind, targets, catalog)
        if not credentials_configured():
            raise CommandError(
                "Kartra credentials are not configured: set KARTRA_APP_ID, KARTRA_API_KEY and "
                "KARTRA_API_PASSWORD (kartra_serve runs a demo against a fake Kartra without them)"
            )
        client = sync_client()
        started = time.monotonic()
        arguments = self._arguments(options)
        with client, sync_run(kind=kind or "catalog", client=client, arguments=arguments) as rec:
            if catalog:
                counts = catalog_sync_into(rec)
                self.stdout.write(
                    "Catalogues: " + ", ".join(f"{n} {name}" for name, n in counts.items())
                )
            if targets:
                with self._progress(len(targets)) as on_result:
                    leads_refresh(
                        client, targets, rec, workers=options["workers"], on_result=on_result
                    )
        run = rec.run
        self._summary(run, time.monotonic() - started)
        if rec.stopped is not None:
            raise CommandError(f"sync run {run.pk} stopped: {rec.stopped}")
        if run.leads_failed:
            raise CommandError(f"sync run {run.pk}: {run.leads_failed} leads failed")

    # -- selection -------------------------------------------------------------------------

    def _select(self, options) -> tuple[str | None, list[Target] | None]:
        emails, ids = _split(options["email"]), _split(options["ids"])
        limit = options["limit"]
        if limit is not None and limit < 1:
            raise CommandError("--limit must be at least 1")
        chosen = [options["all"], bool(options["stale"]), options["due"], bool(emails or ids)]
        if sum(chosen) > 1:
            raise CommandError("choose one of --email/--id, --all, --stale or --due")
        if emails or ids:
            targets = self._named_targets(emails, ids)
            return "leads", targets[:limit] if limit else targets
        if options["all"]:
            query = Lead.objects.order_by("pk")
            return "all", targets_of(query[:limit] if limit else query)
        if options["stale"]:
            try:
                age = parse_age(options["stale"])
            except ValueError as exc:
                raise CommandError(str(exc)) from exc
            query = leads_stale(older_than=age)
            return "stale", targets_of(query[:limit] if limit else query)
        if options["due"]:
            return "due", targets_of(leads_due(limit or 10**9))
        return None, None

    def _named_targets(self, emails: list[str], ids: list[str]) -> list[Target]:
        targets = []
        for text in ids:
            if not text.isdigit() or int(text) < 1:
                raise CommandError(f"not a Kartra lead id: {text!r}")
            targets.append(Target(kartra_id=int(text)))
        known = dict(
            Lead.objects.annotate(email_ci=Lower("email"))
            .filter(email_ci__in=[e.lower() for e in emails], kartra_id__isnull=False)
            .values_list("email_ci", "kartra_id")
        )
        for email in emails:
            if "@" not in email:
                raise CommandError(f"not an email: {email!r}")
            kartra_id = known.get(email.lower())
            targets.append(Target(kartra_id=kartra_id) if kartra_id else Target(email=email))
        return list(dict.fromkeys(targets))

    @staticmethod
    def _arguments(options) -> dict:
        keys = ("email", "ids", "all", "stale", "due", "catalog", "no_catalog", "limit")
        return {key: options[key] for key in keys if options.get(key)}

    # -- output ----------------------------------------------------------------------------

    def _dry_run(self, kind, targets, catalog) -> None:
        if catalog:
            self.stdout.write("Would sync the catalogues (tags, lists, sequences, custom "
                              "fields, pages).")  # fmt: skip
        if targets is not None:
            self.stdout.write(f"Would refresh {len(targets)} leads ({kind}):")
            for target in targets[:20]:
                self.stdout.write(f"  {target}")
            if len(targets) > 20:
                self.stdout.write(f"  … and {len(targets) - 20} more")
        self.stdout.write("Dry run: nothing was called or changed.")

    def _progress(self, total: int):
        if self.stdout.isatty():
            return _RichProgress(total)
        return _LogProgress(total, self.stdout.write)

    def _summary(self, run, seconds: float) -> None:
        self.stdout.write(
            f"Sync run {run.pk} ({run.kind}) {run.status} in {seconds:.1f} s: "
            f"{run.leads_refreshed} refreshed, {run.leads_unchanged} unchanged, "
            f"{run.leads_not_found} not found or deleted, {run.leads_failed} failed; "
            f"{run.api_calls} API calls, {run.throttled} throttled (429), {run.retries} retries."
        )
        for error in run.errors[:10]:
            self.stderr.write(f"  {error['target']}: {error['error']}")
        if len(run.errors) > 10:
            self.stderr.write(f"  … {len(run.errors) - 10} more errors on sync run {run.pk}")


class _LogProgress:
    """Plain lines for logs: failures as they happen, a count every 10%."""

    def __init__(self, total: int, write: Callable[[str], None]) -> None:
        self.total, self.write = total, write
        self.done = self.errors = 0
        self.step = max(1, total // 10)
        self.started = time.monotonic()

    def __enter__(self):
        self.write(f"Refreshing {self.total} leads…")
        return self.on_result

    def __exit__(self, *exc_info) -> None:
        pass

    def on_result(self, target: Target, outcome: str) -> None:
        self.done += 1
        if outcome == FAILED:
            self.errors += 1
            self.write(f"  {target}: failed")
        if self.done % self.step == 0 or self.done == self.total:
            rate = self.done / max(time.monotonic() - self.started, 1e-6)
            self.write(f"  {self.done}/{self.total} leads, {rate:.1f}/s, {self.errors} errors")


class _RichProgress:
    """A progress bar with rate, ETA and error count, for terminals."""

    def __init__(self, total: int) -> None:
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            Progress,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )

        self.progress = Progress(
            TextColumn("[bold]Refreshing"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[rate]}"),
            TimeElapsedColumn(),
            TextColumn("ETA"),
            TimeRemainingColumn(),
            TextColumn("[red]{task.fields[errors]} errors"),
        )
        self.task = self.progress.add_task("leads", total=total, rate="", errors=0)
        self.errors = 0
        self.started = time.monotonic()

    def __enter__(self):
        self.progress.start()
        return self.on_result

    def __exit__(self, *exc_info) -> None:
        self.progress.stop()

    def on_result(self, target: Target, outcome: str) -> None:
        self.errors += outcome == FAILED
        done = self.progress.tasks[0].completed + 1
        rate = done / max(time.monotonic() - self.started, 1e-6)
        self.progress.update(self.task, advance=1, rate=f"{rate:.1f} leads/s", errors=self.errors)
