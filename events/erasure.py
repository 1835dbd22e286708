"""Erasing a lead: every row about it removed, every stored mention of it redacted, its
identifiers put on the suppression list, and the erasure recorded without them.

What goes (README, "Erasure"): the lead and every row that cascades from it (relations,
custom field values, transactions, subscriptions, calendar registrations, survey results,
activity), the audit differences about it, and the personal data in the deliveries about it,
which stay, redacted, so that counts and charts stay right (``events.redaction``). Rows about
other people that mention the lead's email (another lead's delivery, a sync run's arguments,
a segment's search) keep their shape with the email replaced.
"""

from __future__ import annotations

import hashlib
import logging
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from django.db import models, transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast, Lower
from django.utils import timezone

from leads.models import Change, Lead, Segment, Transaction
from leads.services.suppression import (
    is_suppressed,
    suppressed_digests,
    suppression_add,
    suppression_lift,
)

from .models import (
    Activity,
    AuditDifference,
    AuditRun,
    Delivery,
    DeliveryStatus,
    Erasure,
    SyncRun,
)
from .redaction import Mentions, body_redact, headers_redact, json_scrub

logger = logging.getLogger(__name__)

#: Rows about other people that may quote the erased lead's email: scrubbed in place.
SCRUBBED_MODELS = (Lead, Transaction, Activity, Change, SyncRun, AuditRun, Segment)
#: Bodies read at once while looking for the deliveries that mention the lead.
SCAN_CHUNK = 500


class ErasureError(ValueError):
    """The identifiers given do not name one lead (said without quoting them)."""


@dataclass
class Subject:
    """Who is erased: the lead (None when the mirror does not hold it) and its identifiers."""

    lead: Lead | None
    emails: set[str] = field(default_factory=set)
    kartra_ids: set[int] = field(default_factory=set)
    values: set[str] = field(default_factory=set)  # names, phone, ...: matched whole


def erasure_subject(*, email: str = "", kartra_id: int | None = None) -> Subject:
    """The lead named by ``email`` (any case) and/or ``kartra_id``, with the identifiers to
    look for. Raises :class:`ErasureError` when both are given and name different leads,
    or neither is given."""
    email = (email or "").strip()
    if not email and kartra_id is None:
        raise ErasureError("give an email or a Kartra id")
    by_id = Lead.objects.filter(kartra_id=kartra_id).first() if kartra_id is not None else None
    by_email = (
        Lead.objects.annotate(email_ci=Lower("email")).filter(email_ci=email.lower()).first()
        if email
        else None
    )
    if by_id and by_email and by_id.pk != by_email.pk:
        raise ErasureError("the email and the Kartra id belong to two different leads")
    lead = by_id or by_email
    subject = Subject(lead=lead, emails={email.lower()} - {""}, kartra_ids={kartra_id} - {None})
    if lead is not None:
        subject.emails |= {lead.email.lower()} - {""}
        subject.kartra_ids |= {lead.kartra_id} - {None}
        buyers = lead.transactions.values_list("buyer_email", flat=True)
        subject.emails |= {b.lower() for b in buyers if b}
        subject.values = _personal_values(lead)
    return subject


def _personal_values(lead: Lead) -> set[str]:
    names = (lead.first_name, lead.middle_name, lead.last_name, lead.last_name2, lead.full_name)
    phone = f"{lead.phone_country_code}{lead.phone}" if lead.phone else ""
    others = (lead.phone, phone, lead.username, lead.address, lead.ip, lead.sales_tax_id)
    return {value for value in (*names, *others) if value}


def lead_erase(
    *, email: str = "", kartra_id: int | None = None, actor: str, dry_run: bool = False
) -> Erasure:
    """Erase the lead named by ``email`` and/or ``kartra_id`` (see the module doc) and
    record it as done by ``actor``; returns the record (unsaved with ``dry_run``, which
    changes nothing and only counts). Raises :class:`ErasureError` as
    :func:`erasure_subject` does."""
    subject = erasure_subject(email=email, kartra_id=kartra_id)
    if not dry_run:
        # Committed first: a delivery processed while the erasure runs is suppressed.
        suppression_add(emails=subject.emails, kartra_ids=subject.kartra_ids)
    about, mentioning = _deliveries_of(subject)
    with transaction.atomic():
        if subject.lead is not None:
            Lead.objects.select_for_update().filter(pk=subject.lead.pk).first()
            about |= set(Delivery.objects.filter(_about(subject)).values_list("pk", flat=True))
        counts = _erase(subject, about, mentioning - about)
        record = Erasure(
            erased_at=timezone.now(),
            actor=actor[:255],
            lead_found=subject.lead is not None,
            suppressed=not dry_run,
            counts=dict(sorted(counts.items())),
        )
        if dry_run:
            transaction.set_rollback(True)
        else:
            record.save()
    if not dry_run:
        logger.info("erasure %s recorded: %d rows", record.pk, sum(counts.values()))
    return record


