"""The lead rows of a batch: locking them in one order, applying observed profiles, and
asking for refreshes.

Deliveries are applied in batches, several batches at a time (Celery workers, the web
process's drainer), and snapshots beside them. Each batch creates the leads that are new
and locks all its leads up front, in Kartra id order, so two batches naming the same leads
never deadlock. A batch of webhooks takes only the leads nobody holds
(:func:`leads_lock_available`) and leaves the rest for a later batch, so batches drained
side by side do not wait for each other either.
"""

from collections.abc import Collection, Iterable, Mapping, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.db.models import F, Q, Value
from django.db.models.functions import Coalesce, Lower
from django.utils import timezone

from leads.models import Consent, Lead, MirrorStatus
from leads.normalize import CustomValueRecord, ProfileRecord

from .custom_fields import custom_values_apply
from .observation import Observation
from .upsert import objects_update, rows_insert


def leads_lock(*, emails_by_id: dict[int, Iterable[str]], raw: bool = True) -> dict[int, Lead]:
    """Create the leads that are new and lock every lead a batch may write; return them by
    Kartra id.

    ``emails_by_id``: the Kartra ids the batch names, with the emails its lead blocks give
    them. Besides those leads, the current holders of these emails are locked too (an email
    moving to another lead clears it on its old holder). A pending import with a lead's
    email and no id yet is claimed by that id. A lead row is written only when it is new:
    the lock adds no row version of its own. Must run inside ``transaction.atomic()``.

    ``raw=False`` leaves each lead's ``mirror_raw`` unread (deferred; the largest value of
    a lead row, decoded for nothing when the batch does not compare whole profiles, as a
    batch of webhooks does not): its stored ``custom_fields`` list is read alone, for
    :func:`custom_confirmed`; a profile applied writes ``mirror_raw`` whole, and a lead
    that takes none keeps the stored one, unread (:func:`leads_save`).
    """
    return _lock(emails_by_id, skip_locked=False, raw=raw)[0]


def leads_lock_available(
    *, emails_by_id: dict[int, Iterable[str]], raw: bool = True
) -> tuple[dict[int, Lead], set[int]]:
    """:func:`leads_lock` without waiting for leads another transaction holds: return the
    leads locked, by Kartra id, and the Kartra ids of ``emails_by_id`` that cannot be
    written now, because their lead or the current holder of one of their emails is held by
    another transaction (another batch of webhooks, a snapshot). Their observations wait
    for a later batch.

    Batches drained side by side thus never wait for each other's leads, whatever leads
    they share; only the insert of a lead new to both waits for the first insert, in Kartra
    id order as in :func:`leads_lock`."""
    leads, holders = _lock(emails_by_id, skip_locked=True, raw=raw)
    blocked = {
        kartra_id
        for kartra_id, emails in emails_by_id.items()
        if kartra_id not in leads
        or any(holders.get(email.lower(), kartra_id) not in leads for email in emails if email)
    }
    return leads, blocked


def _lock(
    emails_by_id: dict[int, Iterable[str]], *, skip_locked: bool, raw: bool
) -> tuple[dict[int, Lead], dict[str, int]]:
    """The leads locked, by Kartra id, and the Kartra id of each email's current holder."""
    ids = set(emails_by_id)
    emails = {e.lower() for values in emails_by_id.values() for e in values if e}
    known = (
        Lead.objects.annotate(email_ci=Lower("email"))
        .filter(Q(kartra_id__in=ids) | Q(email_ci__in=emails, kartra_id__isnull=False))
        .values_list("kartra_id", "email_ci")
    )
    holders = dict(known)  # Kartra id -> its email (lowered)
    _claim_pending({k: v for k, v in emails_by_id.items() if k not in holders})
    wanted = sorted(ids | set(holders))
    # Every id not seen committed goes through the insert, in Kartra id order, which waits
    # for a concurrent insert of the same id to commit; then the rows are locked in the
    # same order. A batch waits only for batches that hold leads earlier in that order, so
    # no two batches ever wait for each other.
    _insert_pending([k for k in wanted if k not in holders])
    leads = _lock_rows(wanted, skip_locked=skip_locked, raw=raw)
    gone = [k for k in wanted if k not in leads]
    if gone and not skip_locked:  # erased since it was seen: a pending lead again
        _insert_pending(gone)
        leads.update(_lock_rows(gone, skip_locked=False, raw=raw))
    by_email = {email: kartra_id for kartra_id, email in holders.items() if email in emails}
    return leads, by_email


def _insert_pending(kartra_ids: list[int]) -> None:
    rows_insert(
        Lead,
        [{"kartra_id": k, "mirror_status": MirrorStatus.PENDING} for k in kartra_ids],
        skip_conflicts=True,
    )


#: The attribute of a locked lead that holds the ``custom_fields`` list of its ``mirror_raw``.
_CUSTOM_FIELDS_STORED = "mirror_raw_custom_fields"


