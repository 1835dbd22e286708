"""What a batch observed about leads, and the one writer that puts it in the mirror.

Webhook deliveries (``events.appliers``) and ``get_lead`` snapshots (``.snapshot``) describe
what they observed as a ``ChangeSet``; ``changes_apply`` writes it with a fixed number of
statements per relation, however many leads and rows the batch holds:

1. catalogue rows are resolved, one ``catalog_resolve_many`` per catalogue;
2. profiles are applied to the locked leads (``.profiles``);
3. each relation is upserted with ``upsert_observed``, whose statement keeps a stored row
   that a newer observation wrote;
4. for the relation sets a snapshot listed in full, the rows it did not list and nothing
   newer confirmed are retired (tags, lists, memberships turn inactive; sequences turn
   unsubscribed; calendar registrations and survey results are deleted).

A snapshot is the whole truth about the sets it lists at its request time, so an older
observation (a delivery processed late) never adds a row to such a set: every row of the set
carries the snapshot's time or a newer one, and the lead records when each set was last
replaced (``Lead.mirror_sets_replaced_at``).
"""

from collections.abc import Collection, Mapping
from dataclasses import dataclass, field
from datetime import datetime

from django.db.models import Q

from leads.models import (
    CalendarSubscription,
    Lead,
    LeadTag,
    List,
    ListSubscription,
    Membership,
    MembershipAccess,
    MembershipLevel,
    Sequence,
    SequenceStatus,
    SequenceSubscription,
    Source,
    SurveyResult,
    Tag,
)
from leads.normalize import CalendarRecord, ProfileRecord, SurveyRecord, TransactionRecord

from .calendars import calendars_write
from .catalog import CatalogKey, catalog_resolve_many
from .commerce import ProductSignupRecord, transactions_write
from .history import HistoryWatch, history_watch
from .lead import leads_apply_profiles
from .observation import Observation
from .replaced import RELATION_SETS, lead_set_replaced_at, lead_sets_replaced
from .surveys import surveys_write
from .upsert import rows_joined, upsert_observed

#: Sequence fields a change leaves as stored (an unsubscription keeps the step).
KEEP = object()


@dataclass(frozen=True)
class FlagChange:
    """A lead's tag or list now active or not."""

    lead: int  # Kartra id
    ref: CatalogKey
    active: bool
    observation: Observation


@dataclass(frozen=True)
class SequenceChange:
    lead: int
    ref: CatalogKey
    status: str
    step: object  # int, None, or KEEP
    observation: Observation


@dataclass(frozen=True)
class MembershipChange:
    lead: int
    membership: CatalogKey
    level: CatalogKey | None  # None for external memberships
    active: bool
    observation: Observation


@dataclass(frozen=True)
class RecordChange:
    """A transaction, sign-up, calendar registration or survey result, as observed."""

    lead: int
    record: TransactionRecord | ProductSignupRecord | CalendarRecord | SurveyRecord
    observation: Observation
    status: str | None = None  # a calendar registration's status, when the event sets it


@dataclass
class ChangeSet:
    """Everything a batch observed, in the order observed. ``replaced`` names the relation
    sets (``RELATION_SETS`` keys) a snapshot listed in full, per lead."""

    profiles: list[tuple[ProfileRecord, Observation]] = field(default_factory=list)
    tags: list[FlagChange] = field(default_factory=list)
    lists: list[FlagChange] = field(default_factory=list)
    sequences: list[SequenceChange] = field(default_factory=list)
    memberships: list[MembershipChange] = field(default_factory=list)
    transactions: list[RecordChange] = field(default_factory=list)
    signups: list[RecordChange] = field(default_factory=list)  # affiliate and JV sign-ups
    calendars: list[RecordChange] = field(default_factory=list)
    surveys: list[RecordChange] = field(default_factory=list)
    replaced: list[tuple[int, str, Observation]] = field(default_factory=list)


@dataclass
class Written:
    """What ``changes_apply`` resolved and wrote, for the caller's activity rows."""

    tags: dict[CatalogKey, Tag]
    lists: dict[CatalogKey, List]
    sequences: dict[CatalogKey, Sequence]
    memberships: dict[CatalogKey, Membership]
    levels: dict[tuple, MembershipLevel]
    records: dict[int, object]  # id() of a RecordChange's record -> the row it wrote or kept
    lead_fields: list[str]
    history: HistoryWatch | None  # for the caller's ``history_record``, last in its batch