def lead_erase_lift(*, email: str = "", kartra_id: int | None = None) -> int:
    """Take ``email`` and/or ``kartra_id`` off the suppression list; how many were on it."""
    emails = [email.strip().lower()] if email and email.strip() else []
    return suppression_lift(emails=emails, kartra_ids=[kartra_id] if kartra_id else [])


def _about(subject: Subject) -> Q:
    condition = Q(lead_kartra_id__in=subject.kartra_ids)
    if subject.lead is not None:
        condition |= Q(lead_id=subject.lead.pk)
    return condition


def _deliveries_of(subject: Subject) -> tuple[set[int], set[int]]:
    """The deliveries about the lead (linked to it, naming its id, or linked to nobody and
    mentioning its email), and those of other leads that mention its email. Reads every
    stored body once: a body does not say whom it mentions until it is read."""
    about = set(Delivery.objects.filter(_about(subject)).values_list("pk", flat=True))
    mentions = Mentions.of(emails=subject.emails)
    mentioning: set[int] = set()
    if not mentions.needles:
        return about, mentioning
    bodies = (
        Delivery.objects.filter(body__isnull=False)
        .values_list("pk", "body", "lead_id", "lead_kartra_id")
        .iterator(chunk_size=SCAN_CHUNK)
    )
    found = [
        (pk, lead_id, lead_kartra_id)
        for pk, body, lead_id, lead_kartra_id in bodies
        if pk not in about and mentions.found_in(bytes(body))
    ]
    # An error can quote the body it could not read (whose body may be pruned since).
    condition = Q()
    for needle in mentions.needles:
        condition |= Q(error__icontains=needle) | Q(traceback__icontains=needle)
    for pk, error, trace, lead_id, lead_kartra_id in Delivery.objects.filter(condition).values_list(
        "pk", "error", "traceback", "lead_id", "lead_kartra_id"
    ):
        if pk not in about and mentions.found_in(f"{error}\n{trace}".encode()):
            found.append((pk, lead_id, lead_kartra_id))
    for pk, lead_id, lead_kartra_id in found:
        unlinked = lead_id is None and lead_kartra_id is None
        (about if unlinked else mentioning).add(pk)
    return about, mentioning


def _erase(subject: Subject, about: set[int], mentioning: set[int]) -> Counter:
    """Inside the caller's transaction: redact, delete and scrub; the rows touched by table."""
    counts: Counter = Counter()
    whole = Mentions.of(emails=subject.emails, values=subject.values)
    email_only = Mentions.of(emails=subject.emails)
    counts["events.Delivery (redacted)"] = _deliveries_redact(about, whole, whole=True)
    counts["events.Delivery (scrubbed)"] = _deliveries_redact(mentioning, email_only, whole=False)
    differences = AuditDifference.objects.filter(lead_kartra_id__in=subject.kartra_ids)
    if subject.lead is not None:
        differences |= AuditDifference.objects.filter(lead_id=subject.lead.pk)
    _, deleted = differences.delete()
    counts.update(deleted)
    if subject.lead is not None:
        _, deleted = Lead.objects.filter(pk=subject.lead.pk).delete()
        counts.update(deleted)
    for model in (*SCRUBBED_MODELS, AuditDifference):
        counts[f"{model._meta.label} (scrubbed)"] = _rows_scrub(model, email_only)
    return Counter({label: n for label, n in counts.items() if n})


def _deliveries_redact(ids: set[int], mentions: Mentions, *, whole: bool) -> int:
    """Rewrite the deliveries' bodies (with ``whole``, as :func:`_delivery_cut` does; else
    only the mentions replaced, in body, error and traceback, so they still replay)."""
    now = timezone.now()
    deliveries = list(Delivery.objects.select_for_update().filter(pk__in=ids))
    for delivery in deliveries:
        if whole:
            _delivery_cut(delivery, mentions, now)
            if delivery.status == DeliveryStatus.RECEIVED:  # never to be claimed again
                delivery.status, delivery.error = DeliveryStatus.SUPPRESSED, SUPPRESSED_REASON
            continue
        _body_rewrite(delivery, mentions, whole=False)
        delivery.error = mentions.scrub_text(delivery.error)
        delivery.traceback = mentions.scrub_text(delivery.traceback)
    Delivery.objects.bulk_update(deliveries, REDACTED_FIELDS, batch_size=200)
    return len(deliveries)


