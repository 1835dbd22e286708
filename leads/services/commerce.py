"""Transactions and subscriptions observed by a batch, written by Kartra id.

Webhooks and IPNs carry a transaction's full detail (buyer, amounts, subscription);
``get_lead`` a short form (amount, type, date). Only the keys a record carries are written,
so a snapshot never blanks what a webhook told. A snapshot's raw object replaces only a raw
object that a snapshot wrote: a webhook's richer one is kept. Transactions are never deleted
or changed by their absence (money history is append-only). Statements per batch do not
depend on its size.

Each subscription a batch touches has its facts (first sale, payments, failures,
cancellation, trial, recurring amount: ``leads.revenue.subscription_facts``) recomputed
from all its linked transactions: one read and one update for the batch.

Affiliate and JV sign-ups (``ProductSignupRecord``, a batch's ``ChangeSet.signups``) are
written here too: they are the other commerce state a webhook reports, and their products
resolve with the transactions' in one statement.
"""

from dataclasses import dataclass

from django.db import connection
from django.db.models import OuterRef, Q, Subquery

from leads.models import (
    Lead,
    PricePoint,
    Product,
    ProductSignup,
    Source,
    Subscription,
    Transaction,
)
from leads.normalize import ProductRef, TransactionRecord
from leads.revenue import FACT_FIELDS, FACT_SOURCES, subscription_facts

from .catalog import catalog_resolve_many
from .upsert import rows_insert, rows_joined, upsert_observed


@dataclass(frozen=True)
class ProductSignupRecord:
    """A lead signed up as an affiliate or JV partner (``SignupKind``) of a product."""

    kind: str
    product: ProductRef


def _raw_only_if_empty() -> str:
    """SQL for ``raw``: a snapshot's short raw object is written only where none is stored
    (a webhook's richer one stays, whichever was observed last)."""
    empty = "'{{}}'::jsonb" if connection.vendor == "postgresql" else "'{{}}'"  # str.format
    return f"CASE WHEN {{old}} IS NULL OR {{old}} = {empty} THEN {{new}} ELSE {{old}} END"


def transactions_write(changes, leads: dict[int, Lead], *, signups=()) -> dict[int, Transaction]:
    """Upsert the transactions of ``changes`` (``RecordChange`` of ``TransactionRecord``)
    with their products, price points and subscriptions; link refunds and their sales both
    ways; recompute the facts of the subscriptions they belong to; and record ``signups``
    (``RecordChange`` of ``ProductSignupRecord``). Returns the stored row of each
    transaction change's record, by ``id()`` of the record."""
    if not changes and not signups:
        return {}
    products = catalog_resolve_many(
        Product,
        [
            ((None, c.record.product.kartra_id, c.record.product.name),
             {"official_name": c.record.product.official_name})
            for c in [*changes, *signups]
            if c.record.product is not None
        ],
    )  # fmt: skip
    _signups_write(signups, leads, products)
    if not changes:
        return {}

    def product_of(record: TransactionRecord) -> Product | None:
        ref = record.product
        return products.get((None, ref.kartra_id, ref.name)) if ref is not None else None

    price_points = {
        (product.pk, c.record.fields["price_point"])
        for c in changes
        if (product := product_of(c.record)) is not None and c.record.fields.get("price_point")
    }
    rows_insert(
        PricePoint,
        [{"product_id": p, "number": n} for p, n in sorted(price_points)],
        skip_conflicts=True,
    )
    subscriptions = _subscriptions_write(changes, leads, product_of)
    groups: dict[tuple, list[dict]] = {}
    for c in changes:
        record = c.record
        row = {
            "kartra_id": record.kartra_id,
            "lead_id": leads[c.lead].pk,
            "raw": record.raw,
            **record.fields,
            **c.observation.fields(),
        }
        product = product_of(record)
        if product is not None:
            row["product_id"] = product.pk
        if record.subscription_kartra_id is not None:
            row["subscription_id"] = subscriptions[record.subscription_kartra_id]
        groups.setdefault((c.observation.source, tuple(sorted(row))), []).append(row)
    for (source, columns), rows in groups.items():
        # A webhook's raw object replaces the stored one, even when older; a snapshot's
        # only fills an empty one. Every other field: the newest observation, and an older
        # one fills what the newer did not carry (webhook and snapshot carry different
        # fields, and either may be processed first).
        raw = _raw_only_if_empty() if source == Source.SNAPSHOT else "{new}"
        upsert_observed(
            Transaction,
            rows,
            unique=("kartra_id",),
            update=[c for c in columns if c not in ("kartra_id", *_OBSERVATION)],
            expressions={"raw": raw},
            fill_when_older=True,
            older_expressions={"raw": raw},
        )
    ids = sorted({c.record.kartra_id for c in changes})
    # One statement links refunds to their sales, in both directions.
    Transaction.objects.filter(parent__isnull=True, parent_kartra_id__isnull=False).filter(
        Q(kartra_id__in=ids) | Q(parent_kartra_id__in=ids)
    ).update(
        parent=Subquery(
            Transaction.objects.filter(kartra_id=OuterRef("parent_kartra_id")).values("pk")[:1]
        )
    )
    stored = {row.kartra_id: row for row in Transaction.objects.filter(kartra_id__in=ids)}
    touched = {*subscriptions.values(), *(row.subscription_id for row in stored.values())}
    subscriptions_refresh(touched - {None})
    return {id(c.record): stored[c.record.kartra_id] for c in changes}


