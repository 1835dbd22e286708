"""Locking the leads a batch of deliveries writes, all at once and in one global order.

Deliveries are applied in batches, several batches at a time (Celery workers, the web
process's drainer). If each batch locked its leads in the order its deliveries name them,
two batches naming the same two leads in opposite orders would deadlock; so every batch
locks all its leads up front, in Kartra id order, with one statement.
"""

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models.functions import Lower
from django.utils import timezone

from leads.models import Lead, MirrorStatus


def leads_lock(*, emails_by_id: dict[int, Iterable[str]]) -> set[int]:
    """Create the leads that are new and lock every lead a batch may write; return the
    Kartra ids of the leads it created (empty, pending rows).

    ``emails_by_id``: the Kartra ids the batch names, with the emails its lead blocks give
    them. Besides those leads, the current holders of these emails are locked too (an email
    moving to another lead clears it on its old holder). A pending import with a lead's
    email and no id yet is claimed by that id, as ``lead_lock`` does one at a time. The
    upsert takes the row locks in Kartra id order whether a row is inserted or already
    there. Must run inside ``transaction.atomic()``.
    """
    ids = set(emails_by_id)
    emails = {e.lower() for values in emails_by_id.values() for e in values if e}
    existing = set(Lead.objects.filter(kartra_id__in=ids).values_list("kartra_id", flat=True))
    claimed = _claim_pending({k: v for k, v in emails_by_id.items() if k not in existing})
    holders = set()
    if emails:
        holders = set(
            Lead.objects.annotate(email_ci=Lower("email"))
            .filter(email_ci__in=emails, kartra_id__isnull=False)
            .values_list("kartra_id", flat=True)
        )
    wanted = sorted(ids | holders)
    Lead.objects.bulk_create(
        [Lead(kartra_id=k, mirror_status=MirrorStatus.PENDING) for k in wanted],
        update_conflicts=True,
        unique_fields=["kartra_id"],
        update_fields=["kartra_id"],
    )
    return ids - existing - claimed


def _claim_pending(new: dict[int, Iterable[str]]) -> set[int]:
    """Give each new Kartra id to the pending lead imported with one of its emails; return
    the ids given."""
    by_email = {e.lower(): k for k, values in new.items() for e in values if e}
    claimed: set[int] = set()
    if not by_email:
        return claimed
    pending = (
        Lead.objects.annotate(email_ci=Lower("email"))
        .filter(email_ci__in=by_email, kartra_id__isnull=True)
        .order_by("pk")
    )
    for lead in pending:
        kartra_id = by_email[lead.email_ci]
        if kartra_id in claimed:
            continue  # two pending rows of one lead: the first is claimed, the rest merged later
        try:
            with transaction.atomic():
                Lead.objects.filter(pk=lead.pk, kartra_id__isnull=True).update(
                    kartra_id=kartra_id, mirror_updated=timezone.now()
                )
        except IntegrityError:
            continue  # a concurrent writer created the lead by its id meanwhile
        claimed.add(kartra_id)
    return claimed


def leads_discard_unused(*, kartra_ids: Iterable[int]) -> None:
    """Delete the leads ``leads_lock`` created that nothing was applied to after all (their
    deliveries failed), so a failed delivery leaves no trace in the mirror. A row that
    anything wrote to since (a profile, an email) stays."""
    Lead.objects.filter(
        kartra_id__in=list(kartra_ids),
        mirror_status=MirrorStatus.PENDING,
        mirror_profile_observed_at__isnull=True,
        email="",
    ).delete()
