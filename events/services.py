"""Webhook deliveries: stored as received in the request, processed in batches afterwards.

The request only stores (``delivery_store``, one INSERT). Processing claims stored
deliveries in receive order (``deliveries_process_batch``; on PostgreSQL with
``SKIP LOCKED``, so several workers never take the same one), locks every lead the batch
writes in one global order, and applies each delivery in a savepoint of the batch's
transaction. A failure of the database itself (lost connection, deadlock, timeout) rolls
the whole batch back for a retry; an error in one delivery's content or in our code marks
that delivery ``failed`` with its traceback and the rest of the batch goes on.
"""

import hashlib
import logging
import traceback
from collections.abc import Sequence
from datetime import timedelta

from django.conf import settings
from django.db import InterfaceError, OperationalError, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Greatest
from django.utils import timezone

from leads.models import Lead, Source
from leads.normalize import PayloadError, WebhookEvent, parse_webhook
from leads.services.lead import lead_apply_profile, lead_lock, lead_request_refresh
from leads.services.locks import leads_discard_unused, leads_lock
from leads.services.observation import Observation

from .appliers import APPLIERS, ActivityTarget
from .models import Activity, Delivery, DeliveryStatus

logger = logging.getLogger(__name__)

#: Errors of the database rather than of a delivery: the batch is rolled back and retried.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)

#: What processing writes on each delivery of a batch (one UPDATE for the whole batch).
_OUTCOME_FIELDS = [
    "status",
    "error",
    "traceback",
    "processed_at",
    "attempts",
    "action",
    "lead_kartra_id",
    "lead",
    "probable_duplicate_of",
]


def delivery_store(
    *,
    body: bytes,
    content_type: str = "",
    headers: dict[str, str] | None = None,
    remote_addr: str | None = None,
    status: str = DeliveryStatus.RECEIVED,
    error: str = "",
    action: str = "",
    lead_kartra_id: int | None = None,
) -> Delivery:
    """Save a delivery exactly as received, with one INSERT in its own transaction
    (autocommit), before anything applies it. ``action`` and ``lead_kartra_id`` are what
    the request already read from the body, if anything; processing confirms them."""
    return Delivery.objects.create(
        received_at=timezone.now(),
        body=body if status != DeliveryStatus.TOO_LARGE else None,
        body_sha256=hashlib.sha256(body).hexdigest(),
        size=len(body),
        content_type=content_type[:255],
        headers=headers or {},
        remote_addr=remote_addr,
        status=status,
        error=error,
        action=action[:64],
        lead_kartra_id=lead_kartra_id,
    )


def deliveries_process_batch(*, limit: int | None = None) -> int:
    """Claim up to ``limit`` (``KARTRA_DELIVERY_BATCH``) unprocessed deliveries, oldest
    first, and process them in one transaction. Returns how many were claimed: 0 when none
    is waiting. Raises one of ``TRANSIENT_ERRORS`` when the database failed; the batch is
    then rolled back and its deliveries wait, unprocessed, for the next attempt."""
    limit = limit or settings.KARTRA_DELIVERY_BATCH
    with transaction.atomic():
        batch = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=DeliveryStatus.RECEIVED)
            .order_by("received_at", "pk")[:limit]
        )
        if batch:
            _process_guarded(batch)
    return len(batch)


def delivery_process(*, delivery_id: int) -> Delivery:
    """Process one stored delivery now, whatever its status (the request in
    ``KARTRA_PROCESS_INLINE`` mode, ``kartra_replay``, the admin's Reprocess); safe to run
    again on the same delivery.

    The outcome is recorded on the delivery: ``processed``, ``unknown_action`` (profile
    applied, activity recorded under the action's own name), ``rejected`` (not a Kartra
    event, nothing applied) or ``failed`` (our error; exception and traceback kept, nothing
    applied). Never raises for a bad body or a processing error; raises one of
    ``TRANSIENT_ERRORS`` when the database failed, leaving the delivery as it was.
    """
    with transaction.atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery_id)
        _process_guarded([delivery])
    return delivery


def _process_guarded(batch: Sequence[Delivery]) -> None:
    """``_process`` the batch; should the batch as a whole fail for a reason other than the
    database (a bug outside any one delivery's savepoint), process each delivery alone so
    that the one at fault is marked ``failed`` and the others are applied."""
    attempts = {delivery.pk: delivery.attempts for delivery in batch}
    try:
        with transaction.atomic():
            _process(batch)
        return
    except TRANSIENT_ERRORS:
        raise
    except Exception as exc:  # noqa: BLE001 - isolated below, kept on the delivery at fault
        for delivery in batch:
            delivery.attempts = attempts[delivery.pk]
        if len(batch) > 1:
            logger.error("a batch of %d deliveries failed (%s); one at a time", len(batch),
                         type(exc).__name__)  # fmt: skip
            for delivery in batch:
                _process_guarded([delivery])
            return
        # Nothing of this delivery was applied: it keeps what it was parsed to, and why.
        (delivery,) = batch
        logger.error("delivery %s failed: %s", delivery.pk, type(exc).__name__)
        delivery.attempts += 1
        delivery.processed_at = timezone.now()
        delivery.lead = None
        _fail(delivery, exc)
        Delivery.objects.bulk_update([delivery], _OUTCOME_FIELDS)