_OBSERVATION = ("observed_at", "observed_source", "observed_ref")


def _subscriptions_write(changes, leads, product_of) -> dict[int, int]:
    """Upsert the subscriptions the transactions name; their pks by Kartra id."""
    rows = [
        {
            "kartra_id": c.record.subscription_kartra_id,
            "lead_id": leads[c.lead].pk,
            "product_id": product.pk if (product := product_of(c.record)) else None,
            **c.observation.fields(),
        }
        for c in changes
        if c.record.subscription_kartra_id is not None
    ]
    if not rows:
        return {}
    upsert_observed(Subscription, rows, unique=("kartra_id",), update=("lead_id", "product_id"))
    return dict(
        Subscription.objects.filter(kartra_id__in={r["kartra_id"] for r in rows}).values_list(
            "kartra_id", "pk"
        )
    )


def subscriptions_refresh(pks) -> None:
    """Recompute the facts (``FACT_FIELDS``) of the subscriptions ``pks`` from all their
    linked transactions: one read, one update, for any number of them."""
    if not pks:
        return
    linked: dict[int, list[dict]] = {pk: [] for pk in pks}
    for row in Transaction.objects.filter(subscription_id__in=linked).values(*FACT_SOURCES):
        linked[row["subscription_id"]].append(row)
    quote = connection.ops.quote_name
    rows_joined(
        Subscription,
        [{"id": pk, **subscription_facts(rows)} for pk, rows in sorted(linked.items())],
        on="id",
        where="1 = 1",
        assign={
            name: f"{{v}}.{quote(Subscription._meta.get_field(name).column)}"
            for name in FACT_FIELDS
        },
    )


#: The first delivery that told a sign-up dates it, whichever is processed first.
_EARLIEST = "CASE WHEN {old} <= {new} THEN {old} ELSE {new} END"


def _signups_write(changes, leads, products) -> None:
    """Upsert the affiliate and JV sign-ups of ``changes``: one statement."""
    rows = [
        {
            "lead_id": leads[c.lead].pk,
            "product_id": products[(None, c.record.product.kartra_id, c.record.product.name)].pk,
            "kind": c.record.kind,
            "signed_up_at": c.observation.at,
            **c.observation.fields(),
        }
        for c in changes
    ]
    upsert_observed(
        ProductSignup,
        rows,
        unique=("lead_id", "product_id", "kind"),
        update=("signed_up_at",),
        expressions={"signed_up_at": _EARLIEST},
        fill_when_older=True,
        older_expressions={"signed_up_at": _EARLIEST},
    )
