"""Compare the mirror with Kartra, lead by lead, without changing it (unless --repair)."""

import json
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError, CommandParser
from django.core.serializers.json import DjangoJSONEncoder
from django.urls import reverse

from events.audit.runs import (
    LeadDrift,
    audit_all,
    audit_run,
    audit_sample,
    audit_targets_read,
)
from events.models import AuditRun, DriftCause, SyncRunStatus
from leads.services.sync import credentials_configured, sync_client

#: Exit status when more than --max-drift percent of the compared leads differ.
DRIFT_EXIT = 3
#: A value longer than this is cut in the printed list (the audit run keeps it whole).
VALUE_WIDTH = 120


def shown(value) -> str:
    """A mirror or Kartra value as printed: JSON, ``none`` for nothing."""
    if value is None:
        return "none"
    text = json.dumps(value, cls=DjangoJSONEncoder, ensure_ascii=False)
    return text if len(text) <= VALUE_WIDTH else text[: VALUE_WIDTH - 1] + "…"


class Command(BaseCommand):
    help = (
        "Compare leads of the mirror with Kartra's get_lead answers, field by field and "
        "relation by relation, and record the differences as an audit run. Applies nothing "
        "unless --repair. Calls draw from the same rate budget as the refresh."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        which = parser.add_mutually_exclusive_group(required=True)
        which.add_argument("--sample", type=int, metavar="N", help="N leads at random")
        which.add_argument("--all", action="store_true", help="every lead of the mirror")
        which.add_argument(
            "--leads", type=Path, metavar="FILE",
            help="Kartra ids or emails, one per line, or Kartra's lead export CSV",
        )  # fmt: skip
        parser.add_argument(
            "--repair", action="store_true",
            help="then apply Kartra's answers for the leads that differ, as a refresh would",
        )  # fmt: skip
        parser.add_argument(
            "--show", type=int, default=50, metavar="N",
            help="print the differences of at most N leads (default 50; all are recorded)",
        )  # fmt: skip
        parser.add_argument(
            "--max-drift", type=float, metavar="P",
            help=f"exit {DRIFT_EXIT} when more than P%% of the compared leads differ",
        )  # fmt: skip
        parser.add_argument(
            "--workers", type=int, help="get_lead calls in flight (default: KARTRA_API_RATE)"
        )

    def handle(self, *args, **options):
        if options["show"] < 0 or (options["sample"] is not None and options["sample"] < 1):
            raise CommandError("--sample and --show take a positive number")
        if not credentials_configured():
            raise CommandError(
                "Kartra credentials are not configured: set KARTRA_APP_ID, KARTRA_API_KEY and "
                "KARTRA_API_PASSWORD"
            )
        kind, targets = self._select(options)
        self.stdout.write(f"Comparing {len(targets)} leads with Kartra…")
        differing: list[LeadDrift] = []
        done, step = 0, max(1, len(targets) // 10)

        def keep(drift: LeadDrift) -> None:
            nonlocal done
            done += 1
            if drift.differences and len(differing) < options["show"]:
                differing.append(drift)
            if done % step == 0 and done < len(targets):
                self.stdout.write(f"  {done}/{len(targets)} leads compared")

        started = time.monotonic()
        with sync_client() as client:
            run = audit_run(
                client, targets, kind=kind, arguments=self._arguments(options),
                repair=options["repair"], workers=options["workers"], on_lead=keep,
            )  # fmt: skip
        self._summary(run, time.monotonic() - started)
        self._differences(run, differing)
        self._exit(run, options["max_drift"])

    def _select(self, options) -> tuple[str, list]:
        if options["sample"] is not None:
            return "sample", audit_sample(options["sample"])
        if options["all"]:
            return "all", audit_all()
        path = options["leads"]
        if not path.is_file():
            raise CommandError(f"no such file: {path}")
        found, targets, invalid = audit_targets_read(path)
        self.stdout.write(f"Reading {path}: {found}.")
        for ref in invalid[:10]:
            self.stderr.write(f"  line {ref.line}: not an email or lead id: {ref.text!r}")
        if len(invalid) > 10:
            self.stderr.write(f"  … {len(invalid) - 10} more lines that name no lead")
        return "leads", targets

    @staticmethod
    def _arguments(options) -> dict:
        arguments = {key: options[key] for key in ("sample", "all", "repair", "max_drift")}
        if options["leads"] is not None:
            arguments["leads"] = str(options["leads"])
        return {key: value for key, value in arguments.items() if value not in (None, False)}

    def _summary(self, run: AuditRun, seconds: float) -> None:
        drift = run.drift_percent
        self.stdout.write(
            f"Audit run {run.pk} ({run.kind}) {run.status} in {seconds:.1f} s: "
            f"{run.leads_compared} leads compared, {run.leads_differing} differ"
            f"{f' ({drift:.1f}%)' if drift is not None else ''}, "
            f"{run.leads_not_found} not found in Kartra, {run.leads_failed} failed; "
            f"{run.api_calls} API calls, {run.throttled} throttled (429), {run.retries} retries."
        )
        if run.causes:
            causes = ", ".join(f"{n} {DriftCause(c).label}" for c, n in run.causes.items())
            self.stdout.write(f"Differences ({run.differences_found}): {causes}.")
        for error in run.errors[:10]:
            self.stderr.write(f"  {error['target']}: {error['error']}")

    def _differences(self, run: AuditRun, differing: list[LeadDrift]) -> None:
        for drift in differing:
            self.stdout.write(f"{drift}:")
            for difference in drift.differences:
                self.stdout.write(
                    f"  {difference}: mirror {shown(difference.mirror)}, "
                    f"Kartra {shown(difference.kartra)} ({DriftCause(difference.cause).label})"
                )
        rest = run.leads_differing - len(differing)
        if rest > 0:
            url = reverse("admin:events_auditrun_change", args=[run.pk])
            self.stdout.write(f"… {rest} more differing leads in audit run {run.pk} ({url}).")
        if run.repair_run_id is not None:
            self.stdout.write(
                f"Repaired {run.leads_repaired} leads through sync run {run.repair_run_id}."
            )

    def _exit(self, run: AuditRun, max_drift: float | None) -> None:
        if run.status == SyncRunStatus.FAILED:
            raise CommandError(f"audit run {run.pk} stopped: {run.errors[-1]['error']}")
        drift = run.drift_percent or 0.0
        if max_drift is not None and drift > max_drift:
            raise CommandError(
                f"audit run {run.pk}: {drift:.1f}% of the compared leads differ, more than "
                f"{max_drift:g}%", returncode=DRIFT_EXIT,
            )  # fmt: skip
        if run.leads_failed:
            raise CommandError(f"audit run {run.pk}: {run.leads_failed} leads failed")
