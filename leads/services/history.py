"""The change history: what each batch changed about its leads, recorded in the same batch.

Every batch that writes leads (a batch of webhook and IPN deliveries, a batch of ``get_lead``
snapshots) reads the parts of its leads it is about to write before it writes them
(:func:`history_watch`, called by ``.changes.changes_apply``), and again just before it
commits (:func:`history_record`, called last by the batch's owner); each difference between
the two readings is one :class:`~leads.models.Change`. The readings are the drift audit's
view of a lead (``.audit_mirror``), so a change is described in the same words as a
difference: profile and custom fields by name, tags, lists and memberships as assigned or
not, sequences with status and step, transactions and calendar registrations with the
values that changed, survey results, subscriptions, the lead's status.

What counts, and what does not:

- A change is the net effect of the batch: a tag added and removed within one batch leaves
  no row. A row written again with the same values (a refresh confirming what a webhook
  said) is no change.
- A lead the mirror had not seen before (or only as an import waiting for its id) is one
  change, ``lead status`` from nothing to ``active``: its first profile and relations are
  the lead itself, not changes to it.
- Each change names the observation that made it: the one in the batch whose time the
  changed row now carries (a delivery and its received time, or a snapshot and its sync
  run), else, for a row a snapshot dropped, the newest observation of that lead in the batch.

The reads cost two queries per part the batch writes (a batch of tag webhooks reads tags
only: of each lead, the tag rows it writes, unless a snapshot lists the lead's whole set)
and none for profiles (the locked leads are in memory). A snapshot batch leaves out of them
each lead's relations that its snapshot lists exactly as the lead's last one did
(``.snapshot``): most refreshes of an account find most leads as they were. Rows are
numbered as their batch is about to commit, one batch at a time (a transaction-scoped
advisory lock on PostgreSQL; SQLite writes one transaction at a time anyway), so the change
feed, which pages by that number, never passes over a change that commits later with a
lower one.
``KARTRA_HISTORY_DAYS = 0`` records nothing.
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from django.conf import settings
from django.db import connection, transaction
from django.dispatch import Signal
from django.utils import timezone

from leads.models import Change, ChangeKind, Lead, MirrorStatus

from .audit_mirror import (
    FLAG_PARTS,
    FLAG_WORDS,
    MirrorLead,
    Seen,
    calendar_row_values,
    item_name,
    mirror_views,
)
from .observation import Observation
from .upsert import rows_insert

if TYPE_CHECKING:
    from .catalog import CatalogKey
    from .changes import ChangeSet

logger = logging.getLogger(__name__)

#: Sent once per committed batch that recorded changes, with ``changes``: the batch's
#: ``Change`` rows, numbered. For consumers in the same process (a cache to clear, a queue
#: to feed); tools elsewhere read the change feed (``/api/v1/changes/``).
changes_recorded = Signal()

#: The advisory lock that numbers one batch's changes at a time (any constant of the
#: deployment's own; "KMCF" in ASCII).
FEED_LOCK = 0x4B4D4346

#: Lead columns a change never names: the keys, and the raw consent number and its source,
#: whose meaning flips with the source (``Consent``): ``consent`` is the change.
_UNRECORDED = {"id", "kartra_id", "gdpr_lead_communications", "consent_source"}

#: The relations a ChangeSet lists changes of: each the name of its attribute and of the part
#: of the leads' views (``mirror_views``) it writes.
_RELATIONS = ("tags", "lists", "sequences", "memberships", "transactions", "calendars", "surveys")


def history_enabled() -> bool:
    return settings.KARTRA_HISTORY_DAYS > 0


@dataclass
class HistoryWatch:
    """The leads of one batch as they were before it wrote them, and what it observed."""

    leads: dict[int, Lead]
    parts: tuple[str, ...]
    before: dict[int, MirrorLead]  # by pk; the leads new to the mirror are not read
    observations: dict[int, list[Observation]]  # by lead pk
    unread: dict[int, Collection[str]]  # by lead pk: the parts the batch cannot change
    rows: dict[str, dict[int, set[int]]]  # by part and lead pk: the only rows read


def history_watch(
    changes: ChangeSet,
    leads: dict[int, Lead],
    settled: Mapping[int, Collection[str]],
    catalogs: Mapping[str, Mapping[CatalogKey, Any]],
) -> HistoryWatch | None:
    """Read the parts of ``leads`` (locked, by Kartra id, not yet written) that ``changes``
    will write; None when history is off. ``settled``: by Kartra id, the parts of a lead
    the caller knows the batch cannot change (a snapshot that lists them as the lead's last
    one did), which are not read. ``catalogs``: the catalogue rows ``changes`` names, as
    resolved, by part of ``FLAG_PARTS``: of a lead's tags and lists, only the rows the
    batch writes are read, unless a snapshot lists the whole set."""
    if not history_enabled():
        return None
    parts = {key for key in _RELATIONS if getattr(changes, key)}
    parts |= {key for _, key, _ in changes.replaced}
    if any(profile.custom_values for profile, _ in changes.profiles):
        parts.add("custom")
    observations: dict[int, list[Observation]] = {}
    for kartra_id, observation in _observed(changes):
        observations.setdefault(leads[kartra_id].pk, []).append(observation)
    parts_read = tuple(sorted(parts))
    touched = _parts_touched(changes)
    unread = {
        lead.pk: {
            *settled.get(kartra_id, ()),
            *(part for part in _OWN_PARTS & parts if part not in touched.get(kartra_id, ())),
        }
        for kartra_id, lead in leads.items()
    }
    known = [lead for lead in leads.values() if lead.mirror_status != MirrorStatus.PENDING]
    rows = _rows_written(changes, leads, catalogs)
    before = mirror_views(known, parts=parts_read, unread=unread, rows=rows)
    return HistoryWatch(leads, parts_read, before, observations, unread, rows)


def _rows_written(
    changes: ChangeSet, leads: dict[int, Lead], catalogs: Mapping[str, Mapping[CatalogKey, Any]]
) -> dict[str, dict[int, set[int]]]:
    """By part of ``FLAG_PARTS`` and lead pk, the catalogue rows (pks) whose flags
    ``changes`` writes for the lead; a lead whose set a snapshot lists in full is left out,
    to be read whole (its other rows are retired)."""
    whole = {(kartra_id, key) for kartra_id, key, _ in changes.replaced}
    rows: dict[str, dict[int, set[int]]] = {}
    for part in FLAG_PARTS:
        for change in getattr(changes, part):
            if (change.lead, part) not in whole:
                row = catalogs[part][change.ref]
                rows.setdefault(part, {}).setdefault(leads[change.lead].pk, set()).add(row.pk)
    return rows


#: Parts whose rows each belong to one lead for good (a tag, a list, a sequence, a
#: membership or a custom field of that lead): a batch changes them only for the leads it
#: has a change of that part for, so the others' are not read. A transaction, a calendar
#: registration or a survey result may pass from one lead to another, so those parts are
#: read for every lead of a batch that writes any.
_OWN_PARTS = frozenset({"tags", "lists", "sequences", "memberships", "custom"})


def _parts_touched(changes: ChangeSet) -> dict[int, set[str]]:
    """By Kartra id, the parts ``changes`` writes rows of for each lead."""
    touched: dict[int, set[str]] = {}
    for key in _RELATIONS:
        for change in getattr(changes, key):
            touched.setdefault(change.lead, set()).add(key)
    for kartra_id, key, _ in changes.replaced:
        touched.setdefault(kartra_id, set()).add(key)
    for profile, _ in changes.profiles:
        if profile.custom_values:
            touched.setdefault(profile.kartra_id, set()).add("custom")
    return touched


def _observed(changes: ChangeSet) -> Iterable[tuple[int, Observation]]:
    """Every (lead Kartra id, observation) pair in ``changes``."""
    for profile, observation in changes.profiles:
        yield profile.kartra_id, observation
    for key in _RELATIONS:
        for change in getattr(changes, key):
            yield change.lead, change.observation
    for kartra_id, _, observation in changes.replaced:
        yield kartra_id, observation


def history_record(watch: HistoryWatch | None) -> None:
    """Record what the batch ``watch`` saw the start of has changed, now that it wrote
    everything (call it last, inside the batch's transaction)."""
    if watch is None:
        return
    known = [lead for lead in watch.leads.values() if lead.pk in watch.before]
    after = mirror_views(known, parts=watch.parts, unread=watch.unread, rows=watch.rows)
    now = timezone.now()
    # A lead the batch observed nothing of (the old holder of an email another lead took)
    # changed because of the batch's newest observation.
    every = [o for seen in watch.observations.values() for o in seen]
    newest = [max(every, key=lambda o: o.at)] if every else []
    rows = []
    for lead in watch.leads.values():
        if lead.pk in watch.before:
            found = lead_changes(watch.before[lead.pk], after[lead.pk])
        elif lead.mirror_status != MirrorStatus.PENDING:  # new to the mirror: it appeared
            appeared = lead.mirror_status, lead.mirror_profile_observed_at
            found = [(ChangeKind.LEAD, "status", None, *appeared)]
        else:
            continue
        seen = watch.observations.get(lead.pk) or newest
        for kind, name, old, new, at in found:
            observation = _observation_at(seen, at)
            rows.append(
                {
                    "lead_id": lead.pk,
                    "kind": kind,
                    "name": name[:255],
                    "old": old,
                    "new": new,
                    "observed_at": observation.at,
                    "source": observation.source,
                    "ref": observation.ref,
                    "recorded_at": now,
                }
            )
    changes_insert(rows)


def lead_watch(lead: Lead, observation: Observation) -> HistoryWatch | None:
    """A watch of one (locked) lead's own columns, about to be written as ``observation``
    found (a lead Kartra answers it no longer has); None when history is off."""
    if not history_enabled():
        return None
    before = mirror_views([lead], parts=())
    return HistoryWatch({lead.kartra_id: lead}, (), before, {lead.pk: [observation]}, {}, {})


def changes_insert(rows: list[dict[str, Any]]) -> None:
    """Number and insert ``rows`` (one batch's changes: ``Change`` columns by attname)
    inside the caller's transaction, and send ``changes_recorded`` once it commits. The
    rows become ``Change`` instances only for the signal's receivers, if there are any."""
    if not rows:
        return
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s)", [FEED_LOCK])
    pks = rows_insert(Change, rows)
    transaction.on_commit(lambda: _announce(rows, pks))


