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

Query count: catalogue names are resolved in bulk and every relation set is written with
``bulk_create``/``bulk_update``, so the number of queries does not grow with the number of
tags, lists, sequences, memberships, transactions, custom fields, calendar registrations or
survey results (see ``snapshot_bulk`` for the last two).
"""

from collections.abc import Callable, Hashable
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from django.db import models, transaction
from django.db.models import Case, F, OuterRef, Q, Subquery, Value, When
from django.db.models.functions import Lower

from leads.models import (
    Lead,
    LeadTag,
    List,
    ListSubscription,
    Membership,
    MembershipAccess,
    MembershipLevel,
    MirrorStatus,
    PricePoint,
    Product,
    Sequence,
    SequenceStatus,
    SequenceSubscription,
    Source,
    Tag,
    Transaction,
)
from leads.normalize import LeadSnapshot, TransactionRecord

from .catalog import catalog_resolve_names
from .lead import lead_apply_profile, lead_lock
from .observation import Observation
from .snapshot_bulk import calendar_subscriptions_replace, stamp, survey_results_replace
from .state import RELATION_SETS, lead_set_replaced_at, lead_sets_mark_replaced


def lead_apply_snapshot(
    *, snapshot: LeadSnapshot, requested_at: datetime, sync_run_id: int | None
) -> Lead:
    """Make the mirror of one lead equal to ``snapshot``, taken by a ``get_lead`` request
    sent at ``requested_at`` (by sync run ``sync_run_id``); return the lead.

    Runs in one transaction under the lead's row lock, so webhook deliveries for the same
    lead wait for it (and it for them). Marks the lead refreshed and clears a pending refresh
    request made before ``requested_at`` (one made later stays, so it gets its own refresh).
    """
    observation = Observation(at=requested_at, source=Source.SNAPSHOT, ref=sync_run_id)
    with transaction.atomic():
        lead = lead_lock(
            kartra_id=snapshot.profile.kartra_id, email=snapshot.profile.fields.get("email", "")
        )
        lead_apply_profile(lead, snapshot.profile, observation=observation)
        # A set a newer snapshot replaced is left to it: every row of it was observed after
        # this request, and what this one lists beyond them the newer one did not.
        replaced = [
            key
            for key in snapshot.profile.raw
            if key in RELATION_SETS.values()
            and not observation.is_older_than(lead_set_replaced_at(lead, key))
        ]
        if "tags" in replaced:
            tags = catalog_resolve_names(Tag, snapshot.tags)
            _replace_flags(LeadTag, lead, {tags[n].pk: True for n in snapshot.tags}, observation)
        if "lists" in replaced:
            found = catalog_resolve_names(List, [s.name for s in snapshot.lists])
            wanted = {found[s.name].pk: s.active for s in snapshot.lists}
            _replace_flags(ListSubscription, lead, wanted, observation)
        if "sequences" in replaced:
            _replace_sequences(lead, snapshot, observation)
        if "memberships" in replaced:
            _replace_memberships(lead, snapshot, observation)
        if "transactions" in snapshot.profile.raw:
            transactions_upsert_bulk(lead, snapshot.transactions, observation=observation)
        if "calendars" in replaced:
            calendar_subscriptions_replace(lead, snapshot.calendars, observation=observation)
        if "surveys" in replaced:
            survey_results_replace(lead, snapshot.surveys, observation=observation)
        lead_sets_mark_replaced(lead, replaced, at=requested_at)
        _mark_refreshed(lead, requested_at)
    return lead


def lead_mark_gone(
    *,
    kartra_id: int | None = None,
    email: str = "",
    deleted: bool,
    requested_at: datetime | None = None,
) -> Lead | None:
    """Mark the lead Kartra reports as not found (types 234/243) or deleted (245).

    The row and everything mirrored about it stay (never erased); ``mirror_status`` says
    ``not_found`` or ``deleted`` and a deleted lead gets ``lead_deleted``. ``requested_at``
    (the time the request was sent) marks the lead refreshed like a snapshot does. Returns
    the lead, or None when the mirror has no such lead.
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
            return lead
        lead.mirror_status = MirrorStatus.DELETED if deleted else MirrorStatus.NOT_FOUND
        if deleted:
            lead.lead_deleted = True
        lead.save(update_fields=["mirror_status", "lead_deleted", "mirror_updated"])
        if requested_at is not None:
            _mark_refreshed(lead, requested_at, status=lead.mirror_status)
    return lead


# -- bookkeeping ---------------------------------------------------------------------------