def changes_apply(
    changes: ChangeSet,
    *,
    leads: dict[int, Lead],
    settled: Mapping[int, Collection[str]] | None = None,
) -> Written:
    """Write ``changes`` for ``leads`` (every lead they name, locked by the caller, by Kartra
    id). The leads' own columns are changed in memory only: the caller saves them with the
    returned ``lead_fields`` and its own bookkeeping, in one statement, and records the
    batch's changes with ``history_record(written.history)`` as its last statement.
    ``settled``: by Kartra id, the parts of a lead (``audit_mirror.PARTS``) the caller knows
    ``changes`` cannot change, which the history does not read (``history_watch``) and,
    for custom values, which are not written again."""
    tags = catalog_resolve_many(Tag, [(c.ref, {}) for c in changes.tags])
    lists = catalog_resolve_many(List, [(c.ref, {}) for c in changes.lists])
    sequences = catalog_resolve_many(Sequence, [(c.ref, {}) for c in changes.sequences])
    memberships = catalog_resolve_many(
        Membership, [(c.membership, {}) for c in changes.memberships]
    )
    levels = catalog_resolve_many(
        MembershipLevel,
        [
            ((memberships[c.membership].pk, *c.level[1:]), {})
            for c in changes.memberships
            if c.level is not None
        ],
        scope="membership",
    )
    # Read once the catalogue rows are known, before any row of a lead is written.
    history = history_watch(changes, leads, settled or {}, {"tags": tags, "lists": lists})
    lead_fields = leads_apply_profiles(leads, changes.profiles, settled=settled)
    replaced = _sets_replaced(changes, leads)

    def current(key: str, items: list) -> list:
        """The changes of set ``key`` that no newer full listing of that set supersedes."""
        return [c for c in items if not c.observation.is_older_than(replaced.get((c.lead, key)))]

    _flags_write(LeadTag, "tag_id", tags, current("tags", changes.tags), leads)
    _flags_write(ListSubscription, "list_id", lists, current("lists", changes.lists), leads)
    in_time = current("sequences", changes.sequences)
    _sequences_write(sequences, in_time, leads)
    kept = {id(c) for c in in_time}
    _late_completions_write(sequences, [c for c in changes.sequences if id(c) not in kept], leads)
    _memberships_write(memberships, levels, current("memberships", changes.memberships), leads)
    records: dict[int, object] = {}
    records.update(transactions_write(changes.transactions, leads, signups=changes.signups))
    records.update(calendars_write(current("calendars", changes.calendars), leads))
    records.update(surveys_write(current("surveys", changes.surveys), leads))
    _sets_retire(changes, leads)
    if changes.replaced:
        lead_fields = sorted({*lead_fields, "mirror_sets_replaced_at"})
    return Written(tags, lists, sequences, memberships, levels, records, lead_fields, history)


# -- replaced sets -----------------------------------------------------------------------------


def _sets_replaced(changes: ChangeSet, leads: dict[int, Lead]) -> dict[tuple[int, str], datetime]:
    """Record on the leads (in memory) the sets this batch's snapshots list in full, and
    return, per (lead, set), the time of the newest full listing, this batch's included."""
    for kartra_id, key, observation in changes.replaced:
        lead = leads[kartra_id]
        before = lead_set_replaced_at(lead, key)
        if before is None or before < observation.at:
            lead.mirror_sets_replaced_at = {
                **(lead.mirror_sets_replaced_at or {}),
                key: observation.at.isoformat(),
            }
    return {
        (kartra_id, key): at
        for kartra_id, lead in leads.items()
        for key, at in lead_sets_replaced(lead).items()
    }


