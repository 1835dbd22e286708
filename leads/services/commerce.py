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

from django.db import connection, models

from leads.models import (
    Lead,
    PricePoint,
    Product,
    ProductSignup,
    Source,
    Subscription,
    Transaction,
    TransactionType,
)
from leads.normalize import ProductRef, TransactionRecord
from leads.revenue import FACT_FIELDS, FACT_SOURCES, SUBSCRIPTION_TYPES, subscription_facts

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
    _transactions_upsert(changes, leads, product_of, subscriptions)
    ids = sorted({c.record.kartra_id for c in changes})
    # Whose unlinked transactions may join a subscription: the leads of this batch's
    # transactions that name none, and of those that name one (it may be new to the mirror).
    linking = sorted(
        {
            leads[c.lead].pk
            for c in changes
            if c.record.subscription_kartra_id is not None
            or c.record.fields.get("transaction_type") in SUBSCRIPTION_TYPES
        }
    )
    relinked = _transactions_link(ids, linking)
    stored = {row.kartra_id: row for row in Transaction.objects.filter(kartra_id__in=ids)}
    touched = {
        *subscriptions.values(),
        *(row.subscription_id for row in stored.values()),
        *relinked,
    }
    subscriptions_refresh(touched - {None})
    return {id(c.record): stored[c.record.kartra_id] for c in changes}


_OBSERVATION = ("observed_at", "observed_source", "observed_ref")


def _transactions_upsert(changes, leads, product_of, subscriptions: dict[int, int]) -> None:
    """Upsert the transactions of ``changes``, one statement per source and set of columns.

    A webhook's raw object replaces the stored one, even when older; a snapshot's only
    fills an empty one. Every other field: the newest observation, and an older one fills
    what the newer did not carry (webhook and snapshot carry different fields, and either
    may be processed first)."""
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