def _announce(rows: list[dict[str, Any]], pks: list[int]) -> None:
    if not changes_recorded.has_listeners(Change):
        return
    changes = []
    for pk, row in zip(pks, rows, strict=True):
        change = Change(pk=pk, **row)
        change._state.adding, change._state.db = False, "default"  # as if read back
        changes.append(change)
    for receiver, result in changes_recorded.send_robust(sender=Change, changes=changes):
        if isinstance(result, Exception):
            name = getattr(receiver, "__qualname__", repr(receiver))
            logger.error("changes_recorded receiver %s failed: %s", name, type(result).__name__)


def _observation_at(seen: list[Observation], at: datetime | None) -> Observation:
    """The batch's observation of the lead made at ``at``, else its newest one."""
    for observation in seen:
        if observation.at == at:
            return observation
    return max(seen, key=lambda o: o.at)


# -- what differs between two views of a lead (pure code) ------------------------------------

#: One change: (kind, name, old, new, when the new value was observed or None).
Found = tuple[str, str, Any, Any, "datetime | None"]


def lead_changes(before: MirrorLead, after: MirrorLead) -> list[Found]:
    """How ``after`` differs from ``before`` (two views of one known lead, with the same
    parts)."""
    found: list[Found] = []
    if before.status != after.status:
        found.append((ChangeKind.LEAD, "status", before.status, after.status, after.profile_at))
    for key, value in after.profile.items():
        if key not in _UNRECORDED and before.profile.get(key) != value:
            old = before.profile.get(key)
            found.append((ChangeKind.PROFILE, key, old, value, after.profile_at))
    found += _custom(before.custom, after.custom)
    for kind, attr in (("tag", "tags"), ("list", "lists"), ("membership", "memberships")):
        found += _flags(kind, getattr(before, attr), getattr(after, attr))
    found += _keyed(ChangeKind.SEQUENCE, _sequences(before), _sequences(after))
    found += _keyed(ChangeKind.TRANSACTION, _transactions(before), _transactions(after))
    found += _keyed(ChangeKind.SUBSCRIPTION, _subscriptions(before), _subscriptions(after))
    found += _keyed(ChangeKind.CALENDAR, _calendars(before), _calendars(after))
    found += _keyed(ChangeKind.SURVEY, _surveys(before), _surveys(after))
    return found


