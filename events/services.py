"""Webhook deliveries: stored as received in the request, processed in batches afterwards.

The request only stores (``delivery_insert``, one INSERT). Processing claims stored
deliveries in receive order (``deliveries_process_batch``; on PostgreSQL with
``SKIP LOCKED``, so several workers never take the same one), locks the leads the batch
writes that no other batch holds (a delivery whose lead another batch holds waits for a
later batch), lets each delivery's applier say what it observed, and writes
the whole batch through the writers that ``get_lead`` snapshots use too
(``leads.services.changes``), with a number of statements that does not grow with the
batch. A failure of the database itself (lost connection, deadlock, timeout) rolls the
batch back for a retry; any other failure sends the batch through one delivery at a time,
so that the delivery at fault is marked ``failed`` with its traceback and the rest apply.
"""

import hashlib
import logging
import time
import traceback
from collections.abc import Sequence
from datetime import timedelta
from typing import Any

from django.conf import settings
from django.db import IntegrityError, InterfaceError, OperationalError, transaction
from django.utils import timezone

from kartra_mirror.counters import counters_add
from kartra_mirror.db import replayable_atomic
from leads.models import Asset, Lead, Product, Source
from leads.normalize import IpnEvent, PayloadError, WebhookEvent, parse_ipn, parse_webhook
from leads.services.catalog import catalog_resolve_many
from leads.services.changes import ChangeSet, changes_apply
from leads.services.history import HistoryWatch, history_record
from leads.services.lead import custom_confirmed, leads_lock, leads_lock_available, leads_save
from leads.services.observation import Observation
from leads.services.upsert import insert_row, objects_update, rows_insert

from .appliers import APPLIERS, ActivityTarget
from .erasure import deliveries_suppress
from .models import Activity, Delivery, DeliveryKind, DeliveryStatus

logger = logging.getLogger(__name__)

#: Errors of the database rather than of a delivery: the batch is rolled back and retried.
TRANSIENT_ERRORS = (OperationalError, InterfaceError)

