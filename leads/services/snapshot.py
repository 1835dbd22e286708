"""How a ``get_lead`` snapshot changes the mirror, and how a lead Kartra no longer has is marked.

A snapshot is the full truth about one lead at the moment the request was sent
(``kartra-docs/002_44dfc85e80d92b46.txt``). Applying it writes the profile and custom fields
and *replaces* each relation set, with one exception: a row whose ``observed_at`` is newer
than the request time was written by a webhook delivery received after the request went
out, and that newer observation wins.

What "replace" means for each relation, when the snapshot no longer lists a row:

- tags, lists, memberships (per level): the row turns inactive (``active=False``);
- sequences: the row turns ``unsubscribed`` (its step is kept). ``get_lead`` documents only
  ``active`` and ``unsubscribed``, so a ``completed`` learned from a webhook is kept while
  the snapshot says ``active``;
- transactions: never deleted or changed by their absence (money history is append-only);
- calendar subscriptions and survey results: deleted. They carry no active flag, and
  ``get_lead`` lists cancelled and declined registrations too, so absence means Kartra
  dropped the row.

A relation whose key is missing from ``lead_details`` altogether is left as it is: only a
present (possibly empty) list replaces a set. The lead records when each set was last
replaced (``mirror_sets_replaced_at``), so that an older observation applied afterwards (a
delivery processed late, a slower snapshot) cannot add a row the snapshot did not list.

Snapshots are written by the same writers as webhook batches (``.changes``), with a number
of statements that does not grow with the number of leads, tags, lists, sequences,
memberships, transactions, custom fields, calendar registrations or survey results.
"""

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.db.models import F
from django.db.models.functions import Lower
from django.utils import timezone

from kartra_mirror.db import replayable_atomic
from leads.models import Lead, MirrorStatus, Source
from leads.normalize import LeadSnapshot

from .audit_mirror import PART_KEYS
from .changes import (
    RELATION_SETS,
    ChangeSet,
    FlagChange,
    MembershipChange,
    RecordChange,
    SequenceChange,
    changes_apply,
)
from .history import history_record, lead_watch
from .lead import leads_lock, leads_save
from .observation import Observation

#: What marking a lead refreshed writes, besides the fields a snapshot's profile changes.
_REFRESH_FIELDS = [
    "lead_deleted",
    "mirror_status",
    "mirror_refreshed_at",
    "mirror_refresh_requested_at",
    "mirror_updated",
]


def lead_apply_snapshot(
    *, snapshot: LeadSnapshot, requested_at: datetime, sync_run_id: int | None
) -> Lead:
    """Make the mirror of one lead equal to ``snapshot``, taken by a ``get_lead`` request
    sent at ``requested_at`` (by sync run ``sync_run_id``); return the lead."""
    observation = Observation(at=requested_at, source=Source.SNAPSHOT, ref=sync_run_id)
    (applied,) = snapshots_apply([(snapshot, observation)])
    return applied.lead


@dataclass(frozen=True)
class Applied:
    """A snapshot's lead after the snapshot was applied. ``unchanged``: the lead's last
    stored observation was a snapshot with the same content, so nothing about the lead
    changed in Kartra since (the snapshot is applied anyway: it re-asserts the lead's state
    over any delivery processed out of order)."""

    lead: Lead
    unchanged: bool


def snapshots_apply(
    snapshots: Sequence[tuple[LeadSnapshot, Observation]], *, drifted: bool = False
) -> list[Applied]:
    """Apply ``get_lead`` snapshots, each with the observation of its request, in one
    transaction, with a number of statements that does not grow with their number; return
    what became of each, in the same order. ``drifted``: the mirror of these leads is known
    to differ from what it last observed (an audit found so), so the change history reads
    every part they write, none taken as it was (``_parts_confirmed``).

    Every lead is locked (with the webhook batches' global order, so deliveries for the same
    leads wait for it and it for them), marked refreshed, and its pending refresh request
    made before the request is cleared (one made later stays, so it gets its own refresh).
    """
    changes = ChangeSet()
    for snapshot, observation in snapshots:
        snapshot_changes(changes, snapshot, observation)
    # A snapshot lost to a crash is fetched again: its leads stay due.
    with replayable_atomic():
        leads = leads_lock(
            emails_by_id={
                s.profile.kartra_id: {s.profile.fields.get("email", "")} for s, _ in snapshots
            }
        )
        unchanged = [_same_as_stored(leads[s.profile.kartra_id], s) for s, _ in snapshots]
        settled: dict[int, set[str]] = {}
        for snapshot, _ in [] if drifted else snapshots:
            kartra_id = snapshot.profile.kartra_id
            parts = _parts_confirmed(leads[kartra_id], snapshot)
            settled[kartra_id] = settled[kartra_id] & parts if kartra_id in settled else parts
        written = changes_apply(changes, leads=leads, settled=settled)
        for snapshot, observation in snapshots:
            _mark_refreshed(leads[snapshot.profile.kartra_id], observation.at)
        leads_save(leads, [*written.lead_fields, *_REFRESH_FIELDS])
        history_record(written.history)
    return [
        Applied(leads[s.profile.kartra_id], same)
        for (s, _), same in zip(snapshots, unchanged, strict=True)
    ]