def _lock_rows(kartra_ids: list[int], *, skip_locked: bool, raw: bool) -> dict[int, Lead]:
    locked = (
        Lead.objects.select_for_update(skip_locked=skip_locked)
        .filter(kartra_id__in=kartra_ids)
        .order_by("kartra_id")
    )
    if not raw:
        locked = locked.defer("mirror_raw").annotate(
            **{_CUSTOM_FIELDS_STORED: F("mirror_raw__custom_fields")}
        )
    return {lead.kartra_id: lead for lead in locked}


def _claim_pending(new: dict[int, Iterable[str]]) -> None:
    """Give each new Kartra id to the pending lead imported with one of its emails."""
    by_email = {e.lower(): k for k, values in new.items() for e in values if e}
    claimed: set[int] = set()
    if not by_email:
        return
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


#: Lead columns a profile always writes, besides the fields whose values it changed.
_PROFILE_BOOKKEEPING = ["mirror_raw_source", "mirror_profile_observed_at", "mirror_status"]


def leads_apply_profiles(
    leads: dict[int, Lead],
    profiles: Sequence[tuple[ProfileRecord, Observation]],
    *,
    settled: Mapping[int, Collection[str]] | None = None,
) -> list[str]:
    """Apply ``profiles`` (with the observation of each) to the ``leads`` they name, which
    the caller has locked and holds by Kartra id; return the names of the lead fields changed
    in memory, for the caller to save with the rest of its lead bookkeeping. The custom
    values of a lead whose ``settled`` parts (by Kartra id) include ``"custom"`` are known
    to be stored as the profiles give them, and are not written again.

    A profile older than the one a lead last took is skipped; only keys the payload carried
    are written, so a webhook block that lacks a key never blanks it. Of several profiles
    of a lead, each is applied over the last in observation order. An email that moves to
    another lead is taken from its old holder (a pending import of the same lead is merged
    away). Custom field values are upserted, the newest observation winning per field.
    """
    changed: set[str] = set()
    emails = _EmailMoves(leads)
    custom: list[tuple[Lead, CustomValueRecord, Observation]] = []
    confirmed: list[tuple[CustomValueRecord, Observation]] = []
    settled = settled or {}
    for profile, observation in sorted(profiles, key=lambda p: p[1].at):
        lead = leads[profile.kartra_id]
        if observation.is_older_than(lead.mirror_profile_observed_at):
            continue
        changed |= _profile_set(lead, emails.take(lead, profile.fields, observation), observation)
        if _raw_unread(lead) or lead.mirror_raw != profile.raw:
            lead.mirror_raw = profile.raw  # unread (leads_lock's raw=False): written whole
            changed.add("mirror_raw")
        if "custom" in settled.get(lead.kartra_id, ()):
            confirmed.extend((record, observation) for record in profile.custom_values or ())
        else:
            custom.extend((lead, record, observation) for record in profile.custom_values or ())
    if emails.taken or emails.moved:
        changed.add("email")
        _release_emails(leads, emails.taken, emails.moved)
    custom_values_apply(custom, confirmed=confirmed)
    return sorted(changed)


class _EmailMoves:
    """The emails the batch's profiles move between leads, one profile at a time: Kartra
    keeps one lead per email, and the newest observation of an email decides its holder."""

    def __init__(self, leads: dict[int, Lead]) -> None:
        self.original = {lead.pk: lead.email for lead in leads.values()}
        self.holder = {lead.email.lower(): lead for lead in leads.values() if lead.email}
        self.taken: set[str] = set()  # emails (lowercased) that leads of the batch take
        self.moved: set[int] = set()  # pks of the batch's leads whose stored email changes

    def take(self, lead: Lead, fields: dict, observation: Observation) -> dict:
        """``fields`` of a profile of ``lead`` to apply: its email is left out when a newer
        observation gave it to another lead of the batch; else a lead of the batch holding
        it is cleared in memory."""
        email = fields.get("email")
        other = self.holder.get(email.lower()) if email else None
        if other is lead:
            other = None
        if other is not None and observation.is_older_than(other.mirror_profile_observed_at):
            return {k: v for k, v in fields.items() if k != "email"}  # stale for this lead
        if email is None or email.lower() == (lead.email or "").lower():
            return fields
        if self.original[lead.pk]:
            self.moved.add(lead.pk)  # its stored email must make way first
        if other is not None:
            other.email = ""
            if self.original[other.pk]:
                self.moved.add(other.pk)
        self.holder.pop((lead.email or "").lower(), None)
        if email:
            self.taken.add(email.lower())
            self.holder[email.lower()] = lead
        return fields