def _process(batch: Sequence[Delivery]) -> None:
    """Parse and apply ``batch`` (locked, in receive order) inside the caller's transaction."""
    now = timezone.now()
    _mark_duplicates(batch)
    events: dict[int, WebhookEvent] = {}
    for delivery in batch:
        delivery.attempts += 1
        delivery.processed_at = now
        if delivery.body is None:
            _outcome(delivery, DeliveryStatus.FAILED, "the raw body was pruned; cannot replay")
            continue
        try:
            event = parse_webhook(bytes(delivery.body))
        except PayloadError as exc:
            _outcome(delivery, DeliveryStatus.REJECTED, str(exc))
            continue
        delivery.action = event.action[:64]
        delivery.lead_kartra_id = event.lead.kartra_id
        events[delivery.pk] = event
    emails_by_id: dict[int, set[str]] = {}
    for event in events.values():
        emails_by_id.setdefault(event.lead.kartra_id, set()).add(event.lead.fields.get("email", ""))
    created = leads_lock(emails_by_id=emails_by_id) if emails_by_id else set()
    for delivery in batch:
        event = events.get(delivery.pk)
        if event is None:
            continue
        try:
            with transaction.atomic():
                delivery.lead = _apply(delivery, event)
        except TRANSIENT_ERRORS:
            raise
        except Exception as exc:  # noqa: BLE001 - kept on the delivery for replay
            # The traceback stays on the delivery; its message may quote personal data.
            logger.error("delivery %s failed: %s", delivery.pk, type(exc).__name__)
            delivery.lead = None
            _fail(delivery, exc)
            continue
        status = DeliveryStatus.PROCESSED if event.known else DeliveryStatus.UNKNOWN_ACTION
        _outcome(delivery, status, "")
        created.discard(event.lead.kartra_id)
    if created:
        leads_discard_unused(kartra_ids=created)
    Delivery.objects.bulk_update(batch, _OUTCOME_FIELDS)


def _outcome(delivery: Delivery, status: str, error: str) -> None:
    delivery.status = status
    delivery.error = error
    if status != DeliveryStatus.FAILED:
        delivery.traceback = ""


def _fail(delivery: Delivery, exc: BaseException) -> None:
    delivery.traceback = "".join(traceback.format_exception(exc))
    _outcome(delivery, DeliveryStatus.FAILED, f"{type(exc).__name__}: {exc}")


def _mark_duplicates(batch: Sequence[Delivery]) -> None:
    """Link each delivery to an identical body received up to ``KARTRA_DUPLICATE_WINDOW``
    seconds before it, as a probable duplicate (Kartra sends no event id). The original is
    the earliest such delivery that is not itself a duplicate. One query for the batch."""
    window = timedelta(seconds=settings.KARTRA_DUPLICATE_WINDOW)
    earliest = min(d.received_at for d in batch)
    candidates = (
        Delivery.objects.filter(
            body_sha256__in={d.body_sha256 for d in batch},
            received_at__gte=earliest - window,
            received_at__lte=max(d.received_at for d in batch),
            probable_duplicate_of__isnull=True,
        )
        .exclude(status=DeliveryStatus.TOO_LARGE)
        .exclude(pk__in=[d.pk for d in batch])
        .order_by("received_at", "pk")
        .values_list("pk", "body_sha256", "received_at")
    )
    originals: dict[str, list[tuple]] = {}
    for pk, digest, received_at in candidates:
        originals.setdefault(digest, []).append((received_at, pk))
    for delivery in batch:
        if delivery.probable_duplicate_of_id is not None:
            continue
        key = (delivery.received_at, delivery.pk)
        for received_at, pk in originals.get(delivery.body_sha256, ()):
            if (received_at, pk) < key and received_at >= delivery.received_at - window:
                delivery.probable_duplicate_of_id = pk
                break
        else:
            # Not a duplicate: an original for the deliveries after it in this batch.
            originals.setdefault(delivery.body_sha256, []).append(key)
            originals[delivery.body_sha256].sort()


def _apply(delivery: Delivery, event: WebhookEvent) -> Lead:
    observation = Observation(at=delivery.received_at, source=Source.WEBHOOK, ref=delivery.pk)
    lead = lead_lock(kartra_id=event.lead.kartra_id, email=event.lead.fields.get("email", ""))
    lead_apply_profile(lead, event.lead, observation=observation)
    applier = APPLIERS.get(event.action)
    target = (
        applier(lead, event, observation)
        if applier
        else ActivityTarget(details={"action_details": event.raw_details})
    )
    Activity.objects.update_or_create(
        delivery=delivery,
        defaults={
            "lead": lead,
            "action": event.action[:64],
            "occurred_at": delivery.received_at,
            "asset": target.asset,
            "product": target.product,
            "transaction": target.transaction,
            "points": target.points,
            "details": target.details,
            "probable_duplicate": delivery.probable_duplicate_of_id is not None,
        },
    )
    at = delivery.received_at
    Lead.objects.filter(pk=lead.pk).update(
        mirror_webhook_at=Greatest(Coalesce(F("mirror_webhook_at"), Value(at)), Value(at)),
        mirror_last_activity_at=Greatest(
            Coalesce(F("mirror_last_activity_at"), Value(at)), Value(at)
        ),
    )
    # Webhooks carry one relation only: ask for a full refresh. One pending request per
    # lead, so a burst of deliveries coalesces into one get_lead call.
    lead_request_refresh(lead_ids=[lead.pk])
    return lead