def _mark_refreshed(lead: Lead, requested_at: datetime, *, status: str | None = None) -> None:
    """Record the refresh on the (locked) lead."""
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
    lead.save(
        update_fields=[
            "lead_deleted",
            "mirror_status",
            "mirror_refreshed_at",
            "mirror_refresh_requested_at",
            "mirror_sets_replaced_at",
            "mirror_updated",
        ]
    )


# -- flag relations: tags, lists, membership levels ----------------------------------------


def _replace_flags(
    model: type[models.Model],
    lead: Lead,
    wanted: dict[Hashable, bool],
    observation: Observation,
    *,
    key: Callable[[Any], Hashable] | None = None,
    build: Callable[[Hashable], dict[str, Any]] | None = None,
) -> None:
    """Set ``active`` on the lead's rows of ``model`` to ``wanted[key]``, False for rows the
    snapshot does not list; create rows for new keys. Rows observed after the request are
    left alone. Every row the snapshot speaks about takes this observation's time, so an
    older delivery processed late cannot undo it.

    ``key`` maps a row to its catalogue key (default: the one catalogue foreign key id);
    ``build`` maps a key to the new row's foreign key values.
    """
    fk = _catalog_fk(model)
    key = key or (lambda row: getattr(row, f"{fk}_id"))
    build = build or (lambda k: {f"{fk}_id": k})
    existing = {key(row): row for row in model.objects.filter(lead=lead)}
    on, confirmed = [], []
    for k, row in existing.items():
        if not observation.is_older_than(row.observed_at):
            confirmed.append(row.pk)
            if wanted.get(k, False):
                on.append(row.pk)
    if confirmed:
        # One statement for every row, however many: active where the snapshot says so.
        model.objects.filter(pk__in=confirmed).update(
            active=Case(When(pk__in=on, then=Value(True)), default=Value(False)),
            **observation.fields(),
        )
    model.objects.bulk_create(
        [
            model(lead=lead, active=active, **build(k), **observation.fields())
            for k, active in wanted.items()
            if k not in existing
        ]
    )


def _catalog_fk(model: type[models.Model]) -> str:
    return next(
        f.name
        for f in model._meta.concrete_fields
        if f.is_relation and f.name != "lead" and f.related_model is not None
    )


def _replace_memberships(lead: Lead, snapshot: LeadSnapshot, observation: Observation) -> None:
    memberships = catalog_resolve_names(Membership, [m.name for m in snapshot.memberships])
    levels = membership_levels_resolve(
        [(memberships[m.name], m.level_name) for m in snapshot.memberships if m.level_name]
    )
    wanted: dict[Hashable, bool] = {}
    for state in snapshot.memberships:
        membership = memberships[state.name]
        level = levels.get((membership.pk, state.level_name)) if state.level_name else None
        wanted[(membership.pk, level.pk if level else None)] = state.active
    _replace_flags(
        MembershipAccess,
        lead,
        wanted,
        observation,
        key=lambda row: (row.membership_id, row.level_id),
        build=lambda k: {"membership_id": k[0], "level_id": k[1]},
    )


def membership_levels_resolve(
    pairs: list[tuple[Membership, str]],
) -> dict[tuple[int, str], MembershipLevel]:
    """Levels by (membership pk, level name) in a constant number of queries, created
    without an id when missing; a level with a Kartra id wins over an id-less one."""
    wanted = sorted({(m.pk, name) for m, name in pairs if name})
    if not wanted:
        return {}

    def lookup() -> dict[tuple[int, str], MembershipLevel]:
        found: dict[tuple[int, str], MembershipLevel] = {}
        rows = MembershipLevel.objects.filter(
            membership_id__in={m for m, _ in wanted}, name__in={n for _, n in wanted}
        ).order_by("membership_id", "name", F("kartra_id").desc(nulls_last=True), "pk")
        for row in rows:
            found.setdefault((row.membership_id, row.name), row)
        return found

    found = lookup()
    missing = [pair for pair in wanted if pair not in found]
    if missing:
        MembershipLevel.objects.bulk_create(
            [MembershipLevel(membership_id=m, name=n) for m, n in missing], ignore_conflicts=True
        )
        found = lookup()
    return found


# -- sequences -----------------------------------------------------------------------------