def _same_as_stored(lead: Lead, snapshot: LeadSnapshot) -> bool:
    """Whether the (locked) lead's last observation is a snapshot with this content."""
    return (
        lead.mirror_raw_source == Source.SNAPSHOT
        and lead.mirror_status == MirrorStatus.ACTIVE
        and lead.mirror_raw == snapshot.profile.raw
    )


def _parts_confirmed(lead: Lead, snapshot: LeadSnapshot) -> set[str]:
    """The parts of the (locked) lead's view (``audit_mirror.PART_KEYS``) that applying
    ``snapshot`` cannot change, which the change history therefore does not read: the
    relations it lists exactly as the lead's last observation, a snapshot, did, when no
    delivery about the lead was received since. A delivery received before that snapshot
    lost to it when it was applied (the newest observation wins, and a set a snapshot
    lists in full keeps out older rows), and a list applied again over its own result
    writes the values that are there."""
    if (
        lead.mirror_raw_source != Source.SNAPSHOT
        or lead.mirror_status != MirrorStatus.ACTIVE
        or not _nothing_since(lead)
    ):
        return set()
    stored, raw = lead.mirror_raw, snapshot.profile.raw
    return {part for part, key in PART_KEYS.items() if stored.get(key) == raw.get(key)}


def _nothing_since(lead: Lead) -> bool:
    """Whether no delivery about the lead was received after its last profile observation
    (an IPN, which is no profile, included)."""
    webhook_at, observed_at = lead.mirror_webhook_at, lead.mirror_profile_observed_at
    return webhook_at is None or (observed_at is not None and webhook_at < observed_at)


def snapshot_changes(changes: ChangeSet, snapshot: LeadSnapshot, observation: Observation) -> None:
    """Add what ``snapshot`` observed to ``changes``: its profile, every relation it lists,
    and the sets it lists in full (the ``lead_details`` keys present, possibly empty)."""
    lead = snapshot.profile.kartra_id
    changes.profiles.append((snapshot.profile, observation))
    changes.tags += [FlagChange(lead, (None, None, n), True, observation) for n in snapshot.tags]
    changes.lists += [
        FlagChange(lead, (None, None, s.name), s.active, observation) for s in snapshot.lists
    ]
    changes.sequences += [
        SequenceChange(lead, (None, None, s.name), s.status, s.step, observation)
        for s in snapshot.sequences
    ]
    changes.memberships += [
        MembershipChange(
            lead,
            (None, None, m.name),
            (None, None, m.level_name) if m.level_name else None,
            m.active,
            observation,
        )
        for m in snapshot.memberships
    ]
    for name in ("transactions", "calendars", "surveys"):
        getattr(changes, name).extend(
            RecordChange(lead, record, observation) for record in getattr(snapshot, name)
        )
    changes.replaced += [
        (lead, key, observation) for key in RELATION_SETS if key in snapshot.profile.raw
    ]


def lead_mark_gone(
    *,
    kartra_id: int | None = None,
    email: str = "",
    deleted: bool,
    requested_at: datetime | None = None,
    sync_run_id: int | None = None,
) -> Lead | None:
    """Mark the lead Kartra reports as not found (types 234/243) or deleted (245).

    The row and everything mirrored about it stay (never erased); ``mirror_status`` says
    ``not_found`` or ``deleted`` and a deleted lead gets ``lead_deleted``. ``requested_at``
    (the time the request was sent, by sync run ``sync_run_id``) marks the lead refreshed
    like a snapshot does; the change of status is recorded in the history. Returns the
    lead, or None when the mirror has no such lead.
    """
    if kartra_id is None and not email:
        raise ValueError("lead_mark_gone needs a kartra_id or an email")
    with transaction.atomic():
        leads = Lead.objects.select_for_update()
        if kartra_id is not None:
            lead = leads.filter(kartra_id=kartra_id).first()
        else:
            lead = (
                leads.annotate(email_ci=Lower("email"))
                .filter(email_ci=email.lower())
                .order_by(F("kartra_id").desc(nulls_last=True))
                .first()
            )
        if lead is None:
            return None
        webhook_at = lead.mirror_webhook_at
        if requested_at is not None and webhook_at is not None and webhook_at > requested_at:
            # A delivery received after our request shows the lead alive: it wins.
            _mark_refreshed(lead, requested_at, status=lead.mirror_status)
            lead.save(update_fields=_REFRESH_FIELDS)
            return lead
        observation = Observation(
            at=requested_at or timezone.now(), source=Source.SNAPSHOT, ref=sync_run_id
        )
        history = lead_watch(lead, observation)
        lead.mirror_status = MirrorStatus.DELETED if deleted else MirrorStatus.NOT_FOUND
        if deleted:
            lead.lead_deleted = True
        if requested_at is not None:
            _mark_refreshed(lead, requested_at, status=lead.mirror_status)
        lead.save(update_fields=_REFRESH_FIELDS)
        history_record(history)
    return lead


def _mark_refreshed(lead: Lead, requested_at: datetime, *, status: str | None = None) -> None:
    """Record the refresh on the (locked) lead, in memory."""
    if status is None:
        # get_lead answers 245 for a deleted lead, so a snapshot means the lead exists.
        lead.lead_deleted = False
        status = MirrorStatus.ACTIVE
    lead.mirror_status = status
    if lead.mirror_refreshed_at is None or lead.mirror_refreshed_at < requested_at:
        lead.mirror_refreshed_at = requested_at
    requested = lead.mirror_refresh_requested_at
    if requested is not None and requested <= requested_at:
        lead.mirror_refresh_requested_at = None
