"""The lead row: finding and locking it, and applying an observed profile."""

from collections.abc import Iterable

from django.db import IntegrityError, transaction
from django.db.models import F, Value
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone

from leads.models import Lead, MirrorStatus
from leads.normalize import ProfileRecord

from .custom_fields import lead_apply_custom_values
from .observation import Observation


def lead_lock(*, kartra_id: int, email: str = "") -> Lead:
    """Return the lead with ``kartra_id``, created if new, locked for this transaction.

    Every write to a lead's state happens under this row lock, so deliveries for the same
    lead processed at once serialise instead of racing; deliveries for different leads never
    wait on each other. A pending lead imported by ``email`` is claimed by its Kartra id.
    Must run inside ``transaction.atomic()``.
    """
    locked = Lead.objects.select_for_update()
    lead = locked.filter(kartra_id=kartra_id).first()
    if lead is not None:
        return lead
    if email:
        pending = (
            locked.annotate(email_ci=Lower("email"))
            .filter(email_ci=email.lower(), kartra_id__isnull=True)
            .first()
        )
        if pending is not None:
            try:
                with transaction.atomic():
                    pending.kartra_id = kartra_id
                    pending.save(update_fields=["kartra_id", "mirror_updated"])
                return pending
            except IntegrityError:
                pass  # another writer created the lead by id meanwhile
    Lead.objects.bulk_create(
        [Lead(kartra_id=kartra_id, mirror_status=MirrorStatus.PENDING)], ignore_conflicts=True
    )
    return locked.get(kartra_id=kartra_id)


def _release_email(lead: Lead, email: str) -> None:
    """Kartra guarantees one lead per email. Another row holding ``email`` is either a
    pending import of this same lead (merged away) or a stale copy of a lead whose email
    changed since (its email is cleared until its next refresh)."""
    if not email:
        return
    holders = (
        Lead.objects.annotate(email_ci=Lower("email"))
        .filter(email_ci=email.lower())
        .exclude(pk=lead.pk)
    )
    for other in holders.select_for_update():
        if other.kartra_id is None:
            other.delete()
        else:
            Lead.objects.filter(pk=other.pk).update(email="", mirror_updated=timezone.now())


def lead_apply_profile(lead: Lead, profile: ProfileRecord, *, observation: Observation) -> bool:
    """Write an observed profile (and its custom field values) onto ``lead``.

    Only keys the payload carried are written, so a webhook block that lacks a key never
    blanks it. Returns False, changing nothing, when a newer profile was already applied.
    """
    if observation.is_older_than(lead.mirror_profile_observed_at):
        return False
    fields = dict(profile.fields)
    if "email" in fields and fields["email"].lower() != (lead.email or "").lower():
        _release_email(lead, fields["email"])
    for key, value in fields.items():
        setattr(lead, key, value)
    lead.mirror_raw = profile.raw
    lead.mirror_raw_source = observation.source
    lead.mirror_profile_observed_at = observation.at
    if lead.lead_deleted:
        lead.mirror_status = MirrorStatus.DELETED
    elif lead.mirror_status in (MirrorStatus.PENDING, MirrorStatus.DELETED):
        lead.mirror_status = MirrorStatus.ACTIVE
    lead.save()
    if profile.custom_values is not None:
        lead_apply_custom_values(lead, profile.custom_values, observation=observation)
    return True


def lead_request_refresh(*, lead_ids: Iterable[int]) -> int:
    """Ask for a refresh of these leads (primary keys) at the next pass of the refresh loop
    or beat task; a request already pending keeps its place in the queue. Returns how many
    leads now wait for a refresh."""
    return Lead.objects.filter(pk__in=list(lead_ids)).update(
        mirror_refresh_requested_at=Coalesce(
            F("mirror_refresh_requested_at"), Value(timezone.now())
        )
    )