def _replace_sequences(lead: Lead, snapshot: LeadSnapshot, observation: Observation) -> None:
    sequences = catalog_resolve_names(Sequence, [s.name for s in snapshot.sequences])
    wanted = {sequences[s.name].pk: s for s in snapshot.sequences}
    existing = {row.sequence_id: row for row in SequenceSubscription.objects.filter(lead=lead)}
    confirmed, changed = [], []
    for sequence_id, row in existing.items():
        if observation.is_older_than(row.observed_at):
            continue
        confirmed.append(row.pk)
        state = wanted.get(sequence_id)
        step, status = row.step, SequenceStatus.UNSUBSCRIBED
        if state is not None:
            step, status = state.step, state.status
            if row.status == SequenceStatus.COMPLETED and status == SequenceStatus.ACTIVE:
                status = SequenceStatus.COMPLETED
        if (row.step, row.status) != (step, status):
            row.step, row.status = step, status
            changed.append(row)
    stamp(SequenceSubscription, confirmed, observation)
    SequenceSubscription.objects.bulk_update(changed, ["step", "status"])
    SequenceSubscription.objects.bulk_create(
        [
            SequenceSubscription(
                lead=lead,
                sequence_id=sequence_id,
                step=state.step,
                status=state.status,
                **observation.fields(),
            )
            for sequence_id, state in wanted.items()
            if sequence_id not in existing
        ]
    )


# -- transactions --------------------------------------------------------------------------


@dataclass(frozen=True)
class _TransactionPlan:
    create: list[Transaction]
    changed: list[Transaction]
    fields: list[str]
    confirmed: list[int]


def transactions_upsert_bulk(
    lead: Lead,
    records: tuple[TransactionRecord, ...] | list[TransactionRecord],
    *,
    observation: Observation,
) -> list[Transaction]:
    """Store many transactions of one lead by Kartra id in a constant number of queries.

    The bulk counterpart of ``transaction_upsert`` for snapshots: only keys the record
    carries are written, so a snapshot's short transaction (amount, type, date) never blanks
    the buyer, subscription and amount details a webhook delivered. A row observed after
    this observation is left alone. Refund links are completed both ways.
    """
    records = list({r.kartra_id: r for r in records}.values())
    if not records:
        return []
    products = catalog_resolve_names(
        Product, [r.product.name for r in records if r.product and r.product.name]
    )
    price_points = {
        (products[r.product.name].pk, r.fields["price_point"])
        for r in records
        if r.product and r.product.name and r.fields.get("price_point")
    }
    PricePoint.objects.bulk_create(
        [PricePoint(product_id=p, number=n) for p, n in sorted(price_points)],
        ignore_conflicts=True,
    )
    plan = _plan_transactions(lead, records, products, observation)
    Transaction.objects.bulk_create(plan.create)
    if plan.changed:
        Transaction.objects.bulk_update(plan.changed, plan.fields)
    stamp(Transaction, plan.confirmed, observation)
    ids = [r.kartra_id for r in records]
    # One statement links refunds to their sales, in both directions.
    (
        Transaction.objects.filter(parent__isnull=True, parent_kartra_id__isnull=False)
        .filter(Q(kartra_id__in=ids) | Q(parent_kartra_id__in=ids))
        .update(
            parent=Subquery(
                Transaction.objects.filter(kartra_id=OuterRef("parent_kartra_id")).values("pk")[:1]
            )
        )
    )
    return [*plan.create, *plan.changed]


def _plan_transactions(
    lead: Lead,
    records: list[TransactionRecord],
    products: dict[str, Product],
    observation: Observation,
) -> _TransactionPlan:
    existing = {
        row.kartra_id: row
        for row in Transaction.objects.filter(kartra_id__in=[r.kartra_id for r in records])
    }
    create, changed, confirmed = [], [], []
    fields: set[str] = set()
    for record in records:
        product = products.get(record.product.name) if record.product else None
        row = existing.get(record.kartra_id)
        if row is None:
            create.append(
                Transaction(
                    kartra_id=record.kartra_id,
                    lead=lead,
                    product=product,
                    raw=record.raw,
                    **record.fields,
                    **observation.fields(),
                )
            )
            continue
        if observation.is_older_than(row.observed_at):
            continue
        confirmed.append(row.pk)
        values = {**record.fields, "lead_id": lead.pk}
        if product is not None:
            values["product_id"] = product.pk
        if row.observed_source == Source.SNAPSHOT or not row.raw:
            values["raw"] = record.raw  # a webhook's richer raw body is kept
        diff = {k: v for k, v in values.items() if getattr(row, k) != v}
        if diff:
            for name, value in diff.items():
                setattr(row, name, value)
            fields.update(k.removesuffix("_id") if k in ("lead_id", "product_id") else k
                          for k in diff)  # fmt: skip
            changed.append(row)
    return _TransactionPlan(create, changed, sorted(fields), confirmed)