Rows = dict[str, tuple[Any, "datetime | None"]]  # name -> (JSON-ready value, observed at)


def _keyed(kind: str, before: Rows, after: Rows) -> list[Found]:
    """Rows added, gone or with other values; of a dict value, only the keys that differ."""
    found = []
    for name in sorted(before.keys() | after.keys()):
        old, _ = before.get(name, (None, None))
        new, at = after.get(name, (None, None))
        if old == new:
            continue
        if isinstance(old, dict) and isinstance(new, dict):
            keys = sorted(k for k in old.keys() | new.keys() if old.get(k) != new.get(k))
            old, new = {k: old.get(k) for k in keys}, {k: new.get(k) for k in keys}
        found.append((kind, name, old, new, at))
    return found


def _custom(before: dict, after: dict) -> list[Found]:
    """Custom field values by identifier (by field id where a field has none)."""

    def by_name(custom: dict) -> Rows:
        names: dict[int, str] = {}
        for key, seen in custom.items():  # a field is listed by its id and its identifier
            if isinstance(key, str) or id(seen) not in names:
                names[id(seen)] = str(key)
        seen_of = {id(seen): seen for seen in custom.values()}
        return {name: (_custom_value(seen_of[i]), seen_of[i].at) for i, name in names.items()}

    return _keyed(ChangeKind.CUSTOM_FIELD, by_name(before), by_name(after))