#: What redacting a delivery writes.
REDACTED_FIELDS = [
    "body",
    "size",
    "body_sha256",
    "headers",
    "lead",
    "lead_kartra_id",
    "error",
    "traceback",
    "redacted_at",
    "status",
]
SUPPRESSED_REASON = "about an erased lead (on the suppression list): stored redacted, not applied"


def _delivery_cut(delivery: Delivery, mentions: Mentions, now) -> None:
    """Take the person out of a delivery about them: the body rewritten whole, headers
    trimmed to the sender's, the lead and its id cleared, error details and traceback
    dropped, marked redacted (never applied again). Its status and action stay."""
    _body_rewrite(delivery, mentions, whole=True)
    delivery.headers = headers_redact(delivery.headers)
    delivery.lead, delivery.lead_kartra_id = None, None
    delivery.error = "details erased with the lead" if delivery.error else ""
    delivery.traceback = ""
    delivery.redacted_at = now


def _body_rewrite(delivery: Delivery, mentions: Mentions, *, whole: bool) -> None:
    if delivery.body is None:
        return
    body = body_redact(bytes(delivery.body), delivery.content_type, mentions, whole=whole)
    delivery.body, delivery.size, delivery.body_sha256 = body, len(body), _sha256(body)


def deliveries_suppress(deliveries: Sequence[Delivery], events: dict[int, Any]) -> None:
    """Inside webhook processing, before anything is applied: the deliveries whose lead
    (by Kartra id or email) is on the suppression list are stored redacted and marked
    ``suppressed``, and leave ``events`` (delivery id → parsed event), so nothing of them
    is mirrored. One query for the batch."""
    if not events:
        return
    found = suppressed_digests(
        emails=[event.lead.fields.get("email") or "" for event in events.values()],
        kartra_ids=[event.lead.kartra_id for event in events.values()],
    )
    hits = []
    now = timezone.now()
    for delivery in deliveries:
        event = events.get(delivery.pk)
        email = (event.lead.fields.get("email") or "") if event else ""
        if event is None or not is_suppressed(found, email=email, kartra_id=event.lead.kartra_id):
            continue
        del events[delivery.pk]
        values = [v for v in event.lead.fields.values() if isinstance(v, str)]
        _delivery_cut(delivery, Mentions.of(emails=[email], values=values), now)
        delivery.status, delivery.error = DeliveryStatus.SUPPRESSED, SUPPRESSED_REASON
        hits.append(delivery)
    if hits:
        Delivery.objects.bulk_update(hits, REDACTED_FIELDS)


def _sha256(body: bytes) -> str:
    return hashlib.sha256(body).hexdigest()


def _text_fields(model: type[models.Model]) -> list[models.Field]:
    kinds = (models.CharField, models.TextField, models.JSONField)
    return [f for f in model._meta.concrete_fields if isinstance(f, kinds) and not f.choices]


def _rows_scrub(model: type[models.Model], mentions: Mentions) -> int:
    """Replace the mentions in every text and JSON column of the model's rows that hold
    one; returns how many rows changed."""
    if not mentions.needles:
        return 0
    fields = _text_fields(model)
    casts = {f"_text_{f.name}": Cast(f.name, TextField()) for f in fields}
    condition = Q()
    for name in casts:
        for needle in mentions.needles:
            condition |= Q(**{f"{name}__icontains": needle})
    changed = []
    for row in model.objects.annotate(**casts).filter(condition):  # candidates, by substring
        before = [getattr(row, f.attname) for f in fields]
        for f, value in zip(fields, before, strict=True):
            if isinstance(f, models.JSONField):
                setattr(row, f.attname, json_scrub(value, mentions))
            elif value:
                setattr(row, f.attname, mentions.scrub_text(value))
        if [getattr(row, f.attname) for f in fields] != before:
            changed.append(row)
    if changed:
        model.objects.bulk_update(changed, [f.name for f in fields], batch_size=200)
    return len(changed)