def _sets_retire(changes: ChangeSet, leads: dict[int, Lead]) -> None:
    """Retire the rows of each fully listed set that the listing did not name: after the
    upserts, every row it named carries its time or a newer one, so the rows still older
    than it are exactly those it left out. One statement per relation for the batch (and
    the cascade of a delete, when a calendar registration or survey result is gone)."""
    by_key: dict[str, dict[int, Observation]] = {}
    for kartra_id, key, observation in changes.replaced:
        lead = leads[kartra_id]
        if lead_set_replaced_at(lead, key) == observation.at:  # else a newer one replaced it
            by_key.setdefault(key, {})[lead.pk] = observation
    older = "{t}.observed_at < {v}.observed_at"
    for key, observations in by_key.items():
        model = RELATION_SETS[key]
        listings = [{"lead_id": pk, **o.fields()} for pk, o in sorted(observations.items())]
        if model in (CalendarSubscription, SurveyResult):
            gone = rows_joined(model, listings, on="lead_id", where=older)
            if gone:
                model.objects.filter(pk__in=gone).delete()
            continue
        retired = (
            {"status": f"'{SequenceStatus.UNSUBSCRIBED}'"}
            if model is SequenceSubscription
            else {"active": "false"}
        )
        observed = {name: f"{{v}}.{name}" for name in Observation.FIELDS}
        rows_joined(model, listings, on="lead_id", where=older, assign={**retired, **observed})


# -- tags, lists, memberships, sequences -------------------------------------------------------


def _flags_write(model, fk: str, rows_of, changes: list[FlagChange], leads) -> None:
    upsert_observed(
        model,
        [
            {
                "lead_id": leads[c.lead].pk,
                fk: rows_of[c.ref].pk,
                "active": c.active,
                **c.observation.fields(),
            }
            for c in changes
        ],
        unique=("lead_id", fk),
        update=("active",),
    )


def _memberships_write(memberships, levels, changes: list[MembershipChange], leads) -> None:
    rows = [
        {
            "lead_id": leads[c.lead].pk,
            "membership_id": memberships[c.membership].pk,
            "level_id": (
                levels[(memberships[c.membership].pk, *c.level[1:])].pk if c.level else None
            ),
            "active": c.active,
            **c.observation.fields(),
        }
        for c in changes
    ]
    upsert_observed(
        MembershipAccess,
        [r for r in rows if r["level_id"] is not None],
        unique=("lead_id", "membership_id", "level_id"),
        update=("active",),
    )
    upsert_observed(
        MembershipAccess,
        [r for r in rows if r["level_id"] is None],
        unique=("lead_id", "membership_id"),
        update=("active",),
        conflict_where="level_id IS NULL",
    )


#: ``get_lead`` documents only active and unsubscribed: a completion a webhook reported
#: stays while a snapshot still says active.
_KEEP_COMPLETED = (
    f"CASE WHEN {{old}} = '{SequenceStatus.COMPLETED}' AND {{new}} = '{SequenceStatus.ACTIVE}' "
    f"AND EXCLUDED.observed_source = '{Source.SNAPSHOT}' THEN {{old}} ELSE {{new}} END"
)


def _sequences_write(sequences, changes: list[SequenceChange], leads) -> None:
    groups: dict[bool, list[dict]] = {}
    for c in changes:
        row = {
            "lead_id": leads[c.lead].pk,
            "sequence_id": sequences[c.ref].pk,
            "status": c.status,
            **c.observation.fields(),
        }
        if c.step is not KEEP:
            row["step"] = c.step
        groups.setdefault(c.step is not KEEP, []).append(row)
    for with_step, rows in groups.items():
        upsert_observed(
            SequenceSubscription,
            rows,
            unique=("lead_id", "sequence_id"),
            update=("status", "step") if with_step else ("status",),
            expressions={"status": _KEEP_COMPLETED},
        )


def _late_completions_write(sequences, changes: list[SequenceChange], leads) -> None:
    """A completion a webhook reported before a snapshot, applied after it, still marks the
    sequence completed where the snapshot said active: ``get_lead`` cannot say completed,
    so its "active" does not contradict the completion."""
    done = [c for c in changes if c.status == SequenceStatus.COMPLETED]
    if not done:
        return
    which = Q()
    for c in done:
        which |= Q(lead_id=leads[c.lead].pk, sequence_id=sequences[c.ref].pk)
    SequenceSubscription.objects.filter(
        which, status=SequenceStatus.ACTIVE, observed_source=Source.SNAPSHOT
    ).update(status=SequenceStatus.COMPLETED)