def _profile_set(lead: Lead, fields: dict, observation: Observation) -> set[str]:
    """Set a profile's ``fields`` and the observation's bookkeeping on ``lead`` (in memory);
    return the names of the fields whose values changed, and of the bookkeeping. A batch's
    one UPDATE of its leads so carries the columns some lead of it changed, not every
    column of every profile: a webhook's lead block mostly repeats what the mirror holds."""
    changed = set(_PROFILE_BOOKKEEPING)
    for key, value in fields.items():
        if getattr(lead, key) != value:
            setattr(lead, key, value)
            changed.add(key)
    if "gdpr_lead_communications" in fields:
        consent = Consent.of(fields["gdpr_lead_communications"], observation.source)
        if (lead.consent, lead.consent_source) != (consent, observation.source):
            lead.consent, lead.consent_source = consent, observation.source
            changed.update(["consent", "consent_source"])
    lead.mirror_raw_source = observation.source
    lead.mirror_profile_observed_at = observation.at
    if lead.lead_deleted:
        lead.mirror_status = MirrorStatus.DELETED
    elif lead.mirror_status in (MirrorStatus.PENDING, MirrorStatus.DELETED):
        lead.mirror_status = MirrorStatus.ACTIVE
    return changed


def custom_confirmed(
    leads: dict[int, Lead], profiles: Sequence[tuple[ProfileRecord, Observation]]
) -> dict[int, set[str]]:
    """By Kartra id, ``{"custom"}`` for each of the (locked) ``leads`` whose every profile
    of ``profiles`` lists its custom fields exactly as the profile the lead last took did.

    Custom values are written by profiles only, and a profile is applied only when it is
    not older than the one the lead last took (``leads_apply_profiles``), whose list is kept
    in ``mirror_raw``: the values stored are that list's, and the same list writes them
    again. Kartra sends a lead's custom fields with every webhook; they rarely change."""
    same: dict[int, bool] = {}
    for profile, _ in profiles:
        listed = profile.raw.get("custom_fields")
        same[profile.kartra_id] = same.get(profile.kartra_id, True) and (
            listed is not None and _custom_fields_stored(leads[profile.kartra_id]) == listed
        )
    return {kartra_id: {"custom"} for kartra_id, equal in same.items() if equal}


def _custom_fields_stored(lead: Lead) -> Any:
    """The ``custom_fields`` list of the (locked) lead's ``mirror_raw``, None if it has
    none; read alone when ``mirror_raw`` was left unread."""
    if hasattr(lead, _CUSTOM_FIELDS_STORED):
        return getattr(lead, _CUSTOM_FIELDS_STORED)
    return (lead.mirror_raw or {}).get("custom_fields")


def _release_emails(leads: dict[int, Lead], emails: set[str], moved: set[int]) -> None:
    """Kartra guarantees one lead per email. A row outside the batch holding an email a
    lead of the batch takes is either a pending import of that lead (deleted: the lead is
    the same) or a stale copy of a lead whose email changed since (cleared until its next
    refresh). The emails of the batch's leads that change (``moved``) are cleared too, so
    that the batch's one UPDATE of its leads never meets the unique index mid-statement (two
    leads swapping emails)."""
    batch = [lead.pk for lead in leads.values()]
    holders = (
        Lead.objects.annotate(email_ci=Lower("email"))
        .filter(email_ci__in=emails)
        .exclude(pk__in=batch)
        .values_list("pk", "kartra_id")
    )
    holders = list(holders) if emails else []
    pending = [pk for pk, kartra_id in holders if kartra_id is None]
    stale = [pk for pk, kartra_id in holders if kartra_id is not None]
    if pending:
        Lead.objects.filter(pk__in=pending).delete()
    if stale or moved:
        Lead.objects.filter(pk__in=[*stale, *moved]).exclude(email="").update(email="")


def leads_save(leads: dict[int, Lead], fields) -> None:
    """Save ``fields`` of the batch's locked ``leads`` with one statement, in Kartra id
    order, stamping ``mirror_updated``. The leads locked without their raw block
    (``leads_lock(raw=False)``) that took no profile keep the stored one, with a second
    statement for them when ``fields`` has ``mirror_raw``."""
    now = timezone.now()
    for lead in leads.values():
        lead.mirror_updated = now
    ordered = sorted(leads.values(), key=lambda lead: lead.kartra_id)
    columns = sorted({*fields, "mirror_updated"})
    if "mirror_raw" in columns:
        read, unread = [], []
        for lead in ordered:
            (unread if _raw_unread(lead) else read).append(lead)
        if unread:
            objects_update(Lead, unread, [c for c in columns if c != "mirror_raw"])
        ordered = read
    objects_update(Lead, ordered, columns)


def _raw_unread(lead: Lead) -> bool:
    """Whether the lead was locked without its ``mirror_raw`` and has not taken one since
    (reading it would cost a query of its own)."""
    return "mirror_raw" in lead.get_deferred_fields()


def lead_request_refresh(*, lead_ids: Iterable[int]) -> int:
    """Ask for a refresh of these leads (primary keys) at the next pass of the refresh loop
    or beat task; a request already pending keeps its place in the queue. Returns how many
    leads now wait for a refresh."""
    return Lead.objects.filter(pk__in=list(lead_ids)).update(
        mirror_refresh_requested_at=Coalesce(
            F("mirror_refresh_requested_at"), Value(timezone.now())
        )
    )