#: What processing writes on each delivery of a batch (one UPDATE for the whole batch).
OUTCOME_FIELDS = [
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


def storable(text: str, limit: int | None = None) -> str:
    """``text`` as a text column can hold it: NUL (refused by PostgreSQL's text and JSON
    columns) and lone surrogates (which no driver encodes) become U+FFFD; cut at ``limit``
    characters. For what a delivery's row records: headers, action, error, traceback."""
    text = text.replace("\x00", "\ufffd")
    if not text.isascii():
        text = text.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    return text[:limit] if limit else text


def delivery_row(
    *,
    body: bytes,
    content_type: str = "",
    headers: dict[str, str] | None = None,
    remote_addr: str | None = None,
    status: str = DeliveryStatus.RECEIVED,
    error: str = "",
    action: str = "",
    lead_kartra_id: int | None = None,
    kind: str = DeliveryKind.WEBHOOK,
) -> dict:
    """A delivery's row, by attname, exactly as received. ``action`` and ``lead_kartra_id``
    are what the request already read from the body, if anything; processing confirms them.
    ``kind`` says which callback posted it (webhook or IPN), hence how to read the body."""
    return {
        "received_at": timezone.now(),
        "kind": kind,
        "body": body if status != DeliveryStatus.TOO_LARGE else None,
        "body_sha256": hashlib.sha256(body).hexdigest(),
        "size": len(body),
        "content_type": storable(content_type, 255),
        "headers": headers or {},
        "remote_addr": remote_addr,
        "status": status,
        "error": storable(error),
        "action": storable(action, 64),
        "lead_kartra_id": lead_kartra_id,
    }


def delivery_insert(**row: Any) -> int:
    """Save a delivery (:func:`delivery_row`'s arguments) with one INSERT in its own
    transaction (autocommit), before anything applies it; return its id. The webhook
    receiver's request is this, and builds no model instance."""
    return insert_row(Delivery, delivery_row(**row))


def delivery_store(**row: Any) -> Delivery:
    """:func:`delivery_insert`, returning the saved :class:`Delivery`."""
    values = delivery_row(**row)
    delivery = Delivery(pk=insert_row(Delivery, values), **values)
    delivery._state.adding, delivery._state.db = False, "default"  # as if read back
    return delivery


def deliveries_process_batch(*, limit: int | None = None) -> int:
    """Claim up to ``limit`` (``KARTRA_DELIVERY_BATCH``) unprocessed deliveries, oldest
    first, and process them in one transaction. Returns how many were claimed: 0 when none
    is waiting. Raises one of ``TRANSIENT_ERRORS`` when the database failed; the batch is
    then rolled back and its deliveries wait, unprocessed, for the next attempt.

    A delivery whose lead (or the lead now holding its email) another transaction holds is
    left as it was, for a later batch: batches processed side by side never wait for each
    other's leads. A batch that could process none of its deliveries so waits
    ``KARTRA_DRAIN_LINGER`` seconds before it returns, rather than have its drain claim the
    same deliveries again at once.

    The commit does not wait for the disk: a crash that loses it loses the deliveries'
    outcomes with what they applied, and they are processed again from the stored bodies."""
    limit = limit or settings.KARTRA_DELIVERY_BATCH
    with replayable_atomic():
        batch = list(
            Delivery.objects.select_for_update(skip_locked=True)
            .filter(status=DeliveryStatus.RECEIVED)
            .order_by("received_at", "pk")[:limit]
        )
        left = _process_guarded(batch, skip_busy=True) if batch else set()
    _count_outcomes([delivery for delivery in batch if delivery.pk not in left])
    if batch and len(left) == len(batch):
        time.sleep(settings.KARTRA_DRAIN_LINGER)
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
    with replayable_atomic():
        delivery = Delivery.objects.select_for_update().get(pk=delivery_id)
        _process_guarded([delivery])
    _count_outcomes([delivery])
    return delivery


def _count_outcomes(deliveries: Sequence[Delivery]) -> None:
    """Add the committed outcomes to the deployment's counters (``/metrics``). An action
    Kartra does not document is counted as ``other``: the label stays a known word."""
    counters_add(
        (
            "kartra_deliveries_processed",
            {
                "action": delivery.action if delivery.action in APPLIERS else "other",
                "status": delivery.status,
            },
            1,
        )
        for delivery in deliveries
    )


def _process_guarded(batch: Sequence[Delivery], *, skip_busy: bool = False) -> set[int]:
    """``_process`` the batch in a savepoint; should it fail for a reason other than the
    database (a delivery's content, or our code), process each delivery alone, so that the
    one at fault is marked ``failed``, with nothing of it applied, and the others apply.
    Returns the ids of the deliveries left for a later batch (``skip_busy``: those whose
    leads another transaction holds; else none).

    A delivery alone that meets a unique constraint is tried again (up to
    ``_RACE_ATTEMPTS`` times): another batch committed the same lead's email or catalogue
    row meanwhile, and the next attempt locks and sees it."""
    attempts = {delivery.pk: delivery.attempts for delivery in batch}
    for attempt in range(1, _RACE_ATTEMPTS + 1):
        try:
            with transaction.atomic():
                return _process(batch, skip_busy=skip_busy)
        except TRANSIENT_ERRORS:
            raise
        except Exception as exc:  # noqa: BLE001 - isolated below, kept on the delivery at fault
            for delivery in batch:
                delivery.attempts = attempts[delivery.pk]
            if len(batch) > 1:
                logger.error("a batch of %d deliveries failed (%s); one at a time", len(batch),
                             type(exc).__name__)  # fmt: skip
                # The leads stay locked until the batch commits: taken in Kartra id order,
                # as a whole batch takes them, they never wait for a batch that waits for
                # them (the newest observation wins whatever the order of processing).
                left: set[int] = set()
                for delivery in sorted(batch, key=_lead_order):
                    left |= _process_guarded([delivery], skip_busy=skip_busy)
                return left
            if isinstance(exc, IntegrityError) and attempt < _RACE_ATTEMPTS:
                continue
            _record_failure(batch[0], exc)
            return set()
    return set()


def _lead_order(delivery: Delivery) -> tuple:
    """Deliveries by their lead's Kartra id (those not parsed last), then as received."""
    kartra_id = delivery.lead_kartra_id
    return (kartra_id is None, kartra_id or 0, delivery.received_at, delivery.pk)


#: Attempts of one delivery that meets a unique constraint (see ``_process_guarded``).
_RACE_ATTEMPTS = 3


def _record_failure(delivery: Delivery, exc: BaseException) -> None:
    """Mark ``delivery`` failed by ``exc`` (nothing of it applied). Should even that write
    fail, a plainer record is tried, so that one delivery never stops the queue."""
    logger.error("delivery %s failed: %s", delivery.pk, type(exc).__name__)
    delivery.attempts += 1
    delivery.processed_at = timezone.now()
    delivery.lead = None
    _fail(delivery, exc)
    try:
        with transaction.atomic():
            objects_update(Delivery, [delivery], OUTCOME_FIELDS)
    except TRANSIENT_ERRORS:
        raise
    except Exception as again:  # noqa: BLE001 - the plainest record of the failure
        logger.error("delivery %s: its failure could not be recorded (%s)", delivery.pk,
                     type(again).__name__)  # fmt: skip
        delivery.action, delivery.lead_kartra_id, delivery.traceback = "", None, ""
        delivery.error = f"{type(exc).__name__}; its details could not be stored"
        objects_update(Delivery, [delivery], OUTCOME_FIELDS)


def _process(batch: Sequence[Delivery], *, skip_busy: bool = False) -> set[int]:
    """Parse ``batch`` (locked, in receive order) and apply it, inside the caller's
    transaction, with a number of statements that does not grow with the batch. Returns the
    ids of the deliveries left untouched for a later batch (see ``_apply``)."""
    _mark_duplicates(batch)
    events: dict[int, WebhookEvent | IpnEvent] = {}
    for delivery in batch:
        delivery.attempts += 1
        if delivery.body is None:
            _outcome(delivery, DeliveryStatus.FAILED, "the raw body was pruned; cannot replay")
            continue
        if delivery.redacted_at is not None:
            continue  # its lead was erased (events.erasure): never applied again
        try:
            event = PARSERS[delivery.kind](bytes(delivery.body))
        except PayloadError as exc:
            _outcome(delivery, DeliveryStatus.REJECTED, str(exc))
            continue
        delivery.action = storable(event.action, 64)
        delivery.lead_kartra_id = event.lead.kartra_id
        events[delivery.pk] = event
    deliveries_suppress(batch, events)
    history, left = None, set()
    if events:
        history, left = _apply([d for d in batch if d.pk in events], events, skip_busy=skip_busy)
    settled = [delivery for delivery in batch if delivery.pk not in left]
    now = timezone.now()
    for delivery in settled:
        delivery.processed_at = now
    objects_update(Delivery, settled, OUTCOME_FIELDS)
    history_record(history)  # last: it numbers the batch's changes until the commit
    return left


#: How each kind of delivery's body is read.
PARSERS = {DeliveryKind.WEBHOOK: parse_webhook, DeliveryKind.IPN: parse_ipn}


def _outcome(delivery: Delivery, status: str, error: str) -> None:
    delivery.status = status
    delivery.error = storable(error)
    if status != DeliveryStatus.FAILED:
        delivery.traceback = ""


def _fail(delivery: Delivery, exc: BaseException) -> None:
    delivery.traceback = storable("".join(traceback.format_exception(exc)))
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


def _apply(
    deliveries: list[Delivery], events: dict[int, WebhookEvent | IpnEvent], *, skip_busy: bool
) -> tuple[HistoryWatch | None, set[int]]:
    """Lock the deliveries' leads, let each delivery's applier say what it observed, write
    it all at once, and record each delivery's activity and outcome; return the batch's
    history watch, for its changes to be recorded last, and the ids of the deliveries left
    untouched (``skip_busy``: those whose leads another transaction holds)."""
    emails_by_id: dict[int, set[str]] = {}
    for delivery in deliveries:
        lead = events[delivery.pk].lead
        emails_by_id.setdefault(lead.kartra_id, set()).add(lead.fields.get("email", ""))
    left: set[int] = set()
    # A webhook's profile is applied whole: the stored raw block is not compared.
    if skip_busy:
        leads, blocked = leads_lock_available(emails_by_id=emails_by_id, raw=False)
        left = {d.pk for d in deliveries if events[d.pk].lead.kartra_id in blocked}
        deliveries = [d for d in deliveries if d.pk not in left]
        if not deliveries:
            return None, left
    else:
        leads = leads_lock(emails_by_id=emails_by_id, raw=False)
    changes = ChangeSet()
    targets: dict[int, ActivityTarget] = {}
    for delivery in deliveries:
        event = events[delivery.pk]
        observation = Observation(at=delivery.received_at, source=Source.WEBHOOK, ref=delivery.pk)
        if not isinstance(event, IpnEvent):  # an IPN's buyer fields are not a profile
            changes.profiles.append((event.lead, observation))
        applier = APPLIERS.get(event.action)
        targets[delivery.pk] = (
            applier(event, observation, changes)
            if applier
            else ActivityTarget(details={"action_details": event.raw_details})
        )
    written = changes_apply(changes, leads=leads, settled=custom_confirmed(leads, changes.profiles))
    _activities_write(deliveries, events, targets, written, leads)
    _leads_touched(deliveries, events, leads, written.lead_fields)
    for delivery in deliveries:
        event = events[delivery.pk]
        delivery.lead = leads[event.lead.kartra_id]
        status = DeliveryStatus.PROCESSED if event.known else DeliveryStatus.UNKNOWN_ACTION
        _outcome(delivery, status, "")
    return written.history, left


def _activities_write(deliveries, events, targets, written, leads) -> None:
    """One activity row per delivery (replacing the row of an earlier run of it)."""
    assets = catalog_resolve_many(
        Asset, [(t.asset, {}) for t in targets.values() if t.asset], scope="kind"
    )
    products = catalog_resolve_many(
        Product,
        [(t.product[0], {"official_name": t.product[1]}) for t in targets.values() if t.product],
    )
    rows = []
    for delivery in deliveries:
        event, target = events[delivery.pk], targets[delivery.pk]
        purchase = written.records.get(id(target.record)) if target.record else None
        if purchase is not None:
            product = purchase.product_id
        else:
            product = products[target.product[0]].pk if target.product else None
        details = dict(target.details)
        if target.describe is not None:
            details.update(target.describe(written))
        rows.append(
            {
                "delivery_id": delivery.pk,
                "lead_id": leads[event.lead.kartra_id].pk,
                "action": event.action[:64],
                "occurred_at": delivery.received_at,
                "asset_id": assets[target.asset].pk if target.asset else None,
                "product_id": product,
                "transaction_id": purchase.pk if purchase is not None else None,
                "points": target.points,
                "details": details,
                "probable_duplicate": delivery.probable_duplicate_of_id is not None,
            }
        )
    # Only a delivery processed before (its attempts counted in a committed outcome) can
    # have an activity row already.
    again = [delivery for delivery in deliveries if delivery.attempts > 1]
    if again:
        Activity.objects.filter(delivery__in=again).delete()
    rows_insert(Activity, rows)


def _leads_touched(deliveries, events, leads: dict[int, Lead], fields: list[str]) -> None:
    """Save the batch's leads once: their profiles, when a webhook last came and the lead
    was last active, and a refresh request (webhooks carry one relation only, so each
    processed delivery asks for a full refresh; a request already pending keeps its place,
    so a burst for one lead costs one get_lead call)."""
    now = timezone.now()
    for delivery in deliveries:
        lead = leads[events[delivery.pk].lead.kartra_id]
        at = delivery.received_at
        lead.mirror_webhook_at = max(filter(None, (lead.mirror_webhook_at, at)))
        lead.mirror_last_activity_at = max(filter(None, (lead.mirror_last_activity_at, at)))
        lead.mirror_refresh_requested_at = lead.mirror_refresh_requested_at or now
    leads_save(leads, [*fields, *_WEBHOOK_FIELDS])


#: The lead columns every processed delivery writes (see ``_leads_touched``).
_WEBHOOK_FIELDS = (
    "mirror_webhook_at",
    "mirror_last_activity_at",
    "mirror_refresh_requested_at",
)
