"""Re-run processing of stored deliveries from their raw bodies."""

from collections import Counter

from django.core.management.base import BaseCommand, CommandError

from events.models import DeliveryStatus
from events.selectors import deliveries_matching, parse_moment
from events.services import delivery_process


class Command(BaseCommand):
    help = (
        "Reprocess stored webhook deliveries, selected by id, status, action and time. "
        "Exits non-zero if any fails again."
    )

    def add_arguments(self, parser):
        parser.add_argument("ids", nargs="*", type=int, help="delivery ids")
        parser.add_argument(
            "--status",
            action="append",
            choices=[s.value for s in DeliveryStatus],
            help="only deliveries with this status (repeatable)",
        )
        parser.add_argument("--action", action="append", help="only this action (repeatable)")
        parser.add_argument("--since", help="received at or after (ISO date/datetime, UTC)")
        parser.add_argument("--until", help="received before (ISO date/datetime, UTC)")

    def handle(self, *args, ids, status, action, since, until, **options):
        if not (ids or status or action or since or until):
            raise CommandError("say what to replay: ids, --status, --action, --since/--until")
        try:
            selection = deliveries_matching(
                ids=ids,
                statuses=status,
                actions=action,
                since=parse_moment(since) if since else None,
                until=parse_moment(until) if until else None,
            )
        except ValueError as exc:
            raise CommandError(str(exc)) from exc
        outcomes: Counter[str] = Counter()
        failed = []
        for delivery_id in selection.values_list("pk", flat=True).iterator():
            delivery = delivery_process(delivery_id=delivery_id)
            outcomes[delivery.status] += 1
            if delivery.status in (DeliveryStatus.FAILED, DeliveryStatus.REJECTED):
                failed.append(f"  delivery {delivery.pk}: {delivery.status}: {delivery.error}")
        total = sum(outcomes.values())
        summary = ", ".join(f"{n} {s}" for s, n in sorted(outcomes.items())) or "nothing"
        self.stdout.write(f"Replayed {total} deliveries: {summary}.")
        if failed:
            self.stderr.write("\n".join(failed))
            raise CommandError(f"{len(failed)} deliveries failed again")