def _custom_value(seen: Seen) -> Any:
    text, options = seen.value
    return [value for _, value in options] if options else text


def _flags(kind: str, before: dict, after: dict) -> list[Found]:
    """Tags, lists and memberships: whether held changed (a missing row is not held)."""
    on, off = FLAG_WORDS[kind]
    found = []
    for item in sorted(before.keys() | after.keys(), key=item_name):
        was, now = before.get(item), after.get(item)
        held_before, held_now = bool(was and was.value), bool(now and now.value)
        if held_before != held_now:
            at = now.at if now is not None else None
            old = (on if held_before else off) if was is not None else None
            found.append((kind, item_name(item), old, on if held_now else off, at))
    return found


def _sequences(view: MirrorLead) -> Rows:
    return {
        name: ({"status": seen.value[0], "step": seen.value[1]}, seen.at)
        for name, seen in view.sequences.items()
    }


def _transactions(view: MirrorLead) -> Rows:
    return {
        str(kartra_id): (
            {key: value for key, value in seen.value.items() if value not in (None, "")},
            seen.at,
        )
        for kartra_id, seen in view.transactions.items()
    }


def _subscriptions(view: MirrorLead) -> Rows:
    return {
        str(kartra_id): ("cancelled" if cancelled else "active", None)
        for kartra_id, cancelled in view.subscriptions.items()
    }


def _calendars(view: MirrorLead) -> Rows:
    return {
        str(row.kartra_id or item_name((row.calendar, row.calendar_class))): (
            calendar_row_values(row),
            row.at,
        )
        for row in view.calendars
    }


def _surveys(view: MirrorLead) -> Rows:
    return {key[1] or str(key[0]): (seen.value, seen.at) for key, seen in view.surveys.items()}