def _transactions_link(ids: list[int], leads: list[int]) -> set[int]:
    """Link transactions to their sale and their subscription, in one statement for the
    batch; return the subscriptions (pks) of the rows it touched, for their facts.

    - A refund, partial refund or chargeback is linked to its sale (``parent_kartra_id``),
      in both directions: the batch's transactions and those whose sale is in the batch.
    - A transaction of ``SUBSCRIPTION_TYPES`` (sale, rebill, failed, cancellation) of one
      of ``leads`` that is linked to no subscription, because no observation of it named
      one (``get_lead``'s transactions carry no ``transaction_subscription_id``, 002), is
      linked to the subscription of its lead, product and price point when there is
      exactly one: a subscription of that lead and product whose stored price point, or
      one of whose linked transactions' price points, is the transaction's (non-empty);
      and when every sale of that product and price point the lead made is that
      subscription's (linked to it, or its first sale: the ``original_id`` its IPNs and
      webhooks send). A lead may subscribe to a plan twice, and the mirror learns of a
      subscription only from a webhook or IPN that names it: another sale of the plan is
      a subscription the mirror does not know, so the match is ambiguous. (A snapshot
      lists all a lead's transactions, so a payment it shows has its sale beside it.)
      Two or more such subscriptions, none, or a sale of an unknown one: it stays
      unlinked, until a batch of its lead names a subscription that makes one the only
      match. So a rebill that only a snapshot saw counts in its subscription's payments,
      and the payments a snapshot stored before an IPN or webhook made their subscription
      known join it then.

    A link is only ever added here (``COALESCE``): a stored one, named or inferred, stays.
    The transaction upsert leaves it alone too when a record names no subscription (the
    column is not written); a newer observation that names another subscription replaces
    it.
    """
    t = _Columns(Transaction)  # the updated rows: SQLite takes no alias for them
    linkable = _linkable(t)
    in_ids = ", ".join(["%s"] * len(ids))
    where = [
        f"({t.parent} IS NULL AND {t.parent_kartra_id} IS NOT NULL"
        f" AND ({t.kartra_id} IN ({in_ids}) OR {t.parent_kartra_id} IN ({in_ids})))"
    ]
    params: list = [*SUBSCRIPTION_TYPES, TransactionType.SALE, *ids, *ids]
    if leads:
        where.append(
            f"({t.subscription} IS NULL AND {t.lead} IN ({', '.join(['%s'] * len(leads))})"
            f" AND {linkable})"
        )
        params += [*leads, *SUBSCRIPTION_TYPES]
    p = _Columns(Transaction, "p")
    sql = (
        f"UPDATE {t.table} SET"
        f" {t.parent.bare} = COALESCE({t.parent},"
        f" (SELECT {p.id} FROM {p.table} AS p WHERE {p.kartra_id} = {t.parent_kartra_id})),"
        f" {t.subscription.bare} = COALESCE({t.subscription}, CASE WHEN {linkable} THEN"
        f" (SELECT s.{_Columns(Subscription, 's').id.bare} {_candidates(t)}"
        f" AND NOT {_foreign_sale(t)}) END)"
        f" WHERE {' OR '.join(where)} RETURNING {t.subscription}"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return {pk for (pk,) in cursor.fetchall() if pk is not None}


class _Column(str):
    """A quoted column qualified by its table's alias; ``bare``: without the alias (an
    UPDATE's SET target)."""

    bare: str


class _Columns:
    """The quoted columns of ``model`` as attributes (by field name), qualified by
    ``alias`` or else the table; ``table``: the quoted table name."""

    def __init__(self, model: type[models.Model], alias: str = "") -> None:
        self.table = connection.ops.quote_name(model._meta.db_table)
        self._model, self._alias = model, alias or self.table

    def __getattr__(self, name: str) -> _Column:
        bare = connection.ops.quote_name(self._model._meta.get_field(name).column)
        column = _Column(f"{self._alias}.{bare}")
        column.bare = bare
        return column


def _candidates(t: _Columns) -> str:
    """``FROM ... WHERE``: the subscriptions (alias ``s``) of transaction ``t``'s lead,
    product and price point (stored on the subscription, or on one of its transactions)."""
    s, u = _Columns(Subscription, "s"), _Columns(Transaction, "u")
    return (
        f"FROM {s.table} AS s WHERE {s.lead} = {t.lead} AND {s.product} = {t.product}"
        f" AND ({s.price_point} = {t.price_point} OR EXISTS (SELECT 1 FROM {u.table} AS u"
        f" WHERE {u.subscription} = {s.id} AND {u.price_point} = {t.price_point}))"
    )


def _foreign_sale(t: _Columns) -> str:
    """A sale (one ``%s``) of ``t``'s plan by its lead that is not subscription ``s``'s
    (linked elsewhere, or unlinked and not its first sale, which its transactions name as
    ``original_id``): the first sale of another subscription that the mirror does not
    know."""
    s = _Columns(Subscription, "s")
    x, o = _Columns(Transaction, "x"), _Columns(Transaction, "o")
    return (
        f"EXISTS (SELECT 1 FROM {x.table} AS x WHERE {x.lead} = {t.lead}"
        f" AND {x.product} = {t.product} AND {x.price_point} = {t.price_point}"
        f" AND {x.transaction_type} = %s AND ({x.subscription} <> {s.id}"
        f" OR ({x.subscription} IS NULL AND {x.kartra_id} NOT IN (SELECT {o.original_kartra_id}"
        f" FROM {o.table} AS o WHERE {o.subscription} = {s.id}"
        f" AND {o.original_kartra_id} IS NOT NULL))))"
    )


def _linkable(t: _Columns) -> str:
    """Transaction ``t`` is of ``SUBSCRIPTION_TYPES`` (one ``%s`` each), has a product and
    a price point, and exactly one subscription is its candidate."""
    types = ", ".join(["%s"] * len(SUBSCRIPTION_TYPES))
    return (
        f"{t.transaction_type} IN ({types}) AND {t.product} IS NOT NULL"
        f" AND {t.price_point} <> '' AND (SELECT COUNT(*) {_candidates(t)}) = 1"
    )


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
